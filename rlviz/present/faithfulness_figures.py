"""Figures for the faithfulness evaluation, drawn with OpenCV and numpy only; RGB uint8 out.

* ``draw_flipping_curves``: deletion and insertion curves (mean over frames, shaded 95%
  band), one row per explained output, with a legend giving each method's AOPC; each method
  has its own colour and line style (``method_styles``: 9 colours, then the same dashed), so
  15 methods stay apart. ``draw_flipping_summary`` draws the same figure from the
  ``outputs`` of a ``faithfulness.json`` (``replot_flipping`` redraws a folder's PNG without
  measuring again).
* ``draw_sanity``: Spearman rho against the number of randomised layers, the first frame's
  maps as the layers turn random (one row per method), and the input-invariance table.

These functions only draw; the numbers come from ``rlviz.assess.faithfulness`` and
``rlviz.assess.sanity``.

Example:
    >>> save_png("out/faithfulness.png", draw_flipping_curves(reports))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rlviz.assess.faithfulness import replacement_kind
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import write_bytes_atomic

FONT = cv2.FONT_HERSHEY_SIMPLEX
INK = (30, 30, 30)
FAINT = (150, 150, 150)
GRID = (228, 228, 228)
PAPER = (255, 255, 255)
# Okabe-Ito and a few extras, RGB; "random" is always drawn in grey
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0),
           (86, 180, 233), (120, 60, 160), (160, 110, 40), (240, 228, 66), (0, 0, 0)]
RANDOM_RGB = (140, 140, 140)


def _text(img: np.ndarray, text: str, org: tuple[float, float], size: float = 0.42,
          color: tuple[int, int, int] = INK, thickness: int = 1, align: str = "left") -> None:
    if align != "left":
        width = cv2.getTextSize(text, FONT, size, thickness)[0][0]
        org = (org[0] - (width if align == "right" else width / 2), org[1])
    cv2.putText(img, text, (int(org[0]), int(org[1])), FONT, size, color, thickness, cv2.LINE_AA)


def method_colours(methods: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """A stable colour per method (grey for the random baseline)."""
    colours, k = {}, 0
    for m in methods:
        if m == "random":
            colours[m] = RANDOM_RGB
        else:
            colours[m] = PALETTE[k % len(PALETTE)]
            k += 1
    return colours


CURVE_PALETTE = [c for c in PALETTE if c != (240, 228, 66)]  # yellow hardly shows as a thin line on white


def method_styles(methods: Sequence[str]) -> dict[str, tuple[tuple[int, int, int], bool]]:
    """(colour, dashed) per method, all different: the 9 curve colours solid, then again
    dashed (18 methods at most before a style repeats); grey solid for the random baseline."""
    styles, k = {}, 0
    for m in methods:
        if m == "random":
            styles[m] = (RANDOM_RGB, False)
        else:
            styles[m] = (CURVE_PALETTE[k % len(CURVE_PALETTE)], (k // len(CURVE_PALETTE)) % 2 == 1)
            k += 1
    return styles


def dashed_polyline(img: np.ndarray, pts: np.ndarray, colour: tuple[int, int, int], thickness: int = 2,
                    on: float = 7.0, off: float = 5.0) -> None:
    """A polyline drawn as dashes of ``on`` px with gaps of ``off`` px along its length (OpenCV
    has none); the pattern runs on across the vertices, so dense curves still read dashed."""
    pts = np.asarray(pts, np.float64)
    period, pos = on + off, 0.0
    for p0, p1 in pairwise(pts):
        length = float(np.hypot(*(p1 - p0)))
        t = 0.0
        while t < length:
            phase = pos % period
            step = min(length - t, (on - phase) if phase < on else (period - phase))
            if phase < on and step > 0:
                a, b = p0 + (p1 - p0) * (t / length), p0 + (p1 - p0) * ((t + step) / length)
                cv2.line(img, tuple(int(v) for v in np.rint(a)), tuple(int(v) for v in np.rint(b)), colour,
                         thickness, cv2.LINE_AA)
            t, pos = t + max(step, 1e-9), pos + max(step, 1e-9)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    raw = span / max(n - 1, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=raw)
    return np.arange(np.ceil(lo / step) * step, hi + step * 0.5, step)


def _tick_label(t: float, ticks: np.ndarray) -> str:
    """Enough decimals to tell neighbouring ticks apart (0.1735 vs 0.1740), scientific if tiny."""
    step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    dec = 0
    while dec < 8 and abs(round(step * 10**dec) - step * 10**dec) > 1e-6 * 10**dec * step:
        dec += 1
    if abs(t) < 1e-6 * step:
        t = 0.0
    if dec > 5 or abs(t) >= 1e5:
        return f"{t:.2e}"
    return f"{t:.{dec}f}"


class _Axes:
    """A plot rectangle with data-to-pixel mapping, axes, grid and tick labels."""

    def __init__(self, img: np.ndarray, rect: tuple[int, int, int, int], xlim: tuple[float, float],
                 ylim: tuple[float, float], title: str = "", xlabel: str = "", ylabel: str = "",
                 xticks: Sequence[tuple[float, str]] | None = None) -> None:
        self.img = img
        x0, y0, x1, y1 = rect
        self.box = (x0 + 52, y0 + 22, x1 - 10, y1 - 38)
        self.xlim, self.ylim = xlim, ylim
        bx0, by0, bx1, by1 = self.box
        yticks = _nice_ticks(*ylim)
        for t in yticks:
            py = self.py(t)
            cv2.line(img, (bx0, py), (bx1, py), GRID, 1)
            _text(img, _tick_label(t, yticks), (bx0 - 5, py + 4), 0.36, FAINT, align="right")
        ticks = xticks if xticks is not None else [(t, f"{t:.3g}") for t in _nice_ticks(*xlim)]
        for t, label in ticks:
            px = self.px(t)
            cv2.line(img, (px, by0), (px, by1), GRID, 1)
            _text(img, label, (px, by1 + 15), 0.36, FAINT, align="center")
        cv2.rectangle(img, (bx0, by0), (bx1, by1), FAINT, 1)
        _text(img, title, (bx0, by0 - 7), 0.45, INK, 1)
        _text(img, xlabel, ((bx0 + bx1) / 2, by1 + 32), 0.38, INK, align="center")
        if ylabel:
            _text(img, ylabel, (x0 + 2, by0 - 7), 0.36, FAINT)

    def px(self, x: float) -> int:
        bx0, _, bx1, _ = self.box
        lo, hi = self.xlim
        return int(round(bx0 + (x - lo) / ((hi - lo) or 1) * (bx1 - bx0)))

    def py(self, y: float) -> int:
        _, by0, _, by1 = self.box
        lo, hi = self.ylim
        return int(round(by1 - (np.clip(y, lo, hi) - lo) / ((hi - lo) or 1) * (by1 - by0)))

    def band(self, xs: np.ndarray, lo: np.ndarray, hi: np.ndarray, colour: tuple[int, int, int], alpha: float = 0.18) -> None:
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.sum() < 2:
            return
        top = [(self.px(x), self.py(y)) for x, y in zip(xs[ok], hi[ok])]
        bottom = [(self.px(x), self.py(y)) for x, y in zip(xs[ok][::-1], lo[ok][::-1])]
        layer = self.img.copy()
        cv2.fillPoly(layer, [np.array(top + bottom, np.int32)], colour)
        cv2.addWeighted(layer, alpha, self.img, 1 - alpha, 0, dst=self.img)

    def line(self, xs: np.ndarray, ys: np.ndarray, colour: tuple[int, int, int], thickness: int = 2,
             markers: bool = False, dashed: bool = False) -> None:
        pts = np.array([(self.px(x), self.py(y)) for x, y in zip(xs, ys) if np.isfinite(y)], np.int32)
        if len(pts) > 1 and dashed:
            dashed_polyline(self.img, pts, colour, thickness)
        elif len(pts) > 1:
            cv2.polylines(self.img, [pts], False, colour, thickness, cv2.LINE_AA)
        if markers:
            for p in pts:
                cv2.circle(self.img, tuple(int(v) for v in p), 3, colour, -1, cv2.LINE_AA)

    def hline(self, y: float, colour: tuple[int, int, int] = FAINT) -> None:
        bx0, _, bx1, _ = self.box
        py = self.py(y)
        for x in range(bx0, bx1, 8):  # dashed
            cv2.line(self.img, (x, py), (min(x + 4, bx1), py), colour, 1)


def _limits(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    vals = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays] or [np.zeros(1)])
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    return lo - pad, hi + pad


def _fmt(mean: float, half: float) -> str:
    return f"{mean:.3g}" + (f" +-{half:.1g}" if np.isfinite(half) else "")


def draw_flipping_curves(reports: Any, *, title: str = "Pixel flipping") -> np.ndarray:
    """Deletion (left) and insertion (right) curves per output; legend with AOPC +- 95% CI.

    ``reports``: one FaithfulnessReport or a mapping {output: FaithfulnessReport}. Drawn from
    their JSON summaries (``to_dict``), so a figure redrawn from ``faithfulness.json`` is the same.
    """
    if not isinstance(reports, Mapping):
        reports = {reports.output: reports}
    if not reports:
        raise RlvizError("no reports to draw")
    return draw_flipping_summary({o: r.to_dict() for o, r in reports.items()}, title=title)


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], np.float64)


def _half(pair: Sequence[float | None] | None) -> float:
    """The half-width of a [low, high] interval of the JSON (NaN where it has none)."""
    if not pair or pair[0] is None or pair[1] is None:
        return float("nan")
    return (pair[1] - pair[0]) / 2


def draw_flipping_summary(outputs: Mapping[str, Mapping[str, Any]], *, title: str = "Pixel flipping") -> np.ndarray:
    """The pixel-flipping figure from ``faithfulness.json``'s ``outputs`` ({output: the
    report's ``to_dict()``}): mean curves with their 95% bands and the AOPC legend."""
    if not outputs:
        raise RlvizError("no reports to draw")
    rows = list(outputs.items())
    n_methods = max(len(d["aopc"]) for _, d in rows)
    plot_w, plot_h, legend_w, head = 430, max(270, 70 + 18 * n_methods), 420, 44  # room for every legend line
    img = np.full((head + plot_h * len(rows) + 40, 2 * plot_w + legend_w, 3), PAPER, np.uint8)
    first = rows[0][1]
    blurred = replacement_kind(first.get("replacement", "")) == "blur"
    _text(img, title, (12, 26), 0.62, INK, 2)
    methods = list(dict.fromkeys(m for _, d in rows for m in d["aopc"]))
    styles = method_styles(methods)
    alpha = min(0.18, 1.2 / len(methods))  # many overlapping bands would hide the curves
    names = {"logit": "logit of the chosen action", "prob": "probability of the chosen action", "value": "value V(s)"}
    for row, (output, d) in enumerate(rows):
        y0 = head + row * plot_h
        data = {kind: {m: (_floats(c["mean"]), _floats(c["ci95_half_width"])) for m, c in d["curves"][kind].items()}
                for kind in ("deletion", "insertion")}
        ylim = _limits([s[0] + sgn * np.nan_to_num(s[1]) for k in data.values() for s in k.values() for sgn in (-1, 1)])
        for col, kind in enumerate(("deletion", "insertion")):
            word = ("removed (blurred)" if blurred else "removed (empty playfield)") if kind == "deletion" else "restored"
            ax = _Axes(img, (col * plot_w, y0, (col + 1) * plot_w, y0 + plot_h), (0.0, 1.0), ylim,
                       title=f"{kind}: {names.get(output, output)}", xlabel=f"fraction of regions {word}, most relevant first")
            for m in methods:
                if m in data[kind]:
                    mean, half = data[kind][m]
                    xs = np.linspace(0, 1, len(mean))
                    ax.band(xs, mean - half, mean + half, styles[m][0], alpha)
            for m in methods:
                if m in data[kind]:
                    mean = data[kind][m][0]
                    ax.line(np.linspace(0, 1, len(mean)), mean, styles[m][0], 2 if m != "random" else 1, dashed=styles[m][1])
        lx, ly = 2 * plot_w + 6, y0 + 30
        _text(img, "AOPC (higher = more faithful)", (lx, ly), 0.42, INK, 1)
        _text(img, "method", (lx, ly + 18), 0.36, FAINT)
        _text(img, "deletion", (lx + 300, ly + 18), 0.36, FAINT, align="right")
        _text(img, "insertion", (lx + 405, ly + 18), 0.36, FAINT, align="right")
        dele, ins = d["aopc"], d["insertion_aopc"]
        nan = float("nan")
        for k, m in enumerate(sorted(dele, key=lambda q: -(dele[q] if dele[q] is not None else -np.inf))):
            yy = ly + 38 + k * 18
            colour, dashed = styles[m]
            if dashed:
                dashed_polyline(img, np.array([(lx, yy - 4), (lx + 24, yy - 4)]), colour, 3, on=6, off=3)
            else:
                cv2.line(img, (lx, yy - 4), (lx + 24, yy - 4), colour, 3)
            size = 0.36  # a long name (METHOD@contrast) gets smaller, never cut
            while size > 0.27 and cv2.getTextSize(m, FONT, size, 1)[0][0] > 205:
                size -= 0.01
            _text(img, m, (lx + 30, yy), size, INK)
            _text(img, _fmt(nan if dele[m] is None else dele[m], _half(d.get("aopc_ci95", {}).get(m))), (lx + 300, yy), 0.34,
                  INK, align="right")
            _text(img, _fmt(nan if ins[m] is None else ins[m], _half(d.get("insertion_aopc_ci95", {}).get(m))), (lx + 405, yy),
                  0.34, INK, align="right")
    removed = ("the frame blurred with sigma 3" if blurred else "the agent's background, the empty playfield")
    foot = (f"{first['frames']} frames; {first['regions']} regions of {first['region']}x{first['region']} px replaced by "
            f"{removed} (all 4 stacked frames); bands: 95% CI over frames")
    _text(img, foot, (12, img.shape[0] - 14), 0.38, FAINT)
    return img


