"""Objects: segmentation on synthetic frames with known objects, names, shares, object saliency,
the cached background, and the object report's choice of the video's relevance method."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.assess.objects import VIDEO_DEFAULT, choose_video_default, object_report
from rlviz.explain.objects import (
    find_objects,
    label_image,
    mean_shares,
    object_saliency,
    object_shares,
    remove_object,
    top_objects,
)
from rlviz.explain.objects.background import (
    background,
    background_key,
    reference_observation,
)
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError

background_module = importlib.import_module("rlviz.explain.objects.background")  # the package re-exports a function of that name
COURT = 87  # Pong's court gray in the observation


def _pong_scene() -> tuple[np.ndarray, np.ndarray, dict[str, list[tuple[int, int, int, int]]]]:
    """A Pong-like background and a 4-frame observation with a ball moving right and both paddles.
    Returns (obs, background, {name: [(top, left, bottom, right) per frame]})."""
    bg = np.full((84, 84), COURT, np.uint8)
    bg[10:14] = 236  # top wall
    bg[77:80] = 236  # bottom wall
    obs = np.repeat(bg[None], 4, axis=0).copy()
    truth: dict[str, list] = {"ball": [], "opponent's paddle": [], "agent's paddle": []}
    for t in range(4):
        ball = (40, 30 + 3 * t, 42, 32 + 3 * t)
        opp = (30 + t, 8, 37 + t, 11)
        own = (50, 73, 57, 76)
        for name, (a, b, c, d) in (("ball", ball), ("opponent's paddle", opp), ("agent's paddle", own)):
            obs[t, a:c, b:d] = 200
            truth[name].append((a, b, c, d))
    return obs, bg, truth


def test_named_objects_of_a_synthetic_pong_frame_are_found_where_they_are() -> None:
    obs, bg, truth = _pong_scene()
    objects = find_objects(obs, bg, "Pong", dilate=0)
    assert [o.name for o in objects] == ["ball", "opponent's paddle", "agent's paddle"]
    for o in objects:
        for t, (a, b, c, d) in enumerate(truth[o.name]):
            want = np.zeros((84, 84), bool)
            want[a:c, b:d] = True
            assert np.array_equal(o.masks[t], want), (o.name, t)


def test_dilation_grows_each_mask_by_one_pixel() -> None:
    obs, bg, truth = _pong_scene()
    ball = find_objects(obs, bg, "Pong", dilate=1)[0]
    a, b, c, d = truth["ball"][0]
    assert ball.masks[0].sum() == (c - a + 2) * (d - b + 2)


def test_unknown_game_gets_numbered_objects_tracked_across_the_stack() -> None:
    obs, bg, _ = _pong_scene()
    objects = find_objects(obs, bg, "Tennis")
    assert [o.name for o in objects] == ["object 1", "object 2", "object 3"]  # never invented names
    # numbered top-left first: the opponent's paddle (row 30), the ball (row 40), the agent's paddle (row 50)
    assert [o.box[0] for o in objects] == [29, 39, 49]
    assert all(o.masks.any(axis=(1, 2)).all() for o in objects)  # each track spans all 4 frames


def test_a_jump_longer_than_the_link_starts_a_new_track() -> None:
    bg = np.zeros((20, 40), np.uint8)
    obs = np.zeros((2, 20, 40), np.uint8)
    obs[0, 5:7, 2:4] = 255
    obs[1, 5:7, 30:32] = 255
    assert len(find_objects(obs, bg, None, link=3)) == 2
    obs[1, 5:7, 30:32] = 0
    obs[1, 5:7, 6:8] = 255  # 4 px further: within reach of the grown box
    assert len(find_objects(obs, bg, None, link=3)) == 1


def test_a_frame_equal_to_the_background_has_no_objects_and_empty_shares() -> None:
    _, bg, _ = _pong_scene()
    obs = np.repeat(bg[None], 4, axis=0)
    objects = find_objects(obs, bg, "Pong")
    assert objects == []
    shares = object_shares(np.ones((4, 84, 84)), objects)
    assert shares.on_objects == 0.0 and shares.by_object == {}
    assert top_objects(np.ones((84, 84)), objects) == []
    assert mean_shares([]).on_objects == 0.0


def test_shares_of_a_map_are_its_mass_on_each_object() -> None:
    obs, bg, _ = _pong_scene()
    objects = find_objects(obs, bg, "Pong", dilate=0)
    values = np.zeros((4, 84, 84))
    values[0, 40, 30] = -3.0  # on the ball (first frame): counts by its magnitude
    values[2, 51, 74] = 1.0  # on the agent's paddle
    values[1, 0, 0] = 4.0  # on the score band: no object there
    shares = object_shares(values, objects)
    assert shares.by_object == pytest.approx({"ball": 3 / 8, "opponent's paddle": 0.0, "agent's paddle": 1 / 8})
    assert shares.on_objects == pytest.approx(4 / 8)
    assert top_objects(values, objects, k=3) == [("ball", pytest.approx(3 / 8)), ("agent's paddle", pytest.approx(1 / 8))]
    assert object_shares(np.zeros((84, 84)), objects).on_objects == 0.0  # no mass: no division by zero



def _one_region_agent(rows: slice, cols: slice) -> Agent:
    """A linear policy whose logits and value read only the pixels in (rows, cols) of every frame."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4 * 84 * 84, 4))
    torch.manual_seed(0)
    with torch.no_grad():
        mask = torch.zeros(4, 84, 84)
        mask[:, rows, cols] = 1
        net[1].weight.copy_(torch.randn(4, 4 * 84 * 84) * mask.reshape(1, -1))
        net[1].bias.zero_()

    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = net

        def forward(self, x):
            out = self.body(x)
            return out[:, :3], out[:, 3]

    return Agent(Heads(), env_spec=EnvSpec("Pong"), kind="actor-critic")


