"""The object report (assess/objects.py) on a linear policy that reads only the ball's path, where
the maps, the deletion curve with background removal and the object saliency have closed forms,
over frames built by hand (the ball in one of three, the paddles in two)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_objects import _one_region_agent, _pong_scene

import rlviz.assess.objects as report_module
from rlviz.assess.faithfulness import pixel_flipping
from rlviz.assess.objects import (
    BACKGROUND_DEEPLIFT,
    CURRENT_PANEL,
    METHODS,
    VIDEO_DEFAULT,
    choose_video_default,
    method_maps,
    object_report,
)
from rlviz.explain.objects import find_objects, object_saliency, object_shares, remove_object
from rlviz.util.errors import RlvizError

BALL_ROWS, BALL_COLS = slice(38, 44), slice(26, 44)  # the only pixels the policy reads


def background_deletion(agent, obs, maps, bg) -> dict[str, np.ndarray]:
    """Per-frame deletion AOPC with regions painted with the background (rlviz faithfulness --replace background)."""
    report = pixel_flipping(agent, obs, methods=[], maps=maps, replacement="background", background=bg)
    return report.aopc_per_frame("deletion")


@pytest.fixture
def case():
    obs, bg, _ = _pong_scene()
    agent = _one_region_agent(BALL_ROWS, BALL_COLS)
    ball = find_objects(obs, bg, "Pong")[0]
    frames = np.stack([obs, remove_object(obs, ball, bg), np.repeat(bg[None], 4, axis=0)])
    return agent, frames, bg


def _weights(agent) -> np.ndarray:
    return agent.net.body[1].weight.detach().double().numpy().reshape(4, 4, 84, 84)


def _greedy(agent, frame: np.ndarray) -> int:
    return int(np.argmax(_weights(agent)[:3].reshape(3, -1) @ (frame.astype(np.float64).ravel() / 255)))


def test_deeplift_with_the_background_is_weight_times_difference_on_a_linear_policy(case) -> None:
    agent, frames, bg = case
    got = method_maps(agent, frames[:1], BACKGROUND_DEEPLIFT, bg)
    w = _weights(agent)[_greedy(agent, frames[0])]
    want = (w * (frames[0].astype(np.float64) - bg.astype(np.float64)[None]) / 255).sum(axis=0)
    assert got.shape == (1, 84, 84)
    np.testing.assert_allclose(got[0], want, atol=1e-6)


def test_background_deletion_is_the_mean_drop_of_the_greedy_logit_as_regions_turn_to_background(case) -> None:
    agent, frames, bg = case
    obs = frames[0]
    m = np.zeros((1, 84, 84))
    m[0, 35:42, 28:35] = 2.0  # the ball's two 7x7 regions first (rows 35-41; columns 28-34, then 35-41)
    m[0, 35:42, 35:42] = 1.0
    got = background_deletion(agent, obs[None], {"m": m}, bg)["m"]
    w = _weights(agent)[_greedy(agent, obs)]
    delta = (obs.astype(np.float64) - bg.astype(np.float64)[None]) / 255
    first = np.zeros((84, 84), bool)
    first[35:42, 28:35] = True
    both = first.copy()
    both[35:42, 35:42] = True
    d1, d2 = float((w * delta * first).sum()), float((w * delta * both).sum())
    assert d2 != 0.0
    n = 12 * 12  # 144 regions: curve points 0 (clean), 1 (first region painted), 2..144 (the whole ball gone)
    assert got == pytest.approx([(d1 + (n - 1) * d2) / (n + 1)], rel=1e-4)
    assert background_deletion(agent, bg[None, None].repeat(4, axis=1), {"m": m}, bg)["m"] == pytest.approx([0.0], abs=1e-7)


def test_object_report_averages_every_frame_and_counts_an_absent_object_as_zero(case) -> None:
    agent, frames, bg = case
    methods = [CURRENT_PANEL, "gradient-x-input"]
    r = object_report(agent, obs=frames, bg=bg, methods=methods, aopc=False, progress=False)
    names = ["ball", "opponent's paddle", "agent's paddle"]
    assert (r["game"], r["agent"], r["frames"], r["seed"], r["spacing"]) == ("Pong", agent.name, 3, 1, 8)
    assert r["objects"] == names
    scene = [find_objects(f, bg, "Pong") for f in frames]
    assert [f["objects"] for f in r["per_frame"]] == [[o.name for o in objs] for objs in scene]
    assert [len(objs) for objs in scene] == [3, 2, 0]
    assert r["present"] == pytest.approx({"ball": 1 / 3, "opponent's paddle": 2 / 3, "agent's paddle": 2 / 3})

    def mean_over_frames(per_frame: list[dict[str, float]]) -> dict[str, float]:
        return {n: sum(d.get(n, 0.0) for d in per_frame) / 3 for n in names}

    footprint = [{o.name: float(o.footprint.mean()) for o in objs} for objs in scene]
    assert r["area_by_object"] == pytest.approx(mean_over_frames(footprint))
    assert r["object_area"] == pytest.approx(sum(sum(f.values()) for f in footprint) / 3)
    saliency = object_saliency(agent, frames[0], scene[0], bg)
    assert saliency["ball"]["policy"] > 0 and saliency["ball"]["value"] > 0
    assert r["object_saliency"]["ball"] == pytest.approx({k: saliency["ball"][k] / 3 for k in ("policy", "value")})
    assert r["object_saliency"]["agent's paddle"] == {"policy": 0.0, "value": 0.0}  # outside what the policy reads
    for m in methods:
        maps = method_maps(agent, frames, m, bg)
        per = [object_shares(maps[i], objs) for i, objs in enumerate(scene)]
        assert [f["methods"][m] for f in r["per_frame"]] == [s.to_dict() for s in per]
        assert r["methods"][m]["share_on_objects"] == pytest.approx(sum(s.on_objects for s in per) / 3)
        assert r["methods"][m]["by_object"] == pytest.approx(mean_over_frames([s.by_object for s in per]))
        assert 0 < r["methods"][m]["share_on_objects"]


def test_object_report_aopc_figures_are_the_deletion_tests_and_their_paired_intervals(case) -> None:
    agent, frames, bg = case
    methods = [CURRENT_PANEL, "gradient-x-input"]
    r = object_report(agent, obs=frames, bg=bg, methods=methods, progress=False)
    maps = {m: method_maps(agent, frames, m, bg) for m in methods}
    blur = pixel_flipping(agent, frames, methods=["random"], maps=maps)
    removed = background_deletion(agent, frames, maps, bg)
    per = blur.aopc_per_frame("deletion")
    for m in methods:
        d = r["methods"][m]
        assert d["aopc_deletion"] == pytest.approx(blur.aopc[m]) and d["aopc_insertion"] == pytest.approx(blur.insertion_aopc[m])
        assert d["aopc_deletion_background"] == pytest.approx(removed[m].mean())
        diff = per[m] - per[CURRENT_PANEL]
        assert d["aopc_tolerance"] == pytest.approx(1.96 * diff.std(ddof=1) / np.sqrt(3))
        diff = removed[m] - removed[CURRENT_PANEL]
        assert d["aopc_tolerance_background"] == pytest.approx(1.96 * diff.std(ddof=1) / np.sqrt(3))
    assert r["methods"]["gradient-x-input"]["aopc_tolerance_background"] > 0
    assert r["methods"][CURRENT_PANEL]["aopc_tolerance"] == 0.0 == r["methods"][CURRENT_PANEL]["aopc_tolerance_background"]
    assert r["random"]["aopc_deletion"] == pytest.approx(blur.aopc["random"])
    assert r["random"]["aopc_insertion"] == pytest.approx(blur.insertion_aopc["random"])
    assert set(r["random"]) == {"aopc_deletion", "aopc_insertion", "aopc_deletion_background", "aopc_insertion_background"}
    inserted = pixel_flipping(agent, frames, methods=["random"], maps=maps, replacement="background", background=bg)
    for m in methods:
        assert r["methods"][m]["aopc_insertion_background"] == pytest.approx(inserted.insertion_aopc[m])
    assert r["random"]["aopc_deletion_background"] == pytest.approx(inserted.aopc["random"])
    assert r["video_default"] == choose_video_default(r["methods"])


def test_without_todays_panel_or_aopc_the_report_has_no_intervals_and_the_recorded_default(case) -> None:
    agent, frames, bg = case
    r = object_report(agent, obs=frames[:2], bg=bg, methods=["gradient-x-input"], progress=False)
    d = r["methods"]["gradient-x-input"]
    assert d["aopc_tolerance"] is None and d["aopc_tolerance_background"] == 0.0
    r = object_report(agent, obs=frames[:2], bg=bg, methods=[CURRENT_PANEL, "gradient-x-input"], progress=False)
    removed = background_deletion(agent, frames[:2], {m: method_maps(agent, frames[:2], m, bg) for m in (CURRENT_PANEL, "gradient-x-input")}, bg)
    diff = removed["gradient-x-input"] - removed[CURRENT_PANEL]
    assert diff[0] != diff[1]  # two frames are enough for an interval
    assert r["methods"]["gradient-x-input"]["aopc_tolerance_background"] == pytest.approx(1.96 * abs(diff[0] - diff[1]) / 2)
    r = object_report(agent, obs=frames[:1], bg=bg, methods=[CURRENT_PANEL], aopc=False, progress=False)
    assert "random" not in r and set(r["methods"][CURRENT_PANEL]) == {"share_on_objects", "by_object"}
    assert r["video_default"] == VIDEO_DEFAULT


def test_object_report_refuses_unknown_methods_in_one_line(case) -> None:
    agent, frames, bg = case
    with pytest.raises(RlvizError, match=rf"^unknown method\(s\) ghost, blur; choose from: {', '.join(METHODS)}$"):
        object_report(agent, obs=frames, bg=bg, methods=["ghost", CURRENT_PANEL, "blur"], progress=False)


def test_object_report_collects_its_frames_and_background_when_not_given(case, monkeypatch) -> None:
    agent, frames, bg = case
    asked = {}
    monkeypatch.setattr(report_module, "collect_frames", lambda a, **kw: asked.update(frames=kw) or frames[:1])
    monkeypatch.setattr(report_module, "background", lambda a, **kw: asked.update(background=kw) or bg)
    r = object_report(agent, frames=5, seed=4, spacing=2, methods=[CURRENT_PANEL], aopc=False, progress=False)
    assert asked == {"frames": {"frames": 5, "seed": 4, "spacing": 2}, "background": {"progress": False}}
    assert (r["frames"], r["seed"], r["spacing"]) == (1, 4, 2)


# the choice of the video's panel -------------------------------------------------------------


def test_a_method_exactly_at_the_tolerance_passes_and_the_largest_mean_share_wins() -> None:
    g = {CURRENT_PANEL: {"share_on_objects": 0.25, "aopc_deletion": 1.0, "aopc_tolerance": 0.0},
         "gradient-x-input": {"share_on_objects": 0.75, "aopc_deletion": 0.75, "aopc_tolerance": 0.25},  # 1.0 - 0.25: passes
         "lrp-epsilon-plus-flat": {"share_on_objects": 0.5, "aopc_deletion": 2.0, "aopc_tolerance": None}}  # no interval: 0
    assert choose_video_default(g, protocol="blur") == "gradient-x-input"
    g["gradient-x-input"]["aopc_deletion"] = 0.7499
    assert choose_video_default(g, protocol="blur") == "lrp-epsilon-plus-flat"
    g["lrp-epsilon-plus-flat"]["aopc_deletion"] = 0.99  # no tolerance given: must not be below today's at all
    assert choose_video_default(g, protocol="blur") == CURRENT_PANEL
    g["lrp-epsilon-plus-flat"]["aopc_deletion"] = None  # not measured: cannot pass
    assert choose_video_default(g, protocol="blur") == CURRENT_PANEL


def test_the_share_is_averaged_over_games_and_a_tie_goes_to_the_earlier_method() -> None:
    def game(a: float, b: float) -> dict:
        return {CURRENT_PANEL: {"share_on_objects": 0.0, "aopc_deletion": 1.0},
                "lrp-epsilon-plus-flat": {"share_on_objects": a, "aopc_deletion": 1.0},
                "gradient-x-input": {"share_on_objects": b, "aopc_deletion": 1.0}}

    assert choose_video_default([game(0.9, 0.6), game(0.1, 0.5)], protocol="blur") == "gradient-x-input"  # 0.5 vs 0.55
    assert choose_video_default([game(0.6, 0.5), game(0.4, 0.5)], protocol="blur") == "lrp-epsilon-plus-flat"  # a tie
    assert choose_video_default([game(0.5, 0.6), game(0.5, 0.4)], protocol="blur") == "lrp-epsilon-plus-flat"


def test_the_panel_compared_against_can_be_another_method() -> None:
    g = {CURRENT_PANEL: {"share_on_objects": 0.9, "aopc_deletion": 0.5},
         "gradient-x-input": {"share_on_objects": 0.3, "aopc_deletion": 1.0}}
    assert choose_video_default(g, protocol="blur") == CURRENT_PANEL
    assert choose_video_default(g, current="gradient-x-input", protocol="blur") == "gradient-x-input"


def test_without_measurements_of_todays_panel_the_choice_is_the_recorded_default() -> None:
    assert choose_video_default([]) == VIDEO_DEFAULT
    measured = {"gradient-x-input": {"share_on_objects": 0.3, "aopc_deletion": 1.0, "aopc_deletion_background": 1.0}}
    assert choose_video_default({**measured, CURRENT_PANEL: {"share_on_objects": 0.1, "aopc_deletion": 2.0}}) == VIDEO_DEFAULT
    assert choose_video_default({**measured, CURRENT_PANEL: {"aopc_deletion_background": None}}) == VIDEO_DEFAULT
    with pytest.raises(RlvizError, match=r"^protocol must be one of background, blur, got 'noise'$"):
        choose_video_default(measured, protocol="noise")
