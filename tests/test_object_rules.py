"""The objects' names, segmentation details and shares, on hand-made pieces and frames.

The name rules (explain/objects/games.py) are read at each edge their docstrings state: a piece
is given a Blob whose box sits exactly on a documented boundary and just past it. Fractions of
the form k/100 equal the literals they are compared with (IEEE division is correctly rounded),
so the edges are exact. Segmentation is checked on small synthetic frames with known pieces."""

from __future__ import annotations

import numpy as np
import pytest

from rlviz.explain.objects import find_objects, label_image, mean_shares, object_shares, top_objects
from rlviz.explain.objects.games import GAMES, Blob, blob, breakout, pong, rules_for, space_invaders
from rlviz.explain.objects.segment import SceneObject, check_pair, difference_masks
from rlviz.explain.objects.shares import Shares, mass, shares_on_labels
from rlviz.util.errors import RlvizError


def piece(cy: float = 0.5, cx: float = 0.5, *, top: float | None = None, bottom: float | None = None,
          height: int = 2, width: int = 2, area: int | None = None) -> Blob:
    """A Blob centred on (cy, cx) (fractions), or spanning [top, bottom) when given."""
    top = cy if top is None else top
    bottom = cy if bottom is None else bottom
    if top != bottom:
        cy = (top + bottom) / 2
    return Blob(top, bottom, cx, cx, height, width, height * width if area is None else area, 1.0)


# Pong ---------------------------------------------------------------------------------------


def test_pong_pieces_in_the_top_band_are_the_scores_left_the_opponents_right_the_agents() -> None:
    assert pong(piece(top=0.02, bottom=0.13, cx=0.3)) == "opponent's score"  # bottom 0.13: still in the band
    assert pong(piece(top=0.02, bottom=0.13, cx=0.49)) == "opponent's score"
    assert pong(piece(top=0.02, bottom=0.13, cx=0.5)) == "agent's score"  # the middle belongs to the agent
    assert pong(piece(top=0.02, bottom=0.13, cx=0.75)) == "agent's score"
    assert pong(piece(top=0.02, bottom=0.14, cx=0.3, height=1)) == "ball"  # reaches below the band


@pytest.mark.parametrize("side, lo, hi", [("opponent's paddle", 0.08, 0.14), ("agent's paddle", 0.85, 0.91)])
def test_pong_paddles_are_narrow_pieces_in_their_columns(side: str, lo: float, hi: float) -> None:
    mid = (lo + hi) / 2
    assert pong(piece(0.5, lo, height=8, width=2)) == side  # both column edges belong to the paddle
    assert pong(piece(0.5, hi, height=8, width=2)) == side
    assert pong(piece(0.5, lo - 0.01, height=8, width=2)) == "ball"
    assert pong(piece(0.5, hi + 0.01, height=8, width=2)) == "ball"
    assert pong(piece(0.5, mid, height=8, width=4)) == side  # up to 4 px wide
    assert pong(piece(0.5, mid, height=8, width=5)) == "ball"
    assert pong(piece(0.5, mid, height=4, width=2)) == side  # 4 rows or more mid-court
    assert pong(piece(0.5, mid, height=3, width=2)) == "ball"  # a ball passing the paddle's column


@pytest.mark.parametrize("side, cx", [("opponent's paddle", 0.11), ("agent's paddle", 0.88)])
def test_pong_a_paddle_cut_by_a_wall_may_show_only_a_few_rows(side: str, cx: float) -> None:
    assert pong(piece(cx=cx, top=0.19, bottom=0.21, height=2)) == side  # cut by the top wall
    assert pong(piece(cx=cx, top=0.2, bottom=0.22, height=2)) == "ball"
    assert pong(piece(cx=cx, top=0.88, bottom=0.9, height=2)) == side  # cut by the bottom wall
    assert pong(piece(cx=cx, top=0.87, bottom=0.89, height=2)) == "ball"


# Breakout -----------------------------------------------------------------------------------


def test_breakout_top_band_holds_the_score_and_the_lives_between_58_and_78_percent() -> None:
    band = {"top": 0.02, "bottom": 0.1, "height": 5, "width": 5}
    assert breakout(piece(cx=0.58, **band)) == "lives"
    assert breakout(piece(cx=0.78, **band)) == "lives"
    assert breakout(piece(cx=0.57, **band)) == "score"
    assert breakout(piece(cx=0.79, **band)) == "score"
    assert breakout(piece(cx=0.3, **band)) == "score"
    assert breakout(piece(cx=0.3, top=0.02, bottom=0.11, height=5, width=5)) is None  # below the band: no rule names it


