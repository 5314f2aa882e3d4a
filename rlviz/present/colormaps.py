"""Colour maps and overlays for explanation maps.

Every map is drawn over a dimmed grayscale copy of the frame, so no game palette (Pong's
orange court, Breakout's bricks, SpaceInvaders' yellow invaders) can shift a colour. Saliency:
the actor as a sky-blue *fill*, the critic as yellow *outlines* (at 20% and 50% of its full
scale), so the two never mix into a third colour where they overlap. LRP: red for the move,
violet against it (never the actor's blue). The video uses no other colours on its maps;
interaction boxes are white (see :data:`PAIR_RGB`).

The report page (``rlviz.present.report``) draws its maps with these same colours, weights,
backdrops and legend words (:data:`LEGEND_WORDS`), and its legend bars with :func:`colour_bar`.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

ACTOR_RGB = (0, 114, 178)  # Okabe-Ito blue (older palette, still in method_gallery)
CRITIC_RGB = (240, 228, 66)  # Okabe-Ito yellow (older palette, still in method_gallery)
POSITIVE_RGB = (214, 39, 40)  # red: evidence for the action (older palette, still in method_gallery)
NEGATIVE_RGB = (31, 119, 180)  # blue: evidence against (older palette, still in method_gallery)

# the video's map palette: four hues at least 60 degrees apart, each over a dimmed gray frame
SALIENCY_ACTOR_RGB = (40, 190, 255)  # sky blue fill: where it looks to choose a move
SALIENCY_CRITIC_RGB = (255, 214, 0)  # yellow outlines: where it looks to judge its chances
LRP_FOR_RGB = (235, 45, 35)  # red: pushed towards the move
LRP_AGAINST_RGB = (175, 95, 255)  # violet: pushed against it
PAIR_RGB = (255, 255, 255)  # interaction boxes: white, no hue any other panel uses
MAP_COLOURS = {"actor": SALIENCY_ACTOR_RGB, "critic": SALIENCY_CRITIC_RGB, "for": LRP_FOR_RGB,
               "against": LRP_AGAINST_RGB, "pairs": PAIR_RGB}
CRITIC_LEVELS = (0.2, 0.5)  # critic outlines at these fractions of its full scale (thin, thick)
ACTOR_STRENGTH = 0.9  # the actor fill's weight at full scale: 0.9 * sqrt(actor / scale)
RELEVANCE_STRENGTH = 0.95  # LRP's weight at full scale: 0.95 * sqrt(|R| / scale)
SALIENCY_BACKDROP = (0.55, 20)  # (gain, lift) of the dimmed gray frame under saliency
RELEVANCE_BACKDROP = (0.45, 20)  # ... and under LRP (darker: red and violet need more contrast)
LEGEND_WORDS = {"actor": "fill: choosing a move", "critic": "lines: value estimate",
                "against": "against the move", "for": "for the move",
                "pairs": "White boxes: two places the agent's decision mixes; thicker = stronger"}


def resize_map(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale an 84x84 map onto a (height, width) image.

    The observation is the whole frame resized, so this is a pure scale; cv2's bilinear
    resize uses pixel centres, which keeps map and frame aligned.
    """
    return cv2.resize(values.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def normalise(values: np.ndarray, scale: float) -> np.ndarray:
    """values / scale clipped to [0, 1]; an all-zero scale gives zeros (never NaN)."""
    if not np.isfinite(scale) or scale <= 0:
        return np.zeros_like(values, dtype=np.float32)
    out = np.multiply(values, np.float32(1.0 / scale), dtype=np.float32)
    return np.clip(out, 0.0, 1.0, out=out)


@lru_cache(maxsize=32)
def _filled(shape: tuple[int, ...], colour: tuple[int, int, int]) -> np.ndarray:
    """A read-only image of one colour, made once per panel size (filling one costs ~3 ms)."""
    tint = np.empty(shape, np.uint8)
    tint[:] = colour
    tint.setflags(write=False)
    return tint


def _mix(image: np.ndarray, tint: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """image * (1 - weight) + tint * weight per pixel, rounded (weight float32 in [0, 1]), in
    one pass of cv2's blendLinear: a 402x530 panel took 2.5 ms, against 11.5 ms in numpy floats."""
    return cv2.blendLinear(image, tint, 1.0 - weight, weight)


def blend(image: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int], strength: float = 0.85) -> np.ndarray:
    """Tint ``image`` (H, W, 3 uint8) towards ``colour`` with per-pixel weight alpha in [0, 1]."""
    a = np.clip(alpha, 0, 1).astype(np.float32) * np.float32(strength)
    return _mix(np.ascontiguousarray(image), _filled(image.shape, tuple(colour)), a)


def dimmed_gray(rgb: np.ndarray, gain: float = 0.45, lift: int = 20) -> np.ndarray:
    """The frame as gray * gain + lift in three channels: the base of every map, whatever
    the game's palette."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(cv2.convertScaleAbs(gray, alpha=gain, beta=lift), cv2.COLOR_GRAY2RGB)


def outline(image: np.ndarray, values: np.ndarray, levels: tuple[float, ...], colour: tuple[int, int, int]) -> np.ndarray:
    """Draw the outlines of ``values >= level`` (values in [0, 1]) in ``colour`` on a copy of
    ``image``, one line per level, thicker for higher levels, each on a dark edge."""
    out = np.ascontiguousarray(image).copy()
    unit = max(1, min(out.shape[:2]) // 200)
    for k, level in enumerate(levels):
        mask = (values >= level).astype(np.uint8)
        if not mask.any():
            continue
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        width = unit * (k + 1)
        cv2.drawContours(out, contours, -1, (0, 0, 0), width + 2, cv2.LINE_AA)
        cv2.drawContours(out, contours, -1, colour, width, cv2.LINE_AA)
    return out


def saliency_overlay(
    rgb: np.ndarray, actor: np.ndarray | None, critic: np.ndarray | None, actor_scale: float, critic_scale: float
) -> np.ndarray:
    """The dimmed gray frame with actor saliency as a sky-blue fill (weight 0.9 *
    sqrt(actor / scale)) and critic saliency as yellow outlines at CRITIC_LEVELS of its scale.

    Maps are 84x84; ``*_scale`` is the value shown at full strength (per video by default).
    Outlines instead of a second fill: two fills mix into colours no legend explains.
    """
    h, w = rgb.shape[:2]
    out = dimmed_gray(rgb, *SALIENCY_BACKDROP)
    if actor is not None:
        out = blend(out, cv2.sqrt(normalise(resize_map(actor, h, w), actor_scale)), SALIENCY_ACTOR_RGB, ACTOR_STRENGTH)
    if critic is not None:
        out = outline(out, normalise(resize_map(critic, h, w), critic_scale), CRITIC_LEVELS, SALIENCY_CRITIC_RGB)
    return out


def relevance_overlay(rgb: np.ndarray, relevance: np.ndarray, scale: float) -> np.ndarray:
    """Signed relevance (84x84) over a dimmed grayscale frame, red = for, violet = against:
    the colour of the sign, with weight 0.95 * sqrt(|relevance| / scale) (clipped at 1)."""
    h, w = rgb.shape[:2]
    base = dimmed_gray(rgb, *RELEVANCE_BACKDROP)
    return _signed_tint(base, resize_map(relevance, h, w), scale)


def _signed_tint(base: np.ndarray, values: np.ndarray, scale: float) -> np.ndarray:
    """The diverging map (the LRP panel and its colour bar): ``base`` tinted red where
    values >= 0 and violet below, with weight 0.95 * sqrt(|value| / scale), clipped at 1."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    tint = _filled(base.shape, LRP_AGAINST_RGB).copy()
    tint = cv2.copyTo(_filled(base.shape, LRP_FOR_RGB), (values >= 0).view(np.uint8), tint)
    weight = cv2.sqrt(normalise(np.abs(values), scale)) * np.float32(RELEVANCE_STRENGTH)
    return _mix(base, tint, weight)


def colour_bar(width: int, height: int, kind: str) -> np.ndarray:
    """A horizontal legend image: 'actor' (the fill, 0 -> max), 'critic' (its outlines: a
    thin line at the first CRITIC_LEVELS fraction of the width, a thick one at the second) or
    'diverging' (-max -> +max), each over the gray the maps are drawn on."""
    t = np.linspace(0, 1, width, dtype=np.float32)
    base = np.full((height, width, 3), 60, np.uint8)
    if kind == "diverging":
        return _signed_tint(base, np.broadcast_to(t * 2 - 1, (height, width)), 1.0)
    if kind == "critic":
        return outline(base, np.broadcast_to(t, (height, width)).copy(), CRITIC_LEVELS, SALIENCY_CRITIC_RGB)
    return blend(base, np.sqrt(np.broadcast_to(t, (height, width))), SALIENCY_ACTOR_RGB, ACTOR_STRENGTH)
