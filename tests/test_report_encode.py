"""How the report page's data is encoded (``rlviz.present.report.encode``), without building a
report: palette levels and palettes in closed form, the critic outlines against the videos'
own drawing on any backdrop, the gray backdrop against the ITU-R 601 luma, and the atlases
read back from the PNG files the page loads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rlviz.present import colormaps
from rlviz.present.report import encode


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_a_scale_that_is_not_a_positive_number_encodes_nothing(scale):
    values = np.ones((2, 3), np.float32)
    sal = encode.saliency_levels(values, scale)
    rel = encode.relevance_levels(-values, scale)
    assert sal.dtype == rel.dtype == np.uint8 and sal.shape == rel.shape == (2, 3)
    assert (sal == 0).all() and (rel == encode.ZERO).all()


def test_the_faintest_level_kept_is_faint_itself_on_both_scales():
    scale = 1.0
    at = lambda level, top: (level / top) ** 2  # the value whose level is exactly ``level``
    values = np.array([at(2, 255), at(3, 255), at(4, 255)])
    assert encode.saliency_levels(values, scale).tolist() == [0, 3, 4]
    signed = np.array([at(2, 127), at(3, 127), -at(3, 127), -at(2, 127)])
    assert encode.relevance_levels(signed, scale).tolist() == [128, 131, 125, 128]


@pytest.mark.filterwarnings("error")  # a negative value is clipped, never the square root of a negative number
def test_levels_are_uint8_of_the_maps_shape_and_negative_saliency_is_zero():
    values = np.array([[-5.0, 0.25], [1.0, 9.0]], np.float32)
    sal = encode.saliency_levels(values, 1.0)
    assert sal.dtype == np.uint8 and sal.tolist() == [[0, 128], [255, 255]]
    rel = encode.relevance_levels(values, 4.0)  # |-5| / 4 clips to 1: the deepest violet
    assert rel.dtype == np.uint8 and rel.tolist() == [[1, 128 + 32], [128 + 64, 255]]  # sqrt(1/16) = 1/4, sqrt(1/4)


def test_every_level_of_the_saliency_palette_is_the_fill_colour_at_its_weight():
    colour = (1, 2, 3)
    rgb, alpha = encode.saliency_palette(colour)
    assert rgb == [1, 2, 3] * 256
    assert isinstance(alpha, bytes) and list(alpha) == [round(255 * colormaps.ACTOR_STRENGTH * i / 255) for i in range(256)]
    assert encode.PALETTES["actor"] == encode.saliency_palette(colormaps.SALIENCY_ACTOR_RGB)


def test_every_level_of_the_relevance_palette_is_violet_below_128_and_red_from_it():
    rgb, alpha = encode.relevance_palette()
    want_rgb, want_alpha = [], []
    for i in range(256):  # written out: |level - 128| of 127 is full weight; level 0 is clipped to 127 too
        want_rgb += colormaps.LRP_FOR_RGB if i >= 128 else colormaps.LRP_AGAINST_RGB
        want_alpha.append(round(255 * colormaps.RELEVANCE_STRENGTH * min(abs(i - 128), 127) / 127))
    assert rgb == list(want_rgb) and len(rgb) == 3 * 256
    assert isinstance(alpha, bytes) and list(alpha) == want_alpha
    assert alpha[0] == alpha[1] == alpha[255] == round(255 * colormaps.RELEVANCE_STRENGTH)
    assert encode.PALETTES["relevance"] == (rgb, alpha)


def _blob(peak: float = 1.0) -> np.ndarray:
    ys, xs = np.mgrid[0:84, 0:84]
    return (peak * np.exp(-((ys - 40) ** 2 + (xs - 30) ** 2) / (2 * 12.0**2))).astype(np.float32)


@pytest.mark.parametrize("backdrop", [0, 90, 200, 255, "ramp"])
def test_critic_outlines_laid_over_any_backdrop_are_the_videos_outlines_drawn_on_it(backdrop):
    values, scale = _blob(2.0), 2.0
    tile = encode.critic_outlines(values, scale)
    w, h = encode.MAP_SIZE
    assert tile.shape == (h, w, 4) and tile.dtype == np.uint8
    if backdrop == "ramp":
        base = np.repeat(np.linspace(0, 255, w)[None, :, None], h, 0).repeat(3, 2).astype(np.uint8)
    else:
        base = np.full((h, w, 3), backdrop, np.uint8)
    a = tile[..., 3:].astype(float) / 255
    page = base * (1 - a) + tile[..., :3] * a  # what the browser shows
    video = colormaps.outline(base, colormaps.normalise(colormaps.resize_map(values, h, w), scale),
                              colormaps.CRITIC_LEVELS, colormaps.SALIENCY_CRITIC_RGB).astype(float)
    assert (tile[..., 3] > 0).mean() > 0.005  # there are lines
    assert np.abs(page - video).max() <= 4  # 8-bit colour and opacity


def test_critic_outlines_fit_the_tile_size_asked_for_and_follow_the_scale():
    values = _blob(1.0)
    tile = encode.critic_outlines(values, 1.0, width=100, height=60)
    assert tile.shape == (60, 100, 4)
    t = colormaps.normalise(colormaps.resize_map(values, 60, 100), 1.0)
    gray = np.full((60, 100, 3), 128, np.uint8)
    drawn = colormaps.outline(gray, t, colormaps.CRITIC_LEVELS, colormaps.SALIENCY_CRITIC_RGB) != gray
    assert ((tile[..., 3] > 0) == drawn.any(-1)).mean() > 0.99  # opaque where the video draws, clear elsewhere
    # at four times the scale the map peaks at 0.25: only the 20% line is left, so fewer pixels
    assert 0 < (encode.critic_outlines(values, 4.0, 100, 60)[..., 3] > 0).sum() < (tile[..., 3] > 0).sum()
    assert not encode.critic_outlines(values, 0.0, 100, 60).any()  # no scale: a transparent tile


def test_gray_backdrop_is_the_frames_luma_at_full_gain():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    gray = encode.gray_backdrop(rgb)
    want = np.rint(rgb.astype(float) @ [0.299, 0.587, 0.114])
    assert gray.shape == (7, 5) and gray.dtype == np.uint8
    assert np.abs(gray - want).max() <= 1  # cv2's fixed-point rounding
    assert encode.gray_backdrop(np.full((2, 2, 3), 255, np.uint8)).tolist() == [[255, 255], [255, 255]]
    assert encode.gray_backdrop(np.zeros((2, 2, 3), np.uint8)).tolist() == [[0, 0], [0, 0]]


def test_tile_origin_counts_columns_then_rows_within_a_chunk():
    assert encode.tile_origin(0, 10, 20) == (0, 0)
    assert encode.tile_origin(9, 10, 20) == (90, 0)
    assert encode.tile_origin(10, 10, 20) == (0, 20)
    assert encode.tile_origin(257, 10, 20) == (70, 100)  # step 57 of chunk 2: row 5, column 7
    assert encode.tile_origin(199, 3, 7) == (27, 63)


def test_a_palette_image_carries_the_named_palette_and_its_transparency():
    levels = np.array([[0, 128, 255]], np.uint8)
    img = encode.palette_image(levels, "relevance")
    assert img.mode == "P" and np.asarray(img).tolist() == [[0, 128, 255]]
    rgba = np.asarray(img.convert("RGBA"))[0]
    rgb, alpha = encode.PALETTES["relevance"]
    for k, level in enumerate((0, 128, 255)):
        assert tuple(rgba[k]) == (*rgb[3 * level : 3 * level + 3], alpha[level])


def _atlas_png(folder, chunk):
    return Image.open(folder / f"{chunk}.png")


@pytest.mark.parametrize("mode,shape", [("RGB", (3,)), ("L", ()), ("RGBA", (4,))])
def test_an_atlas_of_plain_images_holds_each_tile_on_black_and_as_many_rows_as_used(tmp_path, mode, shape):
    atlas = encode.Atlas(tmp_path / "layer", 4, 3, mode)
    tile = np.full((3, 4, *shape), 200, np.uint8)
    atlas.add(12, tile)  # row 1, column 2
    atlas.flush()
    img = _atlas_png(tmp_path / "layer", 0)
    assert img.mode == mode and img.size == (encode.COLUMNS * 4, 2 * 3)
    got = np.asarray(img)
    np.testing.assert_array_equal(got[3:6, 8:12], tile)
    rest = got.copy()
    rest[3:6, 8:12] = 0
    assert not rest.any()  # the slots of steps not added are black (transparent for RGBA)


def test_a_relevance_atlas_leaves_the_slots_of_missing_steps_at_zero_relevance(tmp_path):
    atlas = encode.Atlas(tmp_path, 2, 2, "relevance")
    atlas.add(1, np.full((2, 2), 200, np.uint8))
    atlas.flush()
    got = np.asarray(_atlas_png(tmp_path, 0))
    assert got.shape == (2, encode.COLUMNS * 2)
    assert (got[:, 2:4] == 200).all() and (got[:, :2] == encode.ZERO).all() and (got[:, 4:] == encode.ZERO).all()
    atlas = encode.Atlas(tmp_path / "actor", 2, 2, "actor")
    atlas.add(1, np.full((2, 2), 200, np.uint8))
    atlas.flush()
    img = _atlas_png(tmp_path / "actor", 0)
    assert img.mode == "P" and (np.asarray(img)[:, :2] == 0).all()
    assert np.asarray(img.convert("RGBA"))[0, 2, 3] == encode.PALETTES["actor"][1][200]


def test_an_atlas_writes_one_file_per_chunk_and_nothing_when_empty(tmp_path):
    atlas = encode.Atlas(tmp_path, 2, 2, "L")
    atlas.flush()
    assert list(tmp_path.iterdir()) == []
    for k in (5, 99, 100, 250):
        atlas.add(k, np.full((2, 2), k % 256, np.uint8))
    atlas.flush()
    atlas.flush()  # a second flush has nothing left to write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "1.png", "2.png"]
    for k in (5, 99, 100, 250):
        x, y = encode.tile_origin(k, 2, 2)
        got = np.asarray(_atlas_png(tmp_path, k // encode.CHUNK))
        assert (got[y : y + 2, x : x + 2] == k % 256).all(), k
    assert np.asarray(_atlas_png(tmp_path, 1)).shape == (2, encode.COLUMNS * 2)  # chunk 1 holds step 100 alone
    assert np.asarray(_atlas_png(tmp_path, 0)).shape == (20, encode.COLUMNS * 2)  # step 99 is on row 9


def test_an_atlas_makes_its_folder_with_the_folders_above_it(tmp_path):
    atlas = encode.Atlas(tmp_path / "report" / "img" / "frame", 2, 2, "RGB")
    assert (tmp_path / "report" / "img" / "frame").is_dir()
    encode.Atlas(tmp_path / "report" / "img" / "frame", 2, 2, "RGB")  # a second layer object over the same folder
    atlas.add(0, np.zeros((2, 2, 3), np.uint8))
    atlas.flush()
    assert (tmp_path / "report" / "img" / "frame" / "0.png").is_file()


def test_atlases_are_written_at_zlibs_strongest_compression(tmp_path):
    rng = np.random.default_rng(1)
    atlas = encode.Atlas(tmp_path, 20, 20, "L")
    for k in range(30):  # runs of random gray levels: zlib's level 9 finds a smaller file than its default 6
        atlas.add(k, np.repeat(rng.integers(0, 256, (20, 2)), 10, 1).astype(np.uint8))
    atlas.flush()
    written = (tmp_path / "0.png").stat().st_size
    img = Image.open(tmp_path / "0.png")
    sizes = {}
    for level in (6, 9):
        img.save(tmp_path / f"again{level}.png", compress_level=level)
        sizes[level] = (tmp_path / f"again{level}.png").stat().st_size
    assert sizes[9] < sizes[6] and written == sizes[9]


def _around_each_half_level(top: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 values at and next to each boundary ((L + 1/2) / top)^2 between two levels, and
    each one's level from exact rational arithmetic (no float rounding at all; 0.25 is a tie)."""
    from fractions import Fraction

    values, levels = [], []
    for level in range(3, top):
        edge = Fraction(2 * level + 1, 2 * top) ** 2
        v = np.float32(float(edge))
        for w in (np.nextafter(v, np.float32(0)), v, np.nextafter(v, np.float32(1))):
            values.append(w)
            exact = Fraction(float(w))
            up = exact > edge or (exact == edge and level % 2 == 1)  # a tie rounds to even, as round() does
            levels.append(level + 1 if up else level)
    return np.array(values, np.float32), np.array(levels)


def test_a_float32_map_is_levelled_by_its_exact_values_not_float32_arithmetic():
    values, levels = _around_each_half_level(255)
    assert encode.saliency_levels(values, 1.0).tolist() == levels.tolist()
    values, levels = _around_each_half_level(127)
    assert encode.relevance_levels(values, 1.0).tolist() == (128 + levels).tolist()
    assert encode.relevance_levels(-values, 1.0).tolist() == (128 - levels).tolist()
