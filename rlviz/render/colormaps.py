"""Colour maps and overlays for explanation maps.

Colours come from the Okabe-Ito palette, which stays distinguishable for colour-blind
viewers: actor saliency in blue, critic saliency in yellow (a blue/yellow pair also stays
apart on the brown Pong court and on black backgrounds); LRP uses a red-white-blue
diverging map that is symmetric around zero.
"""

from __future__ import annotations

import cv2
import numpy as np

ACTOR_RGB = (0, 114, 178)  # Okabe-Ito blue
CRITIC_RGB = (240, 228, 66)  # Okabe-Ito yellow
POSITIVE_RGB = (214, 39, 40)  # red: evidence for the action
NEGATIVE_RGB = (31, 119, 180)  # blue: evidence against


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
    return np.clip(values / scale, 0.0, 1.0).astype(np.float32)


def blend(image: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int], strength: float = 0.85) -> np.ndarray:
    """Tint ``image`` (H, W, 3 uint8) towards ``colour`` with per-pixel weight alpha in [0, 1]."""
    a = (np.clip(alpha, 0, 1) * strength)[..., None]
    out = image.astype(np.float32) * (1 - a) + np.asarray(colour, np.float32) * a
    return out.clip(0, 255).astype(np.uint8)


def saliency_overlay(
    rgb: np.ndarray, actor: np.ndarray | None, critic: np.ndarray | None, actor_scale: float, critic_scale: float
) -> np.ndarray:
    """The game frame with actor saliency in blue and critic saliency in yellow.

    Maps are 84x84; ``*_scale`` is the value shown at full strength (per video by default).
    """
    h, w = rgb.shape[:2]
    out = rgb
    if critic is not None:
        out = blend(out, np.sqrt(normalise(resize_map(critic, h, w), critic_scale)), CRITIC_RGB)
    if actor is not None:
        out = blend(out, np.sqrt(normalise(resize_map(actor, h, w), actor_scale)), ACTOR_RGB)
    return out


def diverging(values: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed values -> (colour image, alpha): red for positive, blue for negative,
    symmetric around zero with |value| = scale at full strength."""
    v = np.clip(values / scale, -1, 1) if scale > 0 and np.isfinite(scale) else np.zeros_like(values)
    colour = np.where(v[..., None] >= 0, np.asarray(POSITIVE_RGB, np.float32), np.asarray(NEGATIVE_RGB, np.float32))
    return colour, np.abs(v).astype(np.float32)


def relevance_overlay(rgb: np.ndarray, relevance: np.ndarray, scale: float) -> np.ndarray:
    """Signed relevance (84x84) over a dimmed grayscale frame, red = for, blue = against."""
    h, w = rgb.shape[:2]
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    base = np.repeat((gray.astype(np.float32) * 0.45 + 20)[..., None], 3, axis=2)
    colour, alpha = diverging(resize_map(relevance, h, w), scale)
    a = np.sqrt(alpha)[..., None] * 0.95
    return (base * (1 - a) + colour * a).clip(0, 255).astype(np.uint8)


def colour_bar(width: int, height: int, kind: str) -> np.ndarray:
    """A horizontal colour bar image: 'actor', 'critic' (0 -> max) or 'diverging' (-max -> +max)."""
    t = np.linspace(0, 1, width, dtype=np.float32)
    base = np.full((height, width, 3), 24, np.uint8)
    if kind == "diverging":
        colour, alpha = diverging(np.broadcast_to(t * 2 - 1, (height, width)), 1.0)
        a = np.sqrt(alpha)[..., None] * 0.95
        return (base * (1 - a) + colour * a).astype(np.uint8)
    rgb = ACTOR_RGB if kind == "actor" else CRITIC_RGB
    return blend(base, np.sqrt(np.broadcast_to(t, (height, width))), rgb)
