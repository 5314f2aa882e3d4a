"""Figures for neuron interactions, drawn with OpenCV and numpy only; RGB uint8 in and out.

* ``draw_interaction_matrix``: a group x group heat map (49 x 49 screen cells or 64 x 64
  channels) with axis hints in plain words and a colour bar.
* ``draw_interaction_pairs``: the strongest pairs on a game frame, each pair two filled
  patches (the centres of the two screen regions) linked by a line whose width and
  brightness show its strength, with a numbered legend.

These functions only draw: the interactions come from ``rlviz.explain.interactions_cnn``.

Example:
    >>> pairs = frame_interactions(agent, obs, top_k=3)[0]
    >>> overlay = draw_interaction_pairs(rgb, pairs, scale=1, legend=False)   # for a video
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from rlviz.util.errors import RlvizError

FONT = cv2.FONT_HERSHEY_SIMPLEX
INK = (30, 30, 30)
PAPER = (250, 250, 250)
# distinct colours for pairs #1..#8 (RGB), bright enough on dark game backgrounds
PALETTE = [(255, 80, 80), (80, 200, 255), (255, 210, 40), (120, 255, 120), (255, 120, 255),
           (255, 160, 60), (160, 160, 255), (200, 255, 220)]


def _text(img: np.ndarray, text: str, org: tuple[int, int], size: float = 0.45,
          color: tuple[int, int, int] = INK, thickness: int = 1) -> None:
    cv2.putText(img, text, (int(org[0]), int(org[1])), FONT, size, color, thickness, cv2.LINE_AA)


def _text_width(text: str, size: float = 0.45, thickness: int = 1) -> int:
    return cv2.getTextSize(text, FONT, size, thickness)[0][0]


def _colormap(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB uint8 through OpenCV's inferno map (dark = weak, yellow = strong)."""
    gray = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(gray.reshape(-1, 1), cv2.COLORMAP_INFERNO).reshape(*gray.shape, 3)
    return bgr[..., ::-1].copy()


def blank_frame(shape: tuple[int, int] = (210, 160)) -> np.ndarray:
    """A neutral dark frame for pair figures when no game frame is given."""
    img = np.full((*shape, 3), 40, np.uint8)
    _text(img, "no game frame", (6, 16), 0.35, (150, 150, 150))
    return img