def test_breakout_ball_is_a_small_piece_anywhere_below_the_band() -> None:
    for cy in (0.3, 0.6, 0.9):  # in the bricks, mid-screen, at the paddle's rows
        assert breakout(piece(cy, 0.5, height=4, width=3)) == "ball"
    assert breakout(piece(0.6, 0.5, height=5, width=3)) is None
    assert breakout(piece(0.6, 0.5, height=4, width=4)) is None


def test_breakout_bricks_lie_between_26_and_46_percent_and_the_paddle_from_86() -> None:
    assert breakout(piece(0.26, 0.5, height=2, width=8)) == "bricks"
    assert breakout(piece(0.46, 0.5, height=2, width=8)) == "bricks"
    assert breakout(piece(0.25, 0.5, height=2, width=8)) is None
    assert breakout(piece(0.47, 0.5, height=2, width=8)) is None
    assert breakout(piece(0.86, 0.5, height=2, width=16)) == "paddle"
    assert breakout(piece(0.85, 0.5, height=2, width=16)) is None
    assert breakout(piece(top=0.3, bottom=0.42, cx=0.5, height=10, width=8)) == "bricks"  # judged by its centre


# SpaceInvaders ------------------------------------------------------------------------------


def test_space_invaders_rows_from_top_to_bottom_are_score_invaders_shields_cannon() -> None:
    assert space_invaders(piece(top=0.02, bottom=0.13, height=5, width=8)) == "score"
    assert space_invaders(piece(top=0.02, bottom=0.14, height=5, width=8)) == "invaders"
    assert space_invaders(piece(0.72, 0.5, height=5, width=8)) == "invaders"
    assert space_invaders(piece(0.73, 0.5, height=5, width=8)) == "shields"
    assert space_invaders(piece(0.85, 0.5, height=5, width=8)) == "shields"
    assert space_invaders(piece(0.86, 0.5, height=5, width=8)) == "cannon"
    assert space_invaders(piece(top=0.8, bottom=0.92, cx=0.5, height=5, width=8)) == "cannon"  # judged by its centre


def test_space_invaders_bullets_are_one_pixel_wide_or_two_wide_and_tiny() -> None:
    assert space_invaders(piece(0.5, 0.5, height=8, width=1)) == "bullets"
    assert space_invaders(piece(0.9, 0.5, height=8, width=1)) == "bullets"  # even beside the cannon
    assert space_invaders(piece(0.5, 0.5, height=2, width=2, area=5)) == "bullets"
    assert space_invaders(piece(0.5, 0.5, height=3, width=2, area=6)) == "invaders"
    assert space_invaders(piece(0.5, 0.5, height=2, width=3, area=5)) == "invaders"


# rules_for and blob -------------------------------------------------------------------------


@pytest.mark.parametrize("spelling, game", [
    ("Pong", "Pong"), ("PongNoFrameskip-v4", "Pong"), ("ALE/Pong-v5", "Pong"), ("pong", "Pong"),
    ("BreakoutNoFrameskip-v4", "Breakout"), ("ALE/Breakout-v5", "Breakout"),
    ("SpaceInvaders", "SpaceInvaders"), ("ALE/SpaceInvaders-v5", "SpaceInvaders"), ("space_invaders", "SpaceInvaders"),
])
def test_every_spelling_of_a_bundled_game_finds_its_rules(spelling: str, game: str) -> None:
    assert rules_for(spelling) is GAMES[game]


@pytest.mark.parametrize("game", [None, "Tennis", "ALE/MsPacman-v5", "PongPong"])
def test_other_games_have_no_rules(game: str | None) -> None:
    assert rules_for(game) is None


