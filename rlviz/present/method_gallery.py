"""One frame, every method: the maps side by side over what the network sees (a PNG).

Each panel is the newest stacked frame (84x84, scaled up) with one method's map on top, each
scaled to its own maximum (the panels compare *where* methods point, not how strongly).
Signed maps (gradient x input, IG, DeepLIFT, LRP; rank_by "value") are red where a pixel
speaks for the explained output and blue against, as in the video's LRP panel; unsigned ones
(saliency, SARFA, |gradient|, Grad-CAM, meaningful perturbation) are blue, brighter = more.
Per-frame maps are summed over the 4 stacked frames first. This module only draws; the maps
come from rlviz.explain.registry.

Example:
    >>> image = method_gallery(agent, obs, ["saliency-actor", "sarfa", "gradcam"], target="action")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from rlviz.agents.agent import Agent
from rlviz.explain.registry import attribute, get_spec, to_map
from rlviz.present.colormaps import ACTOR_RGB, _signed_tint, blend
from rlviz.present.faithfulness_figures import FAINT, INK, PAPER, _text

PANEL = 252  # 84 x 3


def _panel(gray: np.ndarray, values: np.ndarray, signed: bool) -> np.ndarray:
    """The frame (dimmed grey) with the map over it, scaled to the map's own maximum |value|."""
    frame = cv2.resize(gray, (PANEL, PANEL), interpolation=cv2.INTER_NEAREST)
    base = cv2.cvtColor(cv2.convertScaleAbs(frame, alpha=0.45, beta=20), cv2.COLOR_GRAY2RGB)
    big = cv2.resize(values.astype(np.float32), (PANEL, PANEL), interpolation=cv2.INTER_LINEAR)
    top = float(np.abs(big).max())
    if top <= 0:
        return base
    if signed:
        return _signed_tint(base, big, top)
    return blend(base, np.sqrt(np.clip(big / top, 0, 1)), ACTOR_RGB, 0.95)


def gallery_maps(agent: Agent, obs: np.ndarray, methods: Sequence[str], target: Any = "action") -> dict[str, np.ndarray]:
    """(84, 84) map per method for one observation (4, 84, 84), as pixel flipping ranks them;
    a method that cannot explain ``target`` (SARFA and the value) is left out."""
    out = {}
    for m in methods:
        spec = get_spec(m)
        if spec.targets and isinstance(target, str) and target not in spec.targets:
            continue
        out[m] = to_map(spec, attribute(agent, obs[None], m, target))[0]
    return out


def draw_gallery(obs: np.ndarray, maps: dict[str, np.ndarray], *, title: str, columns: int = 5) -> np.ndarray:
    """The panels in a grid with the method names, RGB uint8."""
    gray = np.asarray(obs)[-1]
    rows = -(-len(maps) // columns)
    pad, label = 12, 22
    img = np.full((60 + rows * (PANEL + label + pad), pad + columns * (PANEL + pad), 3), PAPER, np.uint8)
    _text(img, title, (pad, 26), 0.6, INK, 2)
    _text(img, "red: for the explained output, blue: against (signed maps); blue alone: importance (unsigned); "
               "each panel scaled to its own maximum", (pad, 46), 0.38, FAINT)
    for k, (name, values) in enumerate(maps.items()):
        r, c = divmod(k, columns)
        x, y = pad + c * (PANEL + pad), 60 + r * (PANEL + label + pad)
        signed = get_spec(name).rank_by == "value" and bool((values < 0).any())
        _text(img, name, (x, y + 15), 0.45, INK)
        img[y + label : y + label + PANEL, x : x + PANEL] = _panel(gray, values, signed)
    return img


def method_gallery(agent: Agent, obs: np.ndarray, methods: Sequence[str], *, target: Any = "action",
                   title: str = "") -> np.ndarray:
    """Compute every method's map for one observation and draw the gallery."""
    maps = gallery_maps(agent, obs, methods, target)
    return draw_gallery(obs, maps, title=title or f"{agent.name}: every method on one frame (target: {target})")