def draw_interaction_matrix(
    matrix: np.ndarray,
    *,
    title: str = "Which regions work together",
    grid: tuple[int, int] | None = (7, 7),
    cell_px: int | None = None,
) -> np.ndarray:
    """A heat map of a symmetric (G, G) strength matrix, RGB uint8.

    ``grid=(rows, cols)`` says the groups are screen cells in row-major order (index =
    row*cols + col): the axes are then marked by screen row, top to bottom. ``grid=None``
    marks plain indices (channels). The diagonal (a group with itself) is shown grey.
    """
    m = np.asarray(matrix, np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise RlvizError(f"the interaction matrix must be square, got shape {m.shape}")
    g = m.shape[0]
    px = cell_px or max(4, 490 // g)
    side = g * px
    left, top, right, bottom = 92, 64, 120, 62
    img = np.full((top + side + bottom, left + side + right, 3), PAPER, np.uint8)

    # colours span the weakest to the strongest pair: weight-only strengths of a dense policy
    # differ by a few per cent, and a scale from 0 would paint them all one colour
    off = m[~np.eye(g, dtype=bool)]
    vmin, vmax = (float(off.min()), float(off.max())) if off.size else (0.0, 1.0)
    span = vmax - vmin if vmax > vmin else 1.0
    heat = _colormap((m - vmin) / span)
    heat[np.eye(g, dtype=bool)] = (160, 160, 160)
    img[top:top + side, left:left + side] = cv2.resize(heat, (side, side), interpolation=cv2.INTER_NEAREST)

    _text(img, title, (10, 22), 0.6, INK, 2)
    what = "regions" if grid is not None else "detectors"
    _text(img, f"brighter square = the agent combines those two {what} more strongly", (10, 44), 0.42)

    if grid is not None:
        rows, cols = grid
        for r in range(rows + 1):  # thin lines between screen rows
            pos = r * cols * px
            cv2.line(img, (left + pos, top), (left + pos, top + side - 1), (255, 255, 255), 1)
            cv2.line(img, (left, top + pos), (left + side - 1, top + pos), (255, 255, 255), 1)
        for r in range(rows):
            mid = int((r + 0.5) * cols * px)
            _text(img, f"row {r}", (left - 46, top + mid + 4), 0.38)
            _text(img, f"{r}", (left + mid - 4, top + side + 14), 0.38)
        _text(img, "top", (left - 86, top + 10), 0.38)
        _text(img, "bottom", (left - 86, top + side - 2), 0.38)
        _text(img, f"screen row of each cell (within a row: {cols} cells left to right)",
              (left, top + side + 34), 0.4)
        _text(img, "row 0 = top of the screen", (left, top + side + 52), 0.4)
    else:
        step = max(1, g // 8)
        for k in range(0, g, step):
            _text(img, str(k), (left - 30, top + k * px + px), 0.35)
            _text(img, str(k), (left + k * px, top + side + 14), 0.35)
        _text(img, "channel index (one learned detector each)", (left, top + side + 40), 0.4)

    # colour bar: strongest pair at the top, weakest at the bottom
    bx, bw = left + side + 22, 18
    bar = _colormap(np.linspace(1.0, 0.0, side)[:, None].repeat(bw, 1))
    img[top:top + side, bx:bx + bw] = bar
    cv2.rectangle(img, (bx, top), (bx + bw - 1, top + side - 1), INK, 1)
    _text(img, "strongest", (bx + bw + 4, top + 10), 0.38)
    _text(img, f"{vmax:.3g}", (bx + bw + 4, top + 26), 0.35)
    _text(img, "weakest", (bx + bw + 4, top + side - 14), 0.38)
    _text(img, f"{vmin:.3g}", (bx + bw + 4, top + side), 0.35)
    return img


def _patch_centre(box: Sequence[float], scale: float) -> tuple[int, int]:
    x0, y0, x1, y1 = box
    return int(round((x0 + x1) / 2.0 * scale)), int(round((y0 + y1) / 2.0 * scale))


def line_width(rel: float, scale: int) -> int:
    """The link's width in px for a pair at ``rel`` (0 = weakest shown, 1 = strongest): 1 to
    8 px at scale 2, so strength reads from thickness even after the panel is shrunk."""
    return max(1, int(round((1 + 7 * float(np.clip(rel, 0.0, 1.0))) * scale / 2)))


def badge_positions(centres: Sequence[Sequence[tuple[int, int]]], radius: int) -> list[tuple[int, int]]:
    """Where each pair's numbered badge goes: on its link, at the middle when free, else slid
    along the link (then beside it) until it is at least 2 * radius + 2 px from every badge
    placed before it (pairs in order: the strongest gets the middle of its link)."""
    placed: list[tuple[int, int]] = []
    gap = 2 * radius + 2
    for points in centres:
        a = np.asarray(points[0], np.float64)
        b = np.asarray(points[-1], np.float64)
        along = b - a
        normal = np.array([-along[1], along[0]]) / (np.hypot(*along) or 1.0)
        candidates = [a + t * along for t in (0.5, 0.35, 0.65, 0.2, 0.8)]
        candidates += [a + 0.5 * along + s * gap * normal for s in (1, -1, 2, -2, 3, -3)]
        if not along.any():  # both patches in one place: go round it
            candidates += [a + gap * np.array([np.cos(t), np.sin(t)]) for t in np.linspace(0, 2 * np.pi, 8, endpoint=False)]
        spot = next((c for c in candidates if all(np.hypot(*(c - p)) >= gap for p in placed)), candidates[0])
        placed.append((int(round(spot[0])), int(round(spot[1]))))
    return placed


def draw_interaction_pairs(
    rgb_frame: np.ndarray,
    interactions: Sequence[Any],
    *,
    scale: int = 3,
    title: str | None = None,
    legend: bool = True,
    max_strength: float | None = None,
    typical_strength: float | None = None,
    show_fields: bool = False,
    palette: Sequence[tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """The given interactions on a frame as linked boxes, strongest drawn last (on top).

    ``interactions``: items with ``strength``, ``labels`` and ``rgb_patches`` (and
    ``rgb_boxes`` for ``show_fields``), e.g. from ``policy_interactions``/``frame_interactions``
    for cells, in the frame's pixel coordinates. Line width and brightness are proportional
    to strength / ``max_strength`` (default: the strongest given; pass a fixed value to keep a
    video's scale steady). With ``typical_strength`` (e.g. the median pair) they show how far
    a pair stands above typical instead, (s - typical) / (max - typical), and the legend says
    "N x typical" - on dense policies pair strengths differ by a few per cent, and this is
    where the differences show. ``show_fields`` also outlines each cell's full receptive field.
    The frame is enlarged ``scale`` times (nearest) so the labels stay legible. ``palette``:
    the pairs' colours in turn (default :data:`PALETTE`; the video passes one colour that no
    other panel uses).
    """
    palette = list(palette) if palette else PALETTE
    frame = np.asarray(rgb_frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise RlvizError(f"rgb_frame must be (H, W, 3), got shape {frame.shape}")
    items = list(interactions)
    if any(not getattr(it, "rgb_patches", ()) for it in items):
        raise RlvizError("only screen-cell interactions can be drawn on a frame; use group='cell'")
    h, w = frame.shape[:2]
    canvas = cv2.resize(frame.astype(np.uint8), (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    top = max((it.strength for it in items), default=0.0)
    ref = max_strength if max_strength and max_strength > 0 else (top if top > 0 else 1.0)
    if typical_strength is not None and ref > typical_strength:
        rel = [float(np.clip((it.strength - typical_strength) / (ref - typical_strength), 0.0, 1.0))
               for it in items]
    else:
        rel = [float(np.clip(it.strength / ref, 0.0, 1.0)) for it in items]

    badges = badge_positions([[_patch_centre(b, scale) for b in it.rgb_patches] for it in items], 5 + 2 * scale)
    fill = canvas.copy()
    for k in reversed(range(len(items))):  # weakest first, strongest on top
        colour = np.array(palette[k % len(palette)], np.float64)
        shade = tuple(int(v) for v in colour * (0.35 + 0.65 * rel[k]))
        for box in items[k].rgb_patches:
            x0, y0, x1, y1 = (int(v * scale) for v in box)
            cv2.rectangle(fill, (x0, y0), (x1 - 1, y1 - 1), shade, -1)
    canvas = cv2.addWeighted(fill, 0.35, canvas, 0.65, 0.0)
    for k in reversed(range(len(items))):
        it = items[k]
        colour = np.array(palette[k % len(palette)], np.float64)
        shade = tuple(int(v) for v in colour * (0.35 + 0.65 * rel[k]))
        width = line_width(rel[k], scale)
        if show_fields:
            for box in it.rgb_boxes:
                x0, y0, x1, y1 = (int(v * scale) for v in box)
                cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), shade, 1)
        for box in it.rgb_patches:
            x0, y0, x1, y1 = (int(v * scale) for v in box)
            cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), shade, max(1, scale // 2 + 1))
        centres = [_patch_centre(b, scale) for b in it.rgb_patches]
        for a, b in zip(centres, centres[1:]):
            cv2.line(canvas, a, b, (0, 0, 0), width + 2, cv2.LINE_AA)  # dark edge: visible anywhere
            cv2.line(canvas, a, b, shade, width, cv2.LINE_AA)
    for k in reversed(range(len(items))):  # badges after every link: no link hides a badge
        shade = tuple(int(v) for v in np.array(palette[k % len(palette)], np.float64) * (0.35 + 0.65 * rel[k]))
        radius = 5 + 2 * scale
        mx, my = badges[k]
        cv2.circle(canvas, (mx, my), radius, shade, -1, cv2.LINE_AA)
        cv2.circle(canvas, (mx, my), radius, (0, 0, 0), 1, cv2.LINE_AA)
        label = str(k + 1)
        size = 0.3 + 0.1 * scale
        _text(canvas, label, (mx - _text_width(label, size) // 2, my + int(4 * size / 0.45)), size, (0, 0, 0), 1)

    if not legend and title is None:
        return canvas
    width_px = canvas.shape[1]
    head = 48 if title else 0
    def describe(it: Any) -> str:
        if typical_strength:
            return f"{it.strength / typical_strength:.2f} x typical pair"
        return f"{100 * it.strength / ref:.0f}% of strongest"

    lines = [f"{k + 1}. {' + '.join(it.labels)}   strength {it.strength:.3g} ({describe(it)})"
             for k, it in enumerate(items)] if legend else []
    notes = ["Boxes: centres of two screen regions the agent combines;",
             "thicker, brighter line = stronger interaction."] if legend else []
    foot = (18 * (len(lines) + len(notes)) + 14) if legend else 0
    out = np.full((head + canvas.shape[0] + foot, width_px, 3), PAPER, np.uint8)
    out[head:head + canvas.shape[0]] = canvas
    if title:
        _fit_text(out, title, 8, 20, width_px - 16, 0.5, 1)
        _text(out, "(strongest pairs, numbered)", (8, 40), 0.4)
    y = head + canvas.shape[0] + 18
    for k, line in enumerate(lines):
        cv2.rectangle(out, (8, y - 10), (22, y + 2), palette[k % len(palette)], -1)
        _fit_text(out, line, 28, y, width_px - 36, 0.4, 1)
        y += 18
    for note in notes:
        _fit_text(out, note, 8, y, width_px - 16, 0.38, 1)
        y += 18
    return out


def _fit_text(img: np.ndarray, text: str, x: int, y: int, max_w: int, size: float, thickness: int) -> None:
    """Write text, shrinking it to fit ``max_w`` pixels."""
    while size > 0.25 and _text_width(text, size, thickness) > max_w:
        size -= 0.03
    _text(img, text, (x, y), size, INK, thickness)