def test_object_saliency_of_a_policy_that_reads_only_the_ball() -> None:
    obs, bg, _ = _pong_scene()
    agent = _one_region_agent(slice(38, 44), slice(26, 44))  # the ball's path only
    objects = find_objects(obs, bg, "Pong")
    scores = object_saliency(agent, obs, objects, bg)
    assert scores["opponent's paddle"] == {"policy": 0.0, "value": 0.0}
    assert scores["agent's paddle"] == {"policy": 0.0, "value": 0.0}
    # closed form: the net is linear, so the change is W (x - x') for x' = obs without the ball
    w = agent.net.body[1].weight.detach().double()
    delta = (obs.astype(np.float64) - remove_object(obs, objects[0], bg)) / 255
    change = w @ torch.from_numpy(delta.reshape(-1))
    assert scores["ball"]["policy"] == pytest.approx(0.5 * float((change[:3] ** 2).sum()), rel=1e-5)
    assert scores["ball"]["value"] == pytest.approx(0.5 * float(change[3] ** 2), rel=1e-5)
    assert scores["ball"]["policy"] > 0


def test_removing_an_object_paints_the_background_in_every_frame() -> None:
    obs, bg, _ = _pong_scene()
    ball = find_objects(obs, bg, "Pong")[0]
    cleaned = remove_object(obs, ball, bg)
    assert "ball" not in [o.name for o in find_objects(cleaned, bg, "Pong")]
    assert (cleaned[:, 40:42, 30:42] == COURT).all()


def test_background_is_computed_once_then_read_from_the_cache(pong_agent, tmp_path, monkeypatch) -> None:
    calls = []

    def fake(agent, *, steps, seed, progress):
        calls.append(steps)
        return np.full((84, 84), 7, np.uint8)

    monkeypatch.setattr(background_module, "compute_background", fake)
    first = background(pong_agent, steps=5, cache_dir=tmp_path, progress=False)
    second = background(pong_agent, steps=5, cache_dir=tmp_path, progress=False)
    assert calls == [5] and np.array_equal(first, second) and first[0, 0] == 7
    assert len(list(tmp_path.glob("Pong-gymnasium-untrained-pong-*.png"))) == 1
    with torch.no_grad():
        pong_agent.net.actor.weight.add_(1.0)  # another agent: another key
    background(pong_agent, steps=5, cache_dir=tmp_path, progress=False)
    assert calls == [5, 5]