def test_a_blob_is_the_box_of_its_mask_in_fractions_with_its_size_and_brightness() -> None:
    mask = np.zeros((10, 20), bool)
    mask[2:5, 4:10] = True
    mask[4, 4:10] = False  # 2 full rows + nothing in row 4 ... box rows 2-3
    mask[2, 12] = True  # one pixel further right on row 2
    brighter = np.zeros((10, 20), bool)
    brighter[2] = True  # row 2: 7 of the 13 pixels
    b = blob(mask, brighter)
    assert (b.top, b.bottom, b.left, b.right) == (0.2, 0.4, 0.2, 0.65)
    assert (b.height, b.width, b.area) == (2, 9, 13)
    assert b.brighter == pytest.approx(7 / 13)
    assert (b.cy, b.cx) == pytest.approx((0.3, 0.425))


def test_objects_of_each_bundled_game_come_in_the_games_order() -> None:
    """Breakout on a 100x100 frame: lives, score, bricks, paddle and ball are found and listed
    in the order Breakout's rules give, whatever order the pieces lie in on the screen."""
    bg = np.zeros((100, 100), np.uint8)
    obs = np.zeros((1, 100, 100), np.uint8)
    obs[0, 2:8, 65:70] = 200  # lives (cx 0.675)
    obs[0, 2:8, 20:30] = 200  # score
    obs[0, 33:36, 10:30] = 200  # bricks (cy 0.345)
    obs[0, 90:92, 40:56] = 200  # paddle
    obs[0, 60:62, 50:52] = 200  # ball
    assert [o.name for o in find_objects(obs, bg, "Breakout")] == ["ball", "paddle", "bricks", "score", "lives"]
    obs = np.zeros((1, 100, 100), np.uint8)
    obs[0, 2:8, 20:30] = 200  # score
    obs[0, 78:82, 10:20] = 200  # shields (cy 0.8)
    obs[0, 40:44, 30:38] = 200  # invaders
    obs[0, 50:58, 60] = 200  # a bullet
    obs[0, 90:94, 40:46] = 200  # cannon
    assert [o.name for o in find_objects(obs, bg, "SpaceInvaders")] == ["cannon", "bullets", "invaders", "shields", "score"]


# segmentation -------------------------------------------------------------------------------


def test_a_pixel_is_an_object_pixel_only_beyond_the_threshold_brighter_or_darker() -> None:
    bg = np.full((4, 4), 100, np.uint8)
    obs = np.full((1, 4, 4), 100, np.uint8)
    obs[0, 0, 0], obs[0, 0, 1] = 110, 111  # 10 levels: not yet; 11: yes
    obs[0, 1, 0], obs[0, 1, 1] = 90, 89
    obs[0, 2, 0] = 95  # darker by 5: uint8 arithmetic would wrap this to 251
    want = np.zeros((1, 4, 4), bool)
    want[0, 0, 1] = want[0, 1, 1] = True
    assert np.array_equal(difference_masks(obs, bg), want)
    assert np.array_equal(difference_masks(obs, bg, threshold=4), obs != 100)


def test_a_single_frame_and_a_stacked_background_are_accepted() -> None:
    bg = np.zeros((3, 6, 6), np.uint8)
    bg[-1] = 50  # the newest frame of a stacked background is the one used
    frame = np.full((6, 6), 50, np.uint8)
    frame[2:4, 2:4] = 200
    obs, one = check_pair(frame, bg)
    assert obs.shape == (1, 6, 6) and one.shape == (6, 6) and (one == 50).all()
    objects = find_objects(frame, bg, None, dilate=0)
    assert len(objects) == 1 and objects[0].masks.shape == (1, 6, 6) and objects[0].masks.sum() == 4


def test_observations_of_another_rank_are_refused_in_words() -> None:
    with pytest.raises(RlvizError, match=r"^objects are found in one observation \(C, H, W\), got shape \(2, 4, 6, 6\)$"):
        find_objects(np.zeros((2, 4, 6, 6), np.uint8), np.zeros((6, 6), np.uint8))
    with pytest.raises(RlvizError, match=r"^background \(5, 5\) does not fit observations \(6, 6\); compute it for "
                                         r"this agent's pipeline \(rlviz objects --background --agent A\)$"):
        check_pair(np.zeros((4, 6, 6), np.uint8), np.zeros((5, 5), np.uint8))


def test_diagonal_neighbours_are_one_piece() -> None:
    bg = np.zeros((10, 10), np.uint8)
    obs = np.zeros((1, 10, 10), np.uint8)
    obs[0, 2, 2] = obs[0, 3, 3] = obs[0, 4, 4] = 255  # touching only at corners
    obs[0, 7, 7] = 255  # apart
    objects = find_objects(obs, bg, None, dilate=0)
    assert [int(o.masks.sum()) for o in objects] == [3, 1]


