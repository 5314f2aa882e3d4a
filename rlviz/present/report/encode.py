"""Maps and frames as compact images for the report page.

Each explanation map is stored as one byte per pixel in a *palette* PNG whose palette carries
the colour and the transparency of every level: the browser draws it over the game frame as
it is, with no pixel work in JavaScript (a canvas that drew a file:// image may not read its
pixels back). The levels follow the videos' colour maps (:mod:`rlviz.present.colormaps`):
saliency is shown with weight sqrt(value / scale), LRP with weight sqrt(|R| / scale) in red
(for the move) or blue (against), so level = round(255 * sqrt(...)) keeps the steps even on
screen. Tiles of many steps are packed into one atlas image per layer and chunk of steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rlviz.present.colormaps import ACTOR_RGB, CRITIC_RGB, NEGATIVE_RGB, POSITIVE_RGB

CHUNK = 100  # steps per atlas image
COLUMNS = 10  # tiles per atlas row
SALIENCY_STRENGTH = 0.85  # the videos' saliency blend weight at full scale
RELEVANCE_STRENGTH = 0.95  # the videos' LRP blend weight at full scale
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
    alpha = bytes(round(255 * SALIENCY_STRENGTH * i / 255) for i in range(256))
    return list(colour) * 256, alpha


def relevance_palette() -> tuple[list[int], bytes]:
    """(RGB palette, alpha per level): blue below level 128, red from it, opacity |level - 128|."""
    rgb: list[int] = []
    alpha = bytearray()
    for i in range(256):
        rgb += list(POSITIVE_RGB if i >= ZERO else NEGATIVE_RGB)
        alpha.append(round(255 * RELEVANCE_STRENGTH * min(abs(i - ZERO), 127) / 127))
    return rgb, bytes(alpha)


PALETTES = {
    "actor": saliency_palette(ACTOR_RGB),
    "critic": saliency_palette(CRITIC_RGB),
    "relevance": relevance_palette(),
}


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
    ``folder/<chunk>.png``. ``mode``: 'RGB' (frames), 'L' (observations) or a palette name."""

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
        shape = (rows * self.height, COLUMNS * self.width) + ((3,) if self.mode == "RGB" else ())
        fill = ZERO if self.mode == "relevance" else 0
        canvas = np.full(shape, fill, np.uint8)
        for index, tile in self._tiles.items():
            x, y = tile_origin(index, self.width, self.height)
            canvas[y : y + self.height, x : x + self.width] = tile
        if self.mode in ("RGB", "L"):
            img = Image.fromarray(canvas, mode=self.mode)
        else:
            img = palette_image(canvas, self.mode)
        img.save(self.folder / f"{self._chunk}.png", compress_level=9)  # not optimize=True: it renumbers palette levels
        self._tiles.clear()
