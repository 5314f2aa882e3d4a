"""Which method to trust for this agent: the methods ranked by faithfulness, with their flags.

A method's score is the mean of its deletion and insertion AOPC (DESIGN.md §7; higher = the
regions it ranks first really drive the output), on the same frames, regions and output for
every method. Beside it: the paired gain over the random order (95% interval), the cost in
frames per second, and two flags from rlviz.assess.sanity:

* fails the randomisation check: its maps keep |Spearman rho| > 0.5 with the trained
  network's after every layer was re-initialised (it explains the image, not the model);
* not input-invariant: its maps change when the input is shifted and the first layer's bias
  compensates, although the function is the same.

A flag does not reorder the table (a flagged method can still order regions well on this
agent); it says what else to keep in mind. "random" stays in the table as the bar to clear.

Example:
    >>> rows = rank_methods(reports["logit"], cascade, invariance)
    >>> print(ranking_table(rows))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rlviz.assess.faithfulness import FaithfulnessReport, mean_ci


@dataclass
class RankedMethod:
    """One row of the ranking."""

    method: str
    score: float  # (deletion AOPC + insertion AOPC) / 2
    deletion: float
    deletion_ci: float
    insertion: float
    insertion_ci: float
    gain: float  # score minus random's, paired per frame (nan without "random")
    gain_ci: float
    frames_per_second: float | None
    sanity_rho: float | None  # mean Spearman rho with every layer random (None: not checked)
    fails_sanity: bool | None
    invariant: bool | None

    @property
    def flags(self) -> list[str]:
        out = []
        if self.fails_sanity:
            out.append("fails randomisation")
        if self.invariant is False:
            out.append("not input-invariant")
        return out


def rank_methods(report: FaithfulnessReport, cascade: Any = None, invariance: Any = None) -> list[RankedMethod]:
    """The report's methods, best first by (deletion + insertion AOPC) / 2, with the sanity flags
    of ``cascade`` (SanityReport) and ``invariance`` (InvarianceReport) where they were run."""
    dele, ins = report.aopc_per_frame("deletion"), report.aopc_per_frame("insertion")
    final = cascade.final_rho() if cascade is not None else {}
    flagged = set(cascade.flagged()) if cascade is not None else set()
    invariant = invariance.invariant() if invariance is not None else {}
    rows = []
    for m in report.methods:
        both = (dele[m] + ins[m]) / 2
        if "random" in dele and m != "random":
            gain, gain_ci = mean_ci(both - (dele["random"] + ins["random"]) / 2)
        else:
            gain, gain_ci = np.nan, np.nan
        rows.append(RankedMethod(
            method=m, score=float(both.mean()),
            deletion=float(dele[m].mean()), deletion_ci=float(mean_ci(dele[m])[1]),
            insertion=float(ins[m].mean()), insertion_ci=float(mean_ci(ins[m])[1]),
            gain=float(gain), gain_ci=float(gain_ci),
            frames_per_second=report.frames_per_second.get(m),
            sanity_rho=final.get(m), fails_sanity=(m in flagged) if m in final else None,
            invariant=invariant.get(m),
        ))
    return sorted(rows, key=lambda r: -r.score)


def _yes_no(value: bool | None, bad: str) -> str:
    if value is None:
        return "—"
    return bad if value else "ok"


def ranking_table(rows: list[RankedMethod]) -> str:
    """A Markdown table of the ranking (rank, method, AOPCs, gain over random, cost, flags)."""
    lines = [
        ("| rank | method | (del + ins) / 2 | deletion AOPC | insertion AOPC | gain over random (paired) | frames/s "
        "| randomisation (rho) | input invariance |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, r in enumerate(rows, 1):
        gain = f"{r.gain:+.3g} ± {r.gain_ci:.2g}" if np.isfinite(r.gain) else "—"
        fps = f"{r.frames_per_second:.3g}" if r.frames_per_second else "—"
        rho = "—" if r.sanity_rho is None else f"{_yes_no(r.fails_sanity, 'FAILS')} ({r.sanity_rho:+.2f})"
        inv = "—" if r.invariant is None else ("ok" if r.invariant else "NO")
        if r.method == "random":  # ignores the model by construction: the randomisation flag's positive control
            rho, inv = f"baseline ({r.sanity_rho:+.2f})" if r.sanity_rho is not None else "baseline", "—"
        lines.append(f"| {k} | {r.method} | {r.score:.3g} | {r.deletion:.3g} ± {r.deletion_ci:.2g} | "
                     f"{r.insertion:.3g} ± {r.insertion_ci:.2g} | {gain} | {fps} | {rho} | {inv} |")
    return "\n".join(lines)


def ranking_dict(rows: list[RankedMethod]) -> list[dict[str, Any]]:
    """The ranking as JSON-ready rows (NaN as None)."""
    out = []
    for r in rows:
        d = asdict(r)
        out.append({k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()} | {"flags": r.flags})
    return out