def test_dilation_grows_a_pixel_into_a_square_of_side_2d_plus_1() -> None:
    bg = np.zeros((12, 12), np.uint8)
    obs = np.zeros((1, 12, 12), np.uint8)
    obs[0, 6, 6] = 255
    for d, side in ((0, 1), (1, 3), (2, 5)):
        (o,) = find_objects(obs, bg, None, dilate=d)
        assert o.box == (6 - d, 6 - d, 7 + d, 7 + d) and o.masks.sum() == side * side
        assert o.masks.dtype == bool  # masks index frames: obs[o.masks]


@pytest.mark.parametrize("dy, dx", [(1, 0), (-1, 0), (0, 1), (0, -1)])
def test_a_piece_continues_a_track_within_link_pixels_in_every_direction(dy: int, dx: int) -> None:
    bg = np.zeros((30, 30), np.uint8)
    for gap, tracks in ((3, 1), (4, 2)):  # gap: empty rows/columns between the two boxes, plus one
        obs = np.zeros((2, 30, 30), np.uint8)
        obs[0, 13:15, 13:15] = 255
        r, c = 13 + dy * (gap + 1), 13 + dx * (gap + 1)
        obs[1, r:r + 2, c:c + 2] = 255
        assert len(find_objects(obs, bg, None, dilate=0, link=3)) == tracks, gap


def test_a_piece_joins_the_nearest_of_two_tracks_it_touches() -> None:
    bg = np.zeros((40, 40), np.uint8)
    for axis in (0, 1):
        obs = np.zeros((2, 40, 40), np.uint8)
        near, far, moved = (16, 17), (7, 8), (13, 14)  # rows (axis 0) or columns (axis 1); both within 5 px
        for t, span in ((0, near), (0, far), (1, moved)):
            sl = [slice(20, 22), slice(20, 22)]
            sl[axis] = slice(span[0], span[1] + 1)
            obs[(t, *sl)] = 255
        objects = find_objects(obs, bg, None, dilate=0, link=5)
        assert len(objects) == 2
        (joined,) = [o for o in objects if o.masks[0].take(near[0], axis=axis).any()]  # the near track
        assert joined.masks[1].sum() == 4, axis  # it continues with the moved piece
        (other,) = [o for o in objects if o is not joined]
        assert other.masks[1].sum() == 0, axis


def test_two_pieces_of_one_frame_never_share_a_track() -> None:
    bg = np.zeros((20, 20), np.uint8)
    obs = np.zeros((2, 20, 20), np.uint8)
    obs[0, 5:7, 5:7] = 255
    obs[1, 5:7, 4:6] = 255  # both pieces of frame 1 touch the one of frame 0
    obs[1, 5:7, 8:10] = 255
    objects = find_objects(obs, bg, None, dilate=0, link=3)
    assert len(objects) == 2
    assert sorted(int(o.masks[1].sum()) for o in objects) == [4, 4]


def test_unnamed_objects_are_numbered_by_their_top_row_then_left_column() -> None:
    bg = np.zeros((30, 30), np.uint8)
    obs = np.zeros((1, 30, 30), np.uint8)
    obs[0, 20:22, 2:4] = 255  # bottom left
    obs[0, 3:5, 25:27] = 255  # top right
    obs[0, 3:5, 10:12] = 255  # top, further left
    objects = find_objects(obs, bg, None, dilate=0)
    assert [(o.name, o.box) for o in objects] == [("object 1", (3, 10, 5, 12)), ("object 2", (3, 25, 5, 27)),
                                                   ("object 3", (20, 2, 22, 4))]
    assert all(o.masks.dtype == bool for o in objects)


def test_an_object_is_numbered_by_the_highest_place_it_reaches_in_any_frame() -> None:
    bg = np.zeros((30, 30), np.uint8)
    obs = np.zeros((2, 30, 30), np.uint8)
    obs[:, 10:12, 20:22] = 255  # still, at row 10
    obs[0, 12:14, 2:4] = 255  # a piece moving up from row 12 to row 9: above the still one in frame 2 only
    obs[1, 9:11, 2:4] = 255
    objects = find_objects(obs, bg, None, dilate=0, link=3)
    assert [(o.name, o.box) for o in objects] == [("object 1", (9, 2, 14, 4)), ("object 2", (10, 20, 12, 22))]


