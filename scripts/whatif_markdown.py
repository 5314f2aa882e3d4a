"""Print the docs/whatif.md table from the JSON files scripts/whatif_table.sh wrote (docs/whatif/*.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ORDER = {"pong": 0, "breakout": 1, "spaceinvaders": 2, "pong-overfit": 3, "pong-control": 4}


def even_share(d: dict) -> float | None:
    """The edited place's share of the frame (stored by newer runs; recomputed for older JSON)."""
    if d.get("focus_area") is not None:
        return d["focus_area"]
    from rlviz.play.edits import Edit
    from rlviz.play.game_edits import EDITS
    from rlviz.play.view_edits import parse_view_edit

    if d["kind"] == "game":
        mask = Edit(d["edit"], "game", game=EDITS[d["game"]][d["edit"]]).focus_mask()
    elif d["edit"].startswith("blank:"):
        mask = Edit(d["edit"], "view", blank=parse_view_edit(d["edit"])).focus_mask()
    else:
        mask = Edit(d["edit"], "view", hint=d["edit"]).focus_mask()
    return None if mask is None else float(mask.mean())


def row(d: dict) -> str:
    s = d["stats"]
    ci = f"{s['ci_low']:+.1f} to {s['ci_high']:+.1f}" if s["n"] > 1 else "-"
    moves = f"{d['moves_changed']:.0%}" if d["moves_changed"] is not None else "-"
    part = "-" if d["kind"] == "view" else f"{d['first_screen_difference']} / {d['first_move_difference']}"
    sal = (f"{d['saliency_original']:.0%} → {d['saliency_edited']:.0%}" if d["saliency_original"] is not None else "-")
    if d["saliency_original"] is not None and (even := even_share(d)) is not None:
        sal += f" (even: {even:.0%})"
    lengths = f"{round(sum(d['original_lengths']) / len(d['original_lengths']))} / {round(sum(d['edited_lengths']) / len(d['edited_lengths']))}"
    return (f"| {d['agent']} | `{d['edit']}` | {s['original_mean']:+.1f} ± {s['original_std']:.1f} | "
            f"{s['edited_mean']:+.1f} ± {s['edited_std']:.1f} | {s['diff_mean']:+.1f} ({ci}) | {lengths} | {moves} | {part} | {sal} |")


def main(folder: str = "docs/whatif") -> None:
    files = sorted(Path(folder).glob("*.json"))
    data = [json.loads(f.read_text()) for f in files]
    data.sort(key=lambda d: ORDER.get(d["agent"], 9))
    print("| agent | edit | score unedited | score edited | paired difference (95% CI) | mean steps unedited / edited "
          "| moves changed on the same view | games part at step / first other move | saliency on the edited place |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in data:
        print(row(d))


if __name__ == "__main__":
    main(*sys.argv[1:])
