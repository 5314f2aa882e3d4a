"""Which interaction pairs are worth drawing: those whose both boxes sit on something.

A pair of screen cells the agent combines is drawn as two boxes (each cell's stride-sized
patch, ``PolicyInteraction.rgb_patches``). On empty court such a pair tells a viewer nothing
they can see, so the rule is: **a pair is drawn only if each of its two boxes covers at
least ``MIN_PIXELS`` observation pixels (in any of the stacked frames) that differ from the
game's background (the median frame, :func:`rlviz.background`) by more than
``THRESHOLD`` gray levels** (a ball, a paddle, an invader, a bullet, a score digit, a hole in
the bricks). The box is grown by ``GROW`` pixels (about 12 to 15 screen pixels): the centre
patches never reach the screen's edges, where the paddles are. The cost is one
difference image per frame and one sum per distinct box (49 cells at most).

Example:
    >>> pairs = frame_interactions(agent, obs[None], top_k=30)[0]
    >>> shown = pairs_on_objects(pairs, obs, background(agent), keep=3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlviz.explain.interactions_cnn import RGB_SHAPE, PolicyInteraction, scale_box
from rlviz.explain.objects.segment import THRESHOLD, difference_masks

MIN_PIXELS = 2  # a Pong ball is 1x2 observation pixels per frame
GROW = 6  # observation pixels around each box that still count: the centre patches of the Nature CNN's
# cells span pixels 13.5..69.5, so Pong's paddles (x 8..10 and 74..76) and Breakout's (y 75..77) count


def box_object_pixels(changed: np.ndarray, box: Sequence[int]) -> int:
    """Pixels inside ``box`` (x0, y0, x1, y1, observation coordinates, grown by GROW) where
    ``changed`` ((H, W) bool: differs from the background in some stacked frame) holds."""
    h, w = changed.shape
    x0, y0, x1, y1 = box
    return int(changed[max(0, y0 - GROW) : min(h, y1 + GROW), max(0, x0 - GROW) : min(w, x1 + GROW)].sum())


def pairs_on_objects(
    pairs: list[PolicyInteraction], obs: np.ndarray, background: np.ndarray, *, keep: int | None = None,
    min_pixels: int = MIN_PIXELS, rgb_shape: tuple[int, int] = RGB_SHAPE,
) -> list[PolicyInteraction]:
    """The ``pairs`` (strongest first) whose every box covers at least ``min_pixels`` pixels
    that differ from ``background`` in the observation ``obs`` (uint8 (C, H, W)), at most
    ``keep`` of them. Pairs without boxes (channel groups) are kept as they are."""
    obs = np.asarray(obs)
    changed = difference_masks(obs, background, THRESHOLD).any(axis=0)
    hw = changed.shape
    on_objects: dict[tuple, bool] = {}  # per drawn box: pairs share their cells

    def sits_on_object(rgb_box) -> bool:
        if rgb_box not in on_objects:
            on_objects[rgb_box] = box_object_pixels(changed, scale_box(rgb_box, rgb_shape, hw)) >= min_pixels
        return on_objects[rgb_box]

    out = []
    for p in pairs:
        if all(sits_on_object(tuple(b)) for b in p.rgb_patches):
            out.append(p)
            if keep is not None and len(out) == keep:
                break
    return out