def replot_flipping(folder: str | Path, title: str | None = None) -> Path:
    """Redraw ``folder/faithfulness.png`` from ``folder/faithfulness.json`` (no measuring):
    for a figure whose drawing changed since the numbers were measured."""
    import json

    src = Path(folder) / "faithfulness.json"
    if not src.is_file():
        raise RlvizError(f"{src} not found; give a folder written by 'rlviz faithfulness --out'")
    try:
        payload = json.loads(src.read_text())
        outputs = payload["outputs"]
    except (ValueError, KeyError, TypeError) as err:
        raise RlvizError(f"{src} is not a faithfulness.json ({err.__class__.__name__}); rerun 'rlviz faithfulness --out'") from None
    name = title or f"{payload.get('agent', Path(folder).name)}: pixel flipping"
    return save_png(Path(folder) / "faithfulness.png", draw_flipping_summary(outputs, title=name))


def _thumbnail(values: np.ndarray, size: int) -> np.ndarray:
    """|map| scaled to its own maximum, inferno colours, size x size RGB."""
    v = np.abs(np.asarray(values, np.float64))
    top = v.max()
    v = v / top if top > 0 else v
    gray = cv2.resize((v * 255).clip(0, 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return cv2.applyColorMap(gray, cv2.COLORMAP_INFERNO)[..., ::-1]


def draw_sanity(cascade: Any, invariance: Any = None, *, title: str = "Sanity checks") -> np.ndarray:
    """Cascading randomisation (rho per step, and the first frame's maps per step) and, if given,
    the input-invariance table."""
    methods = cascade.methods
    steps = cascade.steps
    colours = method_colours(methods)
    thumb, label_w = 76, 170
    plot_w, plot_h = 520, 330
    grid_w = label_w + thumb * len(steps) + 10
    inv_h = 0 if invariance is None else 60 + 18 * len(invariance.relative_change)
    height = 44 + max(plot_h + 24 * len(methods) // 2 + 30, 30 + (thumb + 6) * len(methods)) + inv_h + 30
    img = np.full((height, plot_w + grid_w + 20, 3), PAPER, np.uint8)
    _text(img, title, (12, 26), 0.62, INK, 2)
    ticks = [(k, (s if len(s) <= 10 else s[:9] + ".")) for k, s in enumerate(steps)]
    ax = _Axes(img, (0, 44, plot_w, 44 + plot_h), (-0.3, len(steps) - 0.7), (-1.05, 1.05),
               title="Spearman rho with the original map", xlabel="layers randomised, top down (cumulative)",
               xticks=ticks)
    ax.hline(cascade.threshold)
    ax.hline(-cascade.threshold)
    xs = np.arange(len(steps), dtype=np.float64)
    flagged = set(cascade.flagged())
    for m in methods:
        r = cascade.rho[m]
        mean = r.mean(0)
        if r.shape[0] > 1:
            half = 1.96 * r.std(0, ddof=1) / np.sqrt(r.shape[0])
            ax.band(xs, mean - half, mean + half, colours[m])
        ax.line(xs, mean, colours[m], 2, markers=True)
    ly = 44 + plot_h + 8
    for k, m in enumerate(methods):
        x, y = 12 + (k % 2) * 255, ly + (k // 2) * 20
        cv2.line(img, (x, y - 4), (x + 16, y - 4), colours[m], 3)
        mark = "  FLAGGED" if m in flagged else ""
        _text(img, f"{m[:24]} {cascade.final_rho()[m]:+.2f}{mark}", (x + 22, y), 0.36, (200, 0, 0) if mark else INK)
    _text(img, f"flag: |rho| > {cascade.threshold:g} with every layer random (dashed)", (12, ly + 20 * ((len(methods) + 1) // 2) + 6),
          0.36, FAINT)
    gx, gy = plot_w + 20, 50
    _text(img, "first frame's |map| as layers turn random", (gx, gy + 8), 0.45, INK)
    for k, s in enumerate(steps):
        _text(img, s if len(s) <= 11 else s[:10] + ".", (gx + label_w + k * thumb + thumb / 2, gy + 28), 0.3, FAINT,
              align="center")
    for r, m in enumerate(methods):
        y = gy + 36 + r * (thumb + 6)
        _text(img, m[:24], (gx, y + thumb // 2 + 4), 0.38, INK)
        for k in range(len(steps)):
            x = gx + label_w + k * thumb
            img[y : y + thumb, x : x + thumb - 2] = _thumbnail(cascade.examples[m][k], thumb)[:, : thumb - 2]
    if invariance is not None:
        y = height - inv_h - 10
        _text(img, f"input invariance: input shifted by c = {invariance.shift:g}, first-layer bias compensated "
                   f"(outputs equal to {invariance.output_max_diff:.1e})", (12, y), 0.45, INK)
        _text(img, "method", (12, y + 22), 0.38, FAINT)
        _text(img, "relative change", (330, y + 22), 0.38, FAINT, align="right")
        _text(img, "Spearman rho", (450, y + 22), 0.38, FAINT, align="right")
        _text(img, "invariant", (480, y + 22), 0.38, FAINT)
        inv = invariance.invariant()
        for k, m in enumerate(invariance.relative_change):
            yy = y + 42 + k * 18
            _text(img, m[:26], (12, yy), 0.38, INK)
            _text(img, f"{invariance.relative_change[m].mean():.3g}", (330, yy), 0.38, INK, align="right")
            _text(img, f"{invariance.rho[m].mean():+.3f}", (450, yy), 0.38, INK, align="right")
            _text(img, "yes" if inv[m] else "NO", (480, yy), 0.38, INK if inv[m] else (200, 0, 0))
    return img


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image as PNG (creating the folder), through a temporary file and a
    rename so that an existing PNG is replaced only by a complete one."""
    path = Path(path)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise RlvizError(f"could not encode {path} as PNG")
    try:
        write_bytes_atomic(path, encoded.tobytes())
    except OSError as exc:
        raise RlvizError(f"could not write {path} ({exc.strerror or exc}); check the folder is writable") from None
    return path