def test_background_key_names_game_pipeline_and_agent(pong_agent) -> None:
    key = background_key(pong_agent, steps=10)
    assert key.startswith("Pong-gymnasium-untrained-pong-")
    assert key != background_key(pong_agent, steps=11)


def test_background_of_real_play_is_the_median_court(pong_agent) -> None:
    """A few real steps of Pong: the median frame shows the court gray and the white walls."""
    bg = background_module.compute_background(pong_agent, steps=12, progress=False)
    assert bg.shape == (84, 84) and bg.dtype == np.uint8
    values, counts = np.unique(bg, return_counts=True)
    assert values[counts.argmax()] == COURT


def test_reference_observation_stacks_the_background_on_the_input_scale() -> None:
    ref = reference_observation(np.full((84, 84), 255, np.uint8))
    assert ref.shape == (4, 84, 84) and float(ref.max()) == 1.0
    with pytest.raises(RlvizError):
        reference_observation(np.zeros((4, 84, 84), np.uint8))


def test_a_background_of_another_size_is_refused() -> None:
    with pytest.raises(RlvizError, match="does not fit"):
        find_objects(np.zeros((4, 84, 84), np.uint8), np.zeros((64, 64), np.uint8), "Pong")


def test_video_default_is_the_most_object_bound_map_not_less_faithful_than_todays() -> None:
    methods = {
        "lrp-epsilon-gamma-box": {"share_on_objects": 0.1, "aopc_deletion": 1.0, "aopc_tolerance": 0.0},
        "lrp-epsilon-gamma-reference": {"share_on_objects": 0.9, "aopc_deletion": 0.95, "aopc_tolerance": 0.1},
        "gradient-x-input": {"share_on_objects": 0.95, "aopc_deletion": 0.5, "aopc_tolerance": 0.1},
        "saliency-actor": {"share_on_objects": 0.99, "aopc_deletion": 3.0, "aopc_tolerance": 0.1},
    }
    assert choose_video_default(methods, protocol="blur") == "lrp-epsilon-gamma-reference"  # saliency is no relevance panel
    methods["lrp-epsilon-gamma-reference"]["aopc_deletion"] = 0.8  # now clearly worse than today's
    assert choose_video_default(methods, protocol="blur") == "lrp-epsilon-gamma-box"


def test_video_default_reads_the_removal_protocol_it_is_asked_for() -> None:
    """Numbers shaped like the 30-frame table: a background-relative map loses under blur removal
    on one game and wins under background removal on all; the choice follows the protocol."""
    def game(blur: float, removed: float) -> dict:
        return {"lrp-epsilon-gamma-box": {"share_on_objects": 0.4, "aopc_deletion": 2.0, "aopc_tolerance": 0.0,
                                          "aopc_deletion_background": 3.0, "aopc_tolerance_background": 0.0},
                "deeplift-background": {"share_on_objects": 1.0, "aopc_deletion": blur, "aopc_tolerance": 0.1,
                                        "aopc_deletion_background": removed, "aopc_tolerance_background": 0.1}}

    games = [game(1.95, 3.5), game(1.5, 3.2)]
    assert choose_video_default(games, protocol="blur") == "lrp-epsilon-gamma-box"  # 1.5 < 2.0 - 0.1 on one game
    assert choose_video_default(games, protocol="background") == "deeplift-background"
    assert choose_video_default(games) == "deeplift-background"  # the default protocol removes objects
    games[1]["deeplift-background"]["aopc_deletion_background"] = 2.85  # 0.15 worse, beyond its 0.1 tolerance
    assert choose_video_default(games) == "lrp-epsilon-gamma-box"
    with pytest.raises(RlvizError, match="protocol"):
        choose_video_default(games, protocol="noise")


def test_strip_text_names_the_top_objects_in_words() -> None:
    from rlviz.present.object_figures import strip_text

    assert strip_text([("opponent's paddle", 0.623), ("ball", 0.21)]) == "opponent's paddle 62%, ball 21%"
    assert strip_text([]) == "no objects"