@pytest.mark.parametrize("small_first", [True, False], ids=["small-first", "big-first"])
def test_a_pixel_two_objects_cover_goes_to_the_smaller_one_whatever_their_order(small_first: bool) -> None:
    big = np.zeros((1, 10, 10), bool)
    big[0, 2:8, 2:8] = True
    small = np.zeros((1, 10, 10), bool)
    small[0, 4:6, 4:6] = True
    objects = [SceneObject("small", small), SceneObject("big", big)]
    labels = label_image(objects if small_first else objects[::-1], (10, 10))
    small_label, big_label = (1, 2) if small_first else (2, 1)
    assert (labels[4:6, 4:6] == small_label).all() and (labels == big_label).sum() == 36 - 4
    assert (labels == 0).sum() == 100 - 36 and labels.dtype.kind == "i"


def test_the_box_of_an_object_is_its_footprint_over_all_frames() -> None:
    masks = np.zeros((2, 10, 10), bool)
    masks[0, 2:4, 3:5] = True
    masks[1, 5:7, 1:2] = True
    assert SceneObject("x", masks).box == (2, 1, 7, 5)


def test_pieces_a_rule_cannot_name_are_numbered_after_the_named_ones() -> None:
    bg = np.zeros((100, 100), np.uint8)
    obs = np.zeros((1, 100, 100), np.uint8)
    obs[0, 60:62, 50:52] = 200  # a ball
    obs[0, 60:70, 10:30] = 200  # a large piece mid-screen: Breakout's rules have no name for it
    assert [o.name for o in find_objects(obs, bg, "Breakout")] == ["ball", "object 1"]


# shares -------------------------------------------------------------------------------------


def test_a_map_of_another_rank_or_size_is_refused_in_words() -> None:
    objects = [SceneObject("a", np.ones((1, 4, 4), bool))]
    with pytest.raises(RlvizError, match=r"^a map is \(H, W\) or \(C, H, W\) for one observation, got shape \(16,\)$"):
        object_shares(np.ones(16), objects)
    with pytest.raises(RlvizError, match=r"^map \(5, 5\) and objects \(4, 4\) differ in size$"):
        object_shares(np.ones((5, 5)), objects)
    with pytest.raises(RlvizError, match=r"^map \(5, 5\) and object labels \(4, 4\) differ in size$"):
        shares_on_labels(np.ones((5, 5)), np.ones((4, 4), int), ["a"])


def test_the_mass_of_a_stacked_map_is_its_absolute_value_summed_over_the_frames() -> None:
    values = np.array([[[1.0, -2.0]], [[-3.0, 0.5]]])
    assert np.array_equal(mass(values), [[4.0, 2.5]])
    assert np.array_equal(mass(values[0]), [[1.0, 2.0]])


def test_a_map_without_finite_mass_gives_zero_shares_for_every_object() -> None:
    objects = [SceneObject("a", np.ones((1, 4, 4), bool)), SceneObject("b", np.zeros((1, 4, 4), bool))]
    for values in (np.zeros((4, 4)), np.full((4, 4), np.nan), np.full((4, 4), np.inf)):
        s = object_shares(values, objects)
        assert s.on_objects == 0.0 and s.by_object == {"a": 0.0, "b": 0.0}
        s = shares_on_labels(values, np.ones((4, 4), int), ["a", "b"])
        assert s.on_objects == 0.0 and s.by_object == {"a": 0.0, "b": 0.0}
    assert shares_on_labels(np.ones((4, 4)), np.ones((4, 4), int), []).to_dict() == {"share_on_objects": 0.0, "by_object": {}}


def test_shares_from_labels_equal_the_shares_from_the_objects() -> None:
    a = np.zeros((2, 6, 6), bool)
    a[0, 0:2, 0:2] = True
    b = np.zeros((2, 6, 6), bool)
    b[1, 4:6, 3:6] = True
    objects = [SceneObject("a", a), SceneObject("b", b)]
    values = np.arange(36, dtype=float).reshape(6, 6) - 10
    total = np.abs(values).sum()
    s = object_shares(values, objects)
    assert s.by_object == pytest.approx({"a": (10 + 9 + 4 + 3) / total, "b": (17 + 18 + 19 + 23 + 24 + 25) / total})
    assert s.on_objects == pytest.approx(sum(s.by_object.values()))
    assert shares_on_labels(values, label_image(objects, (6, 6)), ["a", "b"]) == s
    assert s.to_dict() == {"share_on_objects": s.on_objects, "by_object": s.by_object}


