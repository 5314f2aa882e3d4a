"""Pictures of objects: the background, a frame with its objects boxed and named, and the
figure of object shares (a stacked bar per method) beside object saliency (a bar per object).
Drawn with OpenCV and numpy only; RGB uint8 out. The numbers come from
``rlviz.assess.objects`` and ``rlviz.explain.objects``; these functions only draw.

Example:
    >>> save_png("out/objects.png", draw_object_shares(report))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from rlviz.present.faithfulness_figures import FAINT, INK, PALETTE, PAPER, _text

OTHER = (215, 215, 215)  # the part of a map not on any object


def object_colours(names: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """A stable colour per object name, in the order given."""
    return {n: PALETTE[k % len(PALETTE)] for k, n in enumerate(names)}


def _gray_rgb(frame: np.ndarray, scale: int) -> np.ndarray:
    img = cv2.resize(np.asarray(frame, np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return np.repeat(img[..., None], 3, axis=2)


def draw_background(background: np.ndarray, *, scale: int = 4, title: str = "") -> np.ndarray:
    """The background frame enlarged ``scale`` times (nearest neighbour), with a title strip."""
    img = _gray_rgb(background, scale)
    strip = np.full((26, img.shape[1], 3), PAPER, np.uint8)
    _text(strip, title or "background (per-pixel median)", (6, 18), 0.45, INK)
    return np.concatenate([strip, img])


def draw_objects(frame: np.ndarray, objects: Sequence[Any], *, scale: int = 6, shares: dict[str, float] | None = None) -> np.ndarray:
    """A gray observation frame (H, W) enlarged, each object's footprint boxed and named
    (with its share when ``shares`` is given). Boxes are in observation pixels x ``scale``."""
    img = _gray_rgb(frame, scale)
    colours = object_colours([o.name for o in objects])
    for o in objects:
        top, left, bottom, right = o.box
        c = colours[o.name]
        cv2.rectangle(img, (left * scale, top * scale), (right * scale - 1, bottom * scale - 1), c, 2)
        label = o.name if shares is None else f"{o.name} {100 * shares.get(o.name, 0.0):.0f}%"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        y = top * scale - 6 if top * scale > th + 8 else bottom * scale + th + 6
        x = max(2, min(left * scale, img.shape[1] - tw - 4))
        cv2.rectangle(img, (x - 2, y - th - 3), (x + tw + 2, y + 4), (20, 20, 20), -1)
        _text(img, label, (x, y), 0.45, c, 1)
    return img


def draw_object_shares(report: dict[str, Any], *, width: int = 1320) -> np.ndarray:
    """Left: per method, its map's mass split over the objects (stacked bar, 0-100%) with the
    share on objects and the AOPC; right: object saliency per object (policy and value bars)."""
    names = list(report["objects"])
    colours = object_colours(names)
    methods = list(report["methods"])
    row, top = 30, 78
    legend_rows = 1 + len(names) // 4
    height = top + row * len(methods) + 40 + 22 * legend_rows + 30
    sal_h = top + 44 * max(len(names), 1) + 40
    img = np.full((max(height, sal_h), width, 3), PAPER, np.uint8)
    title = f"{report['game']}, agent {report.get('agent', '')}: where each map's mass lies ({report['frames']} frames)"
    _text(img, title, (12, 24), 0.55, INK, 1)
    _text(img, f"object area (a uniform map's share): {100 * report.get('object_area', 0):.1f}%", (12, 46), 0.42, FAINT)
    x0, x1 = 230, 640
    _text(img, "share of |map| on objects", (x0, top - 10), 0.42, INK)
    for k, m in enumerate(methods):
        y = top + k * row
        d = report["methods"][m]
        bold = 2 if m == report.get("video_default") else 1
        _text(img, m.replace("lrp-", "LRP "), (x0 - 8, y + 17), 0.42, INK, bold, align="right")
        cv2.rectangle(img, (x0, y + 4), (x1, y + 22), OTHER, -1)
        pos = float(x0)
        for n in names:
            w = d["by_object"].get(n, 0.0) * (x1 - x0)
            if w > 0:
                cv2.rectangle(img, (round(pos), y + 4), (round(pos + w), y + 22), colours[n], -1)
            pos += w
        note = f"{100 * d['share_on_objects']:.1f}%"
        if d.get("aopc_deletion") is not None:
            note += f"  AOPC del {d['aopc_deletion']:.3g} / ins {d['aopc_insertion']:.3g}"
        _text(img, note, (x1 + 8, y + 17), 0.4, INK)
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        px = int(x0 + t * (x1 - x0))
        y = top + row * len(methods)
        cv2.line(img, (px, y), (px, y + 4), FAINT, 1)
        _text(img, f"{100 * t:.0f}%", (px, y + 18), 0.36, FAINT, align="center")
    ly = top + row * len(methods) + 44
    area = report.get("area_by_object", {})
    for k, n in enumerate(names + ["no object"]):
        lx = 12 + (k % 4) * 200
        yy = ly + (k // 4) * 22
        cv2.rectangle(img, (lx, yy - 11), (lx + 14, yy + 1), colours.get(n, OTHER), -1)
        _text(img, n + (f" (area {100 * area[n]:.1f}%)" if n in area else ""), (lx + 20, yy), 0.42, INK)
    if report.get("video_default"):
        _text(img, f"bold: the relevance map chosen for this agent by object share and deletion AOPC ({report['video_default']})",
              (12, ly + 22 * legend_rows + 14), 0.38, FAINT)
    _draw_saliency(img, report, names, colours, (width - 330, top, width - 20))
    return img


def _draw_saliency(img: np.ndarray, report: dict[str, Any], names: list[str], colours: dict, box: tuple[int, int, int]) -> None:
    x0, y0, x1 = box
    sal = report.get("object_saliency", {})
    _text(img, "object saliency (remove it)", (x0 - 140, y0 - 10), 0.42, INK)
    top_p = max([sal[n]["policy"] for n in names if n in sal] + [1e-12])
    top_v = max([sal[n]["value"] for n in names if n in sal] + [1e-12])
    for k, n in enumerate(names):
        y = y0 + k * 44
        s = sal.get(n, {"policy": 0.0, "value": 0.0})
        _text(img, n, (x0 - 8, y + 14), 0.4, INK, align="right")
        wp = int((x1 - x0 - 60) * s["policy"] / top_p)
        wv = int((x1 - x0 - 60) * s["value"] / top_v)
        cv2.rectangle(img, (x0, y + 3), (x0 + max(wp, 1), y + 17), colours[n], -1)
        cv2.rectangle(img, (x0, y + 21), (x0 + max(wv, 1), y + 31), colours[n], 1)
        _text(img, f"{s['policy']:.3g}", (x0 + wp + 4, y + 15), 0.36, INK)
        _text(img, f"{s['value']:.3g}", (x0 + wv + 4, y + 31), 0.36, FAINT)
    y = y0 + 44 * max(len(names), 1) + 6
    _text(img, "filled: policy 1/2||dlogits||^2; outline: value 1/2 dV^2", (x0 - 140, y), 0.36, FAINT)


def strip_text(top: Sequence[tuple[str, float]]) -> str:
    """The words of a video strip for a frame's top objects: "opponent's paddle 62%, ball 21%"
    (from ``rlviz.explain.objects.top_objects``); "no objects" when there are none."""
    return ", ".join(f"{name} {100 * share:.0f}%" for name, share in top) or "no objects"
