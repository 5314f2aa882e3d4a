"""Maps and frames as compact images for the report page.

Each explanation map is stored as one byte per pixel in a *palette* PNG whose palette carries
the colour and the transparency of every level: the browser draws it over the game frame as
it is, with no pixel work in JavaScript (a canvas that drew a file:// image may not read its
pixels back). The colours, weights and backdrops are the videos' (:mod:`rlviz.present.colormaps`):
actor saliency (and any unsigned map) a sky-blue fill of weight 0.9 * sqrt(value / scale),
LRP (and any signed map) red for the move / violet against with weight 0.95 * sqrt(|R| / scale),
so level = round(255 * sqrt(...)) keeps the steps even on screen. Critic saliency is drawn as
the videos draw it, yellow outlines at 20% and 50% of its scale, rendered here by
``colormaps.outline`` into RGBA tiles at the page's map size. Tiles of many steps are packed
into one atlas image per layer and chunk of steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rlviz.present import colormaps
from rlviz.present.colormaps import (
    ACTOR_STRENGTH,
    LRP_AGAINST_RGB,
    LRP_FOR_RGB,
    RELEVANCE_STRENGTH,
    SALIENCY_ACTOR_RGB,
)

CHUNK = 100  # steps per atlas image
COLUMNS = 10  # tiles per atlas row
ZERO = 128  # the level of zero relevance
FAINT = 3  # levels this close to zero (opacity under 2.3%, invisible on screen) are stored as zero; on 120
# steps of pong-early this made the saliency atlases 12% smaller (the LRP atlases 1%)


def saliency_levels(values: np.ndarray, scale: float) -> np.ndarray:
    """uint8 levels round(255 * sqrt(clip(values / scale, 0, 1))), those below FAINT as 0; an
    empty scale gives zeros."""
    if not np.isfinite(scale) or scale <= 0:
        return np.zeros(values.shape, np.uint8)
    t = np.clip(np.asarray(values, np.float64) / scale, 0.0, 1.0)
    levels = np.rint(255.0 * np.sqrt(t))
    return np.where(levels < FAINT, 0, levels).astype(np.uint8)


def relevance_levels(values: np.ndarray, scale: float) -> np.ndarray:
    """uint8 levels 128 + sign * round(127 * sqrt(clip(|values| / scale, 0, 1))): 128 is zero,
    and so is a magnitude below FAINT."""
    if not np.isfinite(scale) or scale <= 0:
        return np.full(values.shape, ZERO, np.uint8)
    v = np.asarray(values, np.float64)
    mag = np.rint(127.0 * np.sqrt(np.clip(np.abs(v) / scale, 0.0, 1.0)))
    mag[mag < FAINT] = 0
    return (ZERO + np.where(v >= 0, mag, -mag)).astype(np.uint8)


def saliency_palette(colour: tuple[int, int, int]) -> tuple[list[int], bytes]:
    """(RGB palette, alpha per level): one colour, opacity growing with the level."""
    alpha = bytes(round(255 * ACTOR_STRENGTH * i / 255) for i in range(256))
    return list(colour) * 256, alpha


def relevance_palette() -> tuple[list[int], bytes]:
    """(RGB palette, alpha per level): violet below level 128, red from it, opacity |level - 128|."""
    rgb: list[int] = []
    alpha = bytearray()
    for i in range(256):
        rgb += list(LRP_FOR_RGB if i >= ZERO else LRP_AGAINST_RGB)
        alpha.append(round(255 * RELEVANCE_STRENGTH * min(abs(i - ZERO), 127) / 127))
    return rgb, bytes(alpha)


PALETTES = {
    "actor": saliency_palette(SALIENCY_ACTOR_RGB),
    "relevance": relevance_palette(),
}
MAP_SIZE = (320, 420)  # (width, height) of the page's map canvases: the 160x210 screen at 2x


def critic_outlines(values: np.ndarray, scale: float, width: int = MAP_SIZE[0], height: int = MAP_SIZE[1]) -> np.ndarray:
    """RGBA (height, width, 4) uint8: the videos' critic outlines (``colormaps.outline`` at
    CRITIC_LEVELS of ``scale``, yellow on a dark edge) on a transparent tile. The colour and
    opacity of each pixel come from drawing the same outlines on black and on white: a pixel
    drawn with opacity a over base b reads b * (1 - a) + c * a, so a = 1 - (white - black) / 255
    and c = black / a."""
    t = colormaps.normalise(colormaps.resize_map(values, height, width), scale)
    on_black = colormaps.outline(np.zeros((height, width, 3), np.uint8), t, colormaps.CRITIC_LEVELS,
                                 colormaps.SALIENCY_CRITIC_RGB).astype(np.float64)
    on_white = colormaps.outline(np.full((height, width, 3), 255, np.uint8), t, colormaps.CRITIC_LEVELS,
                                 colormaps.SALIENCY_CRITIC_RGB).astype(np.float64)
    alpha = np.clip(1.0 - (on_white - on_black).mean(axis=-1) / 255.0, 0.0, 1.0)
    colour = np.where(alpha[..., None] > 0, on_black / np.maximum(alpha[..., None], 1e-6), 0.0)
    return np.dstack([np.clip(np.rint(colour), 0, 255), np.rint(255 * alpha)]).astype(np.uint8)


def gray_backdrop(rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8: the frame's gray as ``colormaps.dimmed_gray`` computes it (gain 1, no
    lift); the page dims it by each map's backdrop (gain, lift) when it draws."""
    return colormaps.dimmed_gray(rgb, 1.0, 0)[..., 0]