def test_top_objects_are_the_k_largest_shares_above_the_minimum_largest_first() -> None:
    masks = {}
    for k, name in enumerate(["a", "b", "c", "d"]):
        m = np.zeros((1, 1, 5), bool)
        m[0, 0, k] = True
        masks[name] = m
    objects = [SceneObject(n, m) for n, m in masks.items()]
    values = np.array([[1.0, 4.0, 2.0, 3.0, 0.0]])
    assert top_objects(values, objects) == [("b", 0.4), ("d", 0.3), ("c", 0.2)]
    assert top_objects(values, objects, k=1) == [("b", 0.4)]
    assert top_objects(values, objects, k=4, minimum=0.2) == [("b", 0.4), ("d", 0.3)]  # 0.2 is not above 0.2
    assert top_objects(values, objects, k=4) == [("b", 0.4), ("d", 0.3), ("c", 0.2), ("a", 0.1)]


def test_mean_shares_weigh_each_frame_the_same_and_count_a_missing_object_as_zero() -> None:
    frames = [Shares(0.5, {"ball": 0.4, "paddle": 0.1}), Shares(0.9, {"paddle": 0.6, "score": 0.3}), Shares(0.0, {})]
    m = mean_shares(frames)
    assert m.on_objects == pytest.approx(1.4 / 3)
    assert list(m.by_object) == ["ball", "paddle", "score"]  # in order of first appearance
    assert m.by_object == pytest.approx({"ball": 0.4 / 3, "paddle": 0.7 / 3, "score": 0.3 / 3})
    assert mean_shares([]) == Shares(0.0, {})


def test_a_piece_as_near_to_two_tracks_continues_the_one_found_first() -> None:
    bg = np.zeros((30, 30), np.uint8)
    obs = np.zeros((2, 30, 30), np.uint8)
    obs[0, 10:12, 10:12] = 255  # track A (scanned first)
    obs[0, 10:12, 18:20] = 255  # track B, as far on the other side
    obs[1, 10:12, 14:16] = 255
    first, second = find_objects(obs, bg, None, dilate=0, link=5)
    assert first.masks[1].sum() == 4 and second.masks[1].sum() == 0


def test_a_new_track_does_not_keep_an_older_one_from_continuing() -> None:
    bg = np.zeros((30, 30), np.uint8)
    obs = np.zeros((2, 30, 30), np.uint8)
    obs[0, 20:22, 2:4] = 255  # track A
    obs[0, 20:22, 25:27] = 255  # track B
    obs[1, 2:4, 12:14] = 255  # frame 2, scanned first: far from both, a new track
    obs[1, 21:23, 25:27] = 255  # B moved down one row: still B
    obs[1, 20:22, 2:4] = 255  # A still there
    objects = find_objects(obs, bg, None, dilate=0, link=3)
    assert len(objects) == 3 and all(o.masks[1].sum() == 4 for o in objects)


def test_the_threshold_given_is_the_one_used() -> None:
    bg = np.full((20, 20), 100, np.uint8)
    obs = np.full((1, 20, 20), 100, np.uint8)
    obs[0, 2:4, 2:4] = 130  # 30 levels brighter
    obs[0, 10:12, 10:12] = 200  # 100 levels brighter
    assert len(find_objects(obs, bg, None)) == 2
    (strong,) = find_objects(obs, bg, None, threshold=50, dilate=0)
    assert strong.box == (10, 10, 12, 12)


def test_all_pieces_with_one_name_in_a_frame_form_one_object() -> None:
    bg = np.zeros((100, 100), np.uint8)
    obs = np.zeros((2, 100, 100), np.uint8)
    obs[:, 40:44, 10:18] = 200  # two invaders apart in each frame: one object "invaders"
    obs[:, 40:44, 60:68] = 200
    (invaders,) = find_objects(obs, bg, "SpaceInvaders", dilate=0)
    assert invaders.name == "invaders" and invaders.masks.sum() == 2 * 2 * 32
