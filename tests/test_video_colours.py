"""The video's map colours survive every game palette, and the legend explains each of them.

Frames come from the real games (Pong's orange court, Breakout's bricks, SpaceInvaders'
yellow invaders); maps are smooth random blobs. Every pixel of a saliency or LRP panel must be
explained by the legend: a gray (the dimmed frame) mixed with ONE legend colour (the actor
fill, the critic outline with its dark edge, red or violet), never a game colour and never a
mix of two map colours. The interaction panel has no hue at all (white boxes on gray).
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np
import pytest

from rlviz.play.envs import make_env
from rlviz.present import colormaps as cm
from rlviz.present.layout import FrameRenderer, compute_layout, pairs_panel

GAMES = ["Pong", "Breakout", "SpaceInvaders"]


@pytest.fixture(scope="module", params=GAMES)
def game_frame(request) -> np.ndarray:
    env = make_env(request.param)
    try:
        env.reset(seed=0)
        for _ in range(30):  # past the first frames, where some games are still blank
            env.step(1 % env.action_space.n)
        rgb = env.render()
    finally:
        env.close()
    return cv2.resize(rgb, (320, 420), interpolation=cv2.INTER_NEAREST)


def blobs(seed: int, sign: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = cv2.GaussianBlur(rng.standard_normal((84, 84)).astype(np.float32), (0, 0), 6)
    m /= np.abs(m).max()
    return m if sign else np.maximum(m, 0) ** 2


def unexplained(image: np.ndarray, colours: list[tuple[int, int, int]], tol: float = 5.0) -> np.ndarray:
    """Pixels that are not a*gray + b*colour (a, b >= 0) for any of ``colours``: the
    residual of the best non-negative fit over the span of (1,1,1) and the colour."""
    p = image.reshape(-1, 3).astype(np.float64)
    best = np.full(len(p), np.inf)
    for c in colours:
        basis = np.stack([np.ones(3), np.asarray(c, np.float64)], 1)  # 3x2
        coef, *_ = np.linalg.lstsq(basis, p.T, rcond=None)
        coef = np.maximum(coef, 0.0)  # a negative gray or colour share is not a mix
        res = np.linalg.norm(p - (basis @ coef).T, axis=1)
        best = np.minimum(best, res)
    return (best > tol).reshape(image.shape[:2])


def hue_degrees(rgb) -> float:
    return 360.0 * colorsys.rgb_to_hsv(*(v / 255 for v in rgb))[0]


def hue_gap(a, b) -> float:
    d = abs(hue_degrees(a) - hue_degrees(b)) % 360
    return min(d, 360 - d)


def test_saliency_panel_shows_only_gray_and_its_two_legend_colours(game_frame):
    out = cm.saliency_overlay(game_frame, blobs(1), blobs(2), 0.5, 0.5)  # both maps overlap somewhere
    bad = unexplained(out, [cm.SALIENCY_ACTOR_RGB, cm.SALIENCY_CRITIC_RGB])
    assert bad.mean() < 0.002, f"{bad.mean():.1%} of pixels are a game colour or a mix no legend explains"


def test_lrp_panel_shows_only_gray_red_and_violet(game_frame):
    out = cm.relevance_overlay(game_frame, blobs(3, sign=True), 0.5)
    assert unexplained(out, [cm.LRP_FOR_RGB, cm.LRP_AGAINST_RGB]).mean() < 0.002


def test_actor_keeps_its_hue_at_a_quarter_of_full_scale_on_every_game_colour(game_frame):
    """A weak actor spot (a quarter of the scale) on each of the frame's commonest colours
    stays sky blue (on Pong's orange court the old blue fill turned slate gray)."""
    colours, counts = np.unique(game_frame.reshape(-1, 3), axis=0, return_counts=True)
    for colour in colours[np.argsort(-counts)[:6]]:
        patch = np.broadcast_to(colour.astype(np.uint8), (84, 84, 3)).copy()
        out = cm.saliency_overlay(patch, np.full((84, 84), 0.25), None, 1.0, 1.0)
        _, s, _ = colorsys.rgb_to_hsv(*(out[42, 42] / 255.0))
        assert s >= 0.3 and hue_gap(out[42, 42], cm.SALIENCY_ACTOR_RGB) < 20, (tuple(colour), tuple(out[42, 42]))


def test_critic_outline_is_drawn_in_its_own_colour_over_the_actor_fill(game_frame):
    ones = np.ones((84, 84))
    out = cm.saliency_overlay(game_frame, ones, np.pad(np.ones((40, 40)), 22), 1.0, 1.0)
    near = np.linalg.norm(out.astype(float) - np.asarray(cm.SALIENCY_CRITIC_RGB, float), axis=2) < 30
    assert near.sum() > 100  # the outline is there, in yellow, on top of a full blue fill


def test_map_hues_stay_apart_and_the_actor_is_not_lrp_against():
    hues = {k: v for k, v in cm.MAP_COLOURS.items() if k != "pairs"}
    for a, ca in hues.items():
        for b, cb in hues.items():
            if a < b:
                assert hue_gap(ca, cb) >= 45, (a, b)
    assert hue_gap(cm.SALIENCY_ACTOR_RGB, cm.LRP_AGAINST_RGB) >= 60


def test_interaction_boxes_use_no_hue(game_frame):
    from types import SimpleNamespace

    pairs = [SimpleNamespace(strength=s, labels=("a", "b"), rgb_patches=[(10, 20, 30, 40), (90, 120, 110, 140)])
             for s in (3.0, 1.0)]
    small = cv2.resize(game_frame, (160, 210), interpolation=cv2.INTER_AREA)
    out = pairs_panel(small, pairs, 320, 420, 3.0).astype(int)
    assert (out.max(axis=2) - out.min(axis=2)).max() <= 2  # gray and white only: no panel's colour


def test_the_legends_show_every_map_colour():
    renderer = FrameRenderer(compute_layout(1280, 720, ("saliency", "lrp", "interactions")), ["NOOP", "FIRE"],
                             title="t")
    lay = renderer.layout
    for name, wanted in (("saliency", ["actor", "critic"]), ("lrp", ["for", "against"])):
        r = lay.legends[name]
        region = renderer.background[r.y : r.y + r.h, r.x : r.x + r.w].reshape(-1, 3).astype(float)
        for key in wanted:
            d = np.linalg.norm(region - np.asarray(cm.MAP_COLOURS[key], float), axis=1)
            assert d.min() < 25, f"the {name} legend never shows its {key} colour"


def test_legend_numbers_say_what_they_measure_in_plain_units():
    """A saliency score S = 1/2 |change|^2 is printed as the change sqrt(2 S): the move
    scores' shift at full fill, the value's shift at the thin and thick critic outlines;
    never a bare 'scale 0 to 1.6e+02'."""
    from rlviz.present.layout import Scales

    renderer = FrameRenderer(compute_layout(1280, 720, ("saliency", "lrp")), ["NOOP", "FIRE"], title="t")
    values = renderer.legend_values(Scales(actor=162.0, critic=0.5, relevance=0.0046))
    assert values["saliency"] == ["scores move 18", "value moves .45/.71"]  # sqrt(324); sqrt(.2), sqrt(.5)
    assert values["lrp"] == ["-.0046", "move score per pixel", "+.0046"]
