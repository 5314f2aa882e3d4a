"""The attribution graph of one action as a slide (RGB uint8), readable without knowing CNNs.

Columns from left to right: the network's first, middle and last conv layer, the groups of fc1
units (when the network has them), then the move. Each conv box is one channel (a "detector"),
shown by the two game frames that excited it most, with a yellow square around the part of the
screen it saw and a red ring where, on this move's frames, the pixels behind its strongest response lie on
average; a line joins two detectors when the left one is often among the strongest inputs of
the right one, and thicker lines mean more often. Lines into an fc1 group are as thick as the
channel's push towards the move through that group; lines into the move as thick as the push.

These functions only draw; the numbers come from ``rlviz.assess.summary``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rlviz.present.text import TextLayer, text_size

PAPER = (248, 248, 246)
INK = (30, 30, 30)
MUTED = (105, 105, 105)
EDGE = (0, 114, 178)  # Okabe-Ito blue
ACTION = (0, 158, 115)  # Okabe-Ito bluish green
BOX = (240, 228, 66)  # Okabe-Ito yellow
PLACE = (213, 94, 0)  # Okabe-Ito vermillion

LAYER_TITLES = {0: "first layer: simple patterns", 1: "middle layer", 2: "last layer: what the move reads"}
LAYER_TITLES_FC1 = {0: "first layer: simple patterns", 1: "middle layer", 2: "last conv layer",
                    3: "fc1: units grouped by move"}


@dataclass
class VertexView:
    """One detector as the figure shows it."""

    layer_index: int
    label: str  # e.g. "conv3 #11"
    caption: str  # e.g. "usually peaks at the top right"
    frames: list[np.ndarray]  # uint8 (84, 84) game frames where it fired most
    boxes: list[tuple[int, int, int, int]]  # (x0, y0, x1, y1) in frame pixels, one per frame
    steps: list[str]  # "game 1, step 210" per frame
    place: tuple[float, float] | None = None  # (y, x) frame pixels: where its relevance lies on this move's frames
    notes: list[str] | None = None  # lines drawn where a second frame would go (fc1 groups)


REGIONS = ["top left", "top centre", "top right", "middle left", "centre", "middle right",
           "bottom left", "bottom centre", "bottom right"]


def peak_words(peaks: list[float], majority: float = 0.5) -> str:
    """Where a channel fires hardest, in words, from its share of peaks per screen third (3 x 3,
    row-major): one third if it holds ``majority``; a row ("along the top") or a column ("down
    the right side") if it holds 0.7; the two leading thirds if they hold ``majority``."""
    order = sorted(range(9), key=lambda k: (-peaks[k], k))
    if peaks[order[0]] >= majority:
        return f"usually peaks at the {REGIONS[order[0]]}"
    rows = [sum(peaks[3 * r:3 * r + 3]) for r in range(3)]
    cols = [sum(peaks[c::3]) for c in range(3)]
    if max(rows) >= 0.7:
        return f"usually peaks along the {('top', 'middle', 'bottom')[rows.index(max(rows))]}"
    if max(cols) >= 0.7:
        return f"usually peaks down the {('left side', 'centre', 'right side')[cols.index(max(cols))]}"
    if peaks[order[0]] + peaks[order[1]] >= majority:
        return f"usually peaks at the {REGIONS[order[0]]} or {REGIONS[order[1]]}"
    return "peaks all over the screen"


def _fit(text: str, size: int, width: int) -> int:
    """The largest font size up to ``size`` (at least 9) at which ``text`` fits in ``width`` px."""
    while size > 9 and text_size(text, size)[0] > width:
        size -= 1
    return size


def _frame_tile(frame: np.ndarray, box: tuple[int, int, int, int] | None, side: int,
                place: tuple[float, float] | None = None) -> np.ndarray:
    rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    tile = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_NEAREST)
    s = side / frame.shape[0]
    if box is not None:
        x0, y0, x1, y1 = (round(v * s) for v in box)
        cv2.rectangle(tile, (x0, y0), (min(side - 1, x1 - 1), min(side - 1, y1 - 1)), BOX, 2)
    if place is not None and all(np.isfinite(place)):
        centre = (round((place[1] + 0.5) * s - 0.5), round((place[0] + 0.5) * s - 0.5))
        cv2.circle(tile, centre, 6, PLACE, 2, cv2.LINE_AA)
        cv2.circle(tile, centre, 1, PLACE, -1)
    return tile