def test_cli_objects_writes_the_json_schema_figure_and_boxes(agent_dir, tmp_path, capsys) -> None:
    import json

    from rlviz.cli import main

    out = tmp_path / "pong.json"
    code = main(["objects", "--agent", str(agent_dir), "--steps", "12", "--frames", "1", "--spacing", "3", "--no-aopc",
                 "--methods", "lrp-epsilon-gamma-box,lrp-epsilon-gamma-reference,gradient-x-input",
                 "--json", str(out), "--boxes", str(tmp_path / "boxes.png"), "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["game"] == "Pong" and report["frames"] == 1
    assert set(report["methods"]) == {"lrp-epsilon-gamma-box", "lrp-epsilon-gamma-reference", "gradient-x-input"}
    for d in report["methods"].values():
        assert 0.0 <= d["share_on_objects"] <= 1.0 + 1e-9
        assert set(d["by_object"]) <= set(report["objects"])
        assert abs(sum(d["by_object"].values()) - d["share_on_objects"]) < 1e-9
    assert set(report["object_saliency"]) == set(report["objects"])
    assert report["video_default"] == VIDEO_DEFAULT  # not measured without AOPC: the recorded choice
    assert (tmp_path / "pong.png").stat().st_size > 0 and (tmp_path / "boxes.png").stat().st_size > 0
    assert len(list((tmp_path / "cache").glob("*.png"))) == 1


def test_cli_background_without_out_is_a_one_line_error(agent_dir, tmp_path, capsys, monkeypatch) -> None:
    from rlviz.cli import main

    monkeypatch.setattr(background_module, "compute_background", lambda agent, **kw: np.zeros((84, 84), np.uint8))
    assert main(["objects", "--agent", str(agent_dir), "--background", "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]


def test_object_report_measures_shares_saliency_and_aopc_on_a_policy_that_reads_the_ball() -> None:
    obs, bg, _ = _pong_scene()
    agent = _one_region_agent(slice(38, 44), slice(26, 44))
    methods = ["lrp-epsilon-gamma-reference", "gradient-x-input"]
    report = object_report(agent, obs=obs[None], bg=bg, methods=methods, progress=False)
    assert report["objects"] == ["ball", "opponent's paddle", "agent's paddle"]
    ref = report["methods"]["lrp-epsilon-gamma-reference"]
    assert ref["share_on_objects"] == pytest.approx(1.0) and ref["by_object"]["ball"] == pytest.approx(1.0)
    assert report["object_saliency"]["ball"]["policy"] > 0 == report["object_saliency"]["agent's paddle"]["policy"]
    assert all(d["aopc_deletion"] is not None and d["aopc_insertion"] is not None for d in report["methods"].values())
    labels = label_image(find_objects(obs, bg, "Pong"), (84, 84))
    assert report["object_area"] == pytest.approx(float((labels > 0).mean()))
    assert report["area_by_object"]["ball"] == pytest.approx(float((labels == 1).mean()))
    assert sum(report["area_by_object"].values()) == pytest.approx(report["object_area"])


def test_video_default_over_several_games_must_pass_on_every_game() -> None:
    def game(ref_aopc: float, ref_share: float) -> dict:
        return {"lrp-epsilon-gamma-box": {"share_on_objects": 0.3, "aopc_deletion": 1.0, "aopc_tolerance": 0.0},
                "lrp-epsilon-gamma-reference": {"share_on_objects": ref_share, "aopc_deletion": ref_aopc, "aopc_tolerance": 0.05}}

    assert choose_video_default([game(1.0, 1.0), game(0.97, 1.0)], protocol="blur") == "lrp-epsilon-gamma-reference"
    assert choose_video_default([game(1.0, 1.0), game(0.5, 1.0)], protocol="blur") == "lrp-epsilon-gamma-box"  # fails on one game
    assert choose_video_default([game(1.0, 1.0), {}], protocol="blur") == VIDEO_DEFAULT  # a game without measurements
