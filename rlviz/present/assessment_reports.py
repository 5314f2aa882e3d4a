"""The faithfulness and sanity reports end to end: play the agent, run the assessment
(:mod:`rlviz.assess`), and write its JSON and figures."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.assess.faithfulness import (
    DEFAULT_REGION,
    OUTPUTS,
    FaithfulnessReport,
    collect_frames,
    pixel_flipping_outputs,
    replacement_kind,
)
from rlviz.assess.ranking import RankedMethod, rank_methods, ranking_dict
from rlviz.assess.sanity import (
    DEFAULT_SHIFT,
    InvarianceReport,
    SanityReport,
    cascading_randomization,
    input_invariance,
)
from rlviz.present.faithfulness_figures import (
    draw_flipping_curves,
    draw_sanity,
    save_png,
)
from rlviz.present.ranking_figure import draw_ranking
from rlviz.util.safe_io import write_text_atomic

PAINTED = "regions painted with the empty playfield"  # how the ranking names the background removal

def faithfulness_report(
    agent: Agent,
    *,
    frames: int = 20,
    seed: int = 0,
    methods: Iterable[str] | None = None,
    outputs: Sequence[str] = OUTPUTS,
    region: int = DEFAULT_REGION,
    regions_per_step: int = 1,
    spacing: int = 8,
    obs: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    replacement: str = "blur",
) -> dict[str, FaithfulnessReport]:
    """Play the agent, pixel-flip ``frames`` of its observations and report every output.

    With ``out_dir``, writes ``faithfulness.json`` (everything in :meth:`FaithfulnessReport.to_dict`,
    per output) and ``faithfulness.png`` (deletion and insertion curves, one row per output).
    ``obs`` skips playing and uses the given observations. ``replacement``: what a deleted
    region becomes, "blur" or "background" (the agent's empty playfield).
    """
    if obs is None:
        obs = collect_frames(agent, frames=frames, seed=seed, spacing=spacing)
    reports = pixel_flipping_outputs(
        agent, obs, methods=methods, outputs=outputs, region=region, regions_per_step=regions_per_step, seed=seed,
        replacement=replacement,
    )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = {
            "agent": agent.name,
            "game": agent.env_spec.game,
            "seed": seed,
            "spacing": spacing,
            "outputs": {o: r.to_dict() for o, r in reports.items()},
        }
        write_text_atomic(out / "faithfulness.json", json.dumps(payload, indent=1))
        save_png(out / "faithfulness.png", draw_flipping_curves(reports, title=f"{agent.name}: pixel flipping"))
    return reports


def sanity_report(
    agent: Agent,
    *,
    frames: int = 4,
    seed: int = 0,
    methods: Iterable[str] | None = None,
    target: str = "action",
    shift: float = DEFAULT_SHIFT,
    spacing: int = 8,
    obs: np.ndarray | None = None,
    out_dir: str | Path | None = None,
) -> tuple[SanityReport, InvarianceReport]:
    """Play the agent, then run cascading randomisation and the input-invariance test.

    With ``out_dir``, writes ``sanity.json`` and ``sanity.png`` (rho per step and the first
    frame's maps as the layers turn random, plus the invariance table).
    """
    if obs is None:
        obs = collect_frames(agent, frames=frames, seed=seed, spacing=spacing)
    cascade = cascading_randomization(agent, obs, methods=methods, target=target, seed=seed)
    invariance = input_invariance(agent, obs, methods=methods, shift=shift, target=target, seed=seed)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"agent": agent.name, "game": agent.env_spec.game, "seed": seed,
                   "cascading_randomization": cascade.to_dict(), "input_invariance": invariance.to_dict()}
        write_text_atomic(out / "sanity.json", json.dumps(payload, indent=1))
        save_png(out / "sanity.png", draw_sanity(cascade, invariance, title=f"{agent.name}: sanity checks"))
    return cascade, invariance


def ranking_report(
    agent: Agent,
    report: FaithfulnessReport,
    cascade: SanityReport | None = None,
    invariance: InvarianceReport | None = None,
    *,
    out_dir: str | Path | None = None,
) -> list[RankedMethod]:
    """Rank the methods of ``report`` (rlviz.assess.ranking) with the sanity flags, if given.

    With ``out_dir``, writes ``ranking.json`` and ``ranking.png``.
    """
    rows = rank_methods(report, cascade, invariance)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"agent": agent.name, "game": agent.env_spec.game, "output": report.output,
                   "frames": report.n_frames, "replacement": report.replacement, "sanity_checked": cascade is not None,
                   "ranking": ranking_dict(rows)}
        write_text_atomic(out / "ranking.json", json.dumps(payload, indent=1))
        removal = "" if replacement_kind(report.replacement) == "blur" else f"; {PAINTED}"
        note = (f"{report.n_frames} frames, explained output: {report.output}{removal}"
                "; whiskers: 95% CI over frames; frames/s measured on this machine")
        save_png(out / "ranking.png", draw_ranking(rows, title=f"{agent.name}: which explanation method to trust", note=note))
    return rows