def palette_image(levels: np.ndarray, palette: str) -> Image.Image:
    """An 8-bit palette image of ``levels`` with the named palette and its transparency."""
    rgb, alpha = PALETTES[palette]
    img = Image.fromarray(np.ascontiguousarray(levels, np.uint8), mode="P")
    img.putpalette(rgb)
    img.info["transparency"] = alpha
    return img


def tile_origin(index: int, width: int, height: int) -> tuple[int, int]:
    """(x, y) of a step's tile in its chunk's atlas (the page computes the same)."""
    k = index % CHUNK
    return (k % COLUMNS) * width, (k // COLUMNS) * height


class Atlas:
    """Collects one layer's tiles and writes an atlas PNG per ``CHUNK`` steps to
    ``folder/<chunk>.png``. ``mode``: 'RGB' (frames), 'L' (observations, gray backdrops),
    'RGBA' (critic outlines) or a palette name."""

    def __init__(self, folder: Path, width: int, height: int, mode: str) -> None:
        self.folder, self.width, self.height, self.mode = Path(folder), width, height, mode
        self.folder.mkdir(parents=True, exist_ok=True)
        self._tiles: dict[int, np.ndarray] = {}
        self._chunk = -1

    def add(self, index: int, tile: np.ndarray) -> None:
        chunk = index // CHUNK
        if chunk != self._chunk:
            self.flush()
            self._chunk = chunk
        self._tiles[index] = tile

    def flush(self) -> None:
        if not self._tiles:
            return
        rows = (max(k % CHUNK for k in self._tiles) // COLUMNS) + 1
        shape = (rows * self.height, COLUMNS * self.width) + ({"RGB": (3,), "RGBA": (4,)}.get(self.mode, ()))
        fill = ZERO if self.mode == "relevance" else 0
        canvas = np.full(shape, fill, np.uint8)
        for index, tile in self._tiles.items():
            x, y = tile_origin(index, self.width, self.height)
            canvas[y : y + self.height, x : x + self.width] = tile
        if self.mode in ("RGB", "RGBA", "L"):
            img = Image.fromarray(canvas, mode=self.mode)
        else:
            img = palette_image(canvas, self.mode)
        img.save(self.folder / f"{self._chunk}.png", compress_level=9)  # not optimize=True: it renumbers palette levels
        self._tiles.clear()
