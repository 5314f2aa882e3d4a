"""The "which method to trust" figure: methods ranked by faithfulness, with cost and flags.

One row per method, best first: its deletion and insertion AOPC as two bars with 95%
whiskers, the random order's level as a dashed line, then frames per second and the sanity
flags in red. Numbers come from rlviz.assess.ranking; this module only draws (RGB uint8).

Example:
    >>> save_png("out/ranking.png", draw_ranking(rows, title="pong: which method to trust"))
"""

from __future__ import annotations

import cv2
import numpy as np

from rlviz.assess.ranking import RankedMethod
from rlviz.present.faithfulness_figures import (
    FAINT,
    GRID,
    INK,
    PAPER,
    _nice_ticks,
    _text,
    _tick_label,
)
from rlviz.util.errors import RlvizError

DELETION_RGB = (0, 114, 178)
INSERTION_RGB = (230, 159, 0)
RANDOM_RGB = (120, 120, 120)
FLAG_RGB = (200, 0, 0)


def draw_ranking(rows: list[RankedMethod], *, title: str = "Which method to trust", note: str = "") -> np.ndarray:
    """The ranking as an image: bars of deletion/insertion AOPC, frames/s, flags."""
    if not rows:
        raise RlvizError("no methods to rank")
    row_h, head, foot = 30, 78, 56
    name_w, plot_w, cost_w, flag_w = 250, 440, 90, 300
    width = name_w + plot_w + cost_w + flag_w + 20
    img = np.full((head + row_h * len(rows) + foot, width, 3), PAPER, np.uint8)
    _text(img, title, (12, 26), 0.62, INK, 2)
    _text(img, "ranked by (deletion AOPC + insertion AOPC) / 2; higher = the regions a method ranks first really drive the output",
          (12, 46), 0.38, FAINT)
    values = [v + s * (ci if np.isfinite(ci) else 0.0)  # one frame: no interval, the means alone
              for r in rows for v, ci in ((r.deletion, r.deletion_ci), (r.insertion, r.insertion_ci)) for s in (-1, 1)]
    values = [v for v in values if np.isfinite(v)] or [0.0, 1.0]
    lo, hi = min(0.0, min(values)), max(values) if max(values) > 0 else 1.0
    x0, x1 = name_w, name_w + plot_w - 10
    top, bottom = head, head + row_h * len(rows)

    def px(v: float) -> int:
        return round(x0 + (v - lo) / ((hi - lo) or 1.0) * (x1 - x0))

    ticks = _nice_ticks(lo, hi, 5)
    for t in ticks:
        if lo <= t <= hi:
            cv2.line(img, (px(t), top - 4), (px(t), bottom), GRID, 1)
            _text(img, _tick_label(t, ticks), (px(t), bottom + 14), 0.34, FAINT, align="center")
    _text(img, "AOPC", ((x0 + x1) / 2, bottom + 30), 0.38, INK, align="center")
    lx = x1 - 200  # legend at the right end of the plot, clear of the random line's label on the left
    cv2.line(img, (lx, 62), (lx + 16, 62), DELETION_RGB, 5)
    _text(img, "deletion", (lx + 22, 66), 0.38, INK)
    cv2.line(img, (lx + 96, 62), (lx + 112, 62), INSERTION_RGB, 5)
    _text(img, "insertion", (lx + 118, 66), 0.38, INK)
    _text(img, "frames/s", (name_w + plot_w + cost_w - 10, 66), 0.38, FAINT, align="right")
    _text(img, "sanity flags", (name_w + plot_w + cost_w + 6, 66), 0.38, FAINT)
    random_row = next((r for r in rows if r.method == "random"), None)
    for k, r in enumerate(rows):
        y = top + k * row_h
        if k % 2:
            img[y : y + row_h, 6 : width - 6] = (248, 248, 248)
        colour = RANDOM_RGB if r.method == "random" else INK
        _text(img, f"{k + 1}. {r.method[:30]}", (12, y + 19), 0.42, colour)
        for j, (v, ci, rgb) in enumerate(((r.deletion, r.deletion_ci, DELETION_RGB), (r.insertion, r.insertion_ci, INSERTION_RGB))):
            yy = y + 9 + j * 10
            cv2.rectangle(img, (px(0.0), yy - 3), (px(v), yy + 3), rgb if r.method != "random" else RANDOM_RGB, -1)
            if np.isfinite(ci):
                cv2.line(img, (px(v - ci), yy), (px(v + ci), yy), INK, 1)
        fps = f"{r.frames_per_second:.3g}" if r.frames_per_second else "-"
        _text(img, fps, (name_w + plot_w + cost_w - 10, y + 19), 0.4, INK, align="right")
        flags = r.flags
        if r.fails_sanity is None and r.invariant is None:
            text, rgb = "not checked (--sanity)", FAINT
        elif flags:
            text, rgb = ", ".join(flags), FLAG_RGB
        else:
            text, rgb = "passes both", (0, 130, 60)
        if r.method == "random":
            text, rgb = "the baseline", FAINT
        _text(img, text, (name_w + plot_w + cost_w + 6, y + 19), 0.4, rgb)
    if random_row is not None:
        xr = px(random_row.score)
        for yy in range(top, bottom, 8):
            cv2.line(img, (xr, yy), (xr, min(yy + 4, bottom)), RANDOM_RGB, 1)
        _text(img, "random order", (xr + 3, top - 4), 0.34, RANDOM_RGB)
    cv2.line(img, (px(0.0), top), (px(0.0), bottom), FAINT, 1)
    if note:
        _text(img, note, (12, img.shape[0] - 8), 0.36, FAINT)
    return img