def draw_attribution_graph(
    action_name: str,
    agent_name: str,
    columns: list[list[VertexView]],
    edges: list[tuple[tuple[int, int], tuple[int, int] | None, float]],
    *,
    subtitle: str,
    size: tuple[int, int] = (1280, 720),
) -> np.ndarray:
    """The graph of one move. ``columns[l]`` lists layer l's vertices top to bottom; an edge is
    ((layer, row), (layer + 1, row) or None for the move, weight in [0, 1] relative to the
    strongest of its kind)."""
    width, height = size
    img = np.full((height, width, 3), PAPER, np.uint8)
    text = TextLayer()
    text.add((30, 22), f"To choose {action_name}, {agent_name} relies on these detectors", 30, INK)
    text.add((30, 62), subtitle, 17, MUTED)
    n_cols = len(columns) + 1
    top, bottom = 120, height - 76
    tile = 96 if n_cols <= 4 else 86
    card_w, card_h = 2 * tile + 24, tile + 82
    gap = (width - 60 - n_cols * card_w) / max(n_cols - 1, 1)
    col_x = [int(30 + k * (card_w + gap)) for k in range(n_cols)]

    def card_pos(col: int, row: int, rows: int) -> tuple[int, int]:
        span = (bottom - top) / max(rows, 1)
        return col_x[col], int(top + row * span + (span - card_h) / 2)

    action_y = (top + bottom) // 2
    # edges first, under the cards
    for (src_col, src_row), dst, weight in edges:
        sx, sy = card_pos(src_col, src_row, len(columns[src_col]))
        start = (sx + card_w, sy + card_h // 2)
        if dst is None:
            end, colour = (col_x[-1], action_y), ACTION
        else:
            dx, dy = card_pos(dst[0], dst[1], len(columns[dst[0]]))
            end, colour = (dx, dy + card_h // 2), EDGE
        cv2.line(img, start, end, colour, max(1, round(1 + (9 if dst is None else 6) * weight)), cv2.LINE_AA)
    for c, column in enumerate(columns):
        titles = LAYER_TITLES if len(columns) == 3 else LAYER_TITLES_FC1 if len(columns) == 4 else {}
        text.add((col_x[c] + card_w // 2, top - 26), titles.get(c, f"layer {c + 1}"), 16, MUTED, anchor="ma")
        for r, v in enumerate(column):
            x, y = card_pos(c, r, len(column))
            cv2.rectangle(img, (x, y), (x + card_w, y + card_h), (255, 255, 255), -1)
            cv2.rectangle(img, (x, y), (x + card_w, y + card_h), (200, 200, 200), 1)
            text.add((x + 8, y + 5), v.label, 15, INK)
            text.add((x + 8, y + 23), v.caption, _fit(v.caption, 13, card_w - 14), MUTED)
            for k, (frame, box) in enumerate(zip(v.frames[:2], v.boxes[:2])):
                tx, ty = x + 8 + k * (tile + 8), y + 42
                img[ty:ty + tile, tx:tx + tile] = _frame_tile(frame, box, tile, v.place)
                text.add((tx, ty + tile + 4), v.steps[k], _fit(v.steps[k], 12, tile + 6), MUTED)
            for k, line in enumerate(v.notes or []):
                tx = x + 8 + min(len(v.frames), 1) * (tile + 8)
                text.add((tx, y + 44 + 18 * k), line, _fit(line, 13, x + card_w - tx - 4), INK)
    ax = col_x[-1]
    cv2.rectangle(img, (ax, action_y - 40), (ax + card_w, action_y + 40), ACTION, -1)
    text.add((ax + card_w // 2, action_y - 14), action_name, 26, (255, 255, 255), anchor="ma")
    text.add((ax + card_w // 2, top - 26), "the move", 16, MUTED, anchor="ma")
    fc1 = len(columns) == 4
    footer = [
        ("Each box: one detector and the two game frames that excited it most (yellow: the part of the screen it saw; "
        "red ring: the mean place, over this move's frames, of the pixels behind its peak, by LRP-z+)."),
        "Blue lines: the left detector is among the strongest inputs of the right one (thicker: it feeds it more)"
        + ("; into fc1: how hard it pushes the move through that group." if fc1 else "."),
        "Green lines: how hard " + ("a group of fc1 units" if fc1 else "a detector")
        + " pushes towards the move (gradient x activation of the move's logit, above the moves' mean).",
    ]
    for k, line in enumerate(footer):
        text.add((30, height - 64 + 20 * k), line, _fit(line, 15, width - 60), INK)
    return text.draw(img)
