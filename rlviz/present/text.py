"""Text on frames with Pillow's built-in scalable font (no font files needed)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def text_size(text: str, size: int) -> tuple[int, int]:
    """(width, height) of ``text`` drawn at ``size`` px."""
    left, top, right, bottom = font(size).getbbox(text)
    return right - left, bottom


class TextLayer:
    """Collects text to draw and draws it in one Pillow pass over a numpy frame."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[int, int], str, int, tuple[int, int, int], str]] = []

    def add(self, xy: tuple[int, int], text: str, size: int = 18, colour=(235, 235, 235), anchor: str = "la") -> None:
        self.items.append((xy, text, size, colour, anchor))

    def boxes(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        """(text, (left, top, right, bottom)) of each item as it will be drawn: for layout checks."""
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        return [(text, tuple(int(v) for v in measure.textbbox(xy, text, font=font(size), anchor=anchor)))
                for xy, text, size, _, anchor in self.items]

    def draw(self, frame: np.ndarray) -> np.ndarray:
        """Draw every item onto ``frame`` in place (and return it), pixel for pixel as Pillow's
        ``ImageDraw.text`` would (tested), but each text's coverage mask is rendered once and
        reused: a video draws the same labels, percentages and legends on every frame, and
        Pillow's glyph rendering was a third of a frame's drawing time (docs/speed.md)."""
        height, width = frame.shape[:2]
        for (x, y), text, size, colour, anchor in self.items:
            mask, left, top = glyph_mask(text, size, anchor)
            x0, y0 = int(x) + left, int(y) + top
            x1, y1 = min(width, x0 + mask.shape[1]), min(height, y0 + mask.shape[0])
            cx, cy = max(0, x0), max(0, y0)
            if cx >= x1 or cy >= y1:
                continue
            m = mask[cy - y0 : y1 - y0, cx - x0 : x1 - x0, None].astype(np.uint32)
            region = frame[cy:y1, cx:x1]
            # Pillow's blend of an ink over a pixel: (dst (255 - m) + ink m) / 255, rounded
            t = region * (255 - m) + np.asarray(colour, np.uint32) * m + 128
            region[:] = ((t >> 8) + t) >> 8
        return frame


@lru_cache(maxsize=4096)
def glyph_mask(text: str, size: int, anchor: str) -> tuple[np.ndarray, int, int]:
    """(coverage mask uint8 [h, w], left, top): the text as Pillow renders it at an integer
    position, and the mask's offset from the anchor point."""
    left, top, right, bottom = font(size).getbbox(text, anchor=anchor)
    image = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(image).text((-left, -top), text, font=font(size), fill=255, anchor=anchor)
    mask = np.asarray(image)
    mask.setflags(write=False)
    return mask, left, top
