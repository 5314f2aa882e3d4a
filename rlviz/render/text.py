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
        if not self.items:
            return frame
        image = Image.fromarray(frame)
        draw = ImageDraw.Draw(image)
        for xy, text, size, colour, anchor in self.items:
            draw.text(xy, text, font=font(size), fill=colour, anchor=anchor)
        return np.array(image)
