"""Text drawn from cached glyph masks equals Pillow's own drawing, pixel for pixel."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from rlviz.present.text import TextLayer, font

ITEMS = [
    ((10, 10), "Hello world", 18, (250, 250, 250), "la"),
    ((630, 350), "right bottom 99%", 14, (0, 158, 115), "rd"),
    ((320, 180), "middle: +0.25", 22, (214, 39, 40), "mm"),
    ((325, 185), "overlaps the one before", 22, (31, 119, 180), "mm"),
    ((-5, 100), "clipped at the left", 20, (200, 100, 0), "la"),
    ((600, 5), "clipped at the right edge", 16, (10, 10, 10), "lm"),
    ((320, 358), "a caption with descenders jy", 24, (255, 255, 255), "md"),
    ((100, 100), "Hello world", 18, (0, 0, 255), "la"),  # the same text again, another colour
    ((700, 400), "wholly outside", 18, (255, 0, 0), "la"),
]


def test_text_layer_draws_exactly_as_pillow():
    frame = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    expected = Image.fromarray(frame.copy())
    draw = ImageDraw.Draw(expected)
    layer = TextLayer()
    for xy, text, size, colour, anchor in ITEMS:
        draw.text(xy, text, font=font(size), fill=colour, anchor=anchor)
        layer.add(xy, text, size, colour, anchor)
    got = layer.draw(frame.copy())
    np.testing.assert_array_equal(got, np.asarray(expected))
    assert (got != frame).any(axis=2).sum() > 1000  # it drew something
