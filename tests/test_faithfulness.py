"""Pixel flipping: deletion/insertion curves, AOPC, the method registry and the report files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.assess.faithfulness import (
    available_methods,
    compute_maps,
    deletion_aopc,
    insertion_aopc,
    mean_ci,
    pixel_flipping,
    pixel_flipping_outputs,
    region_scores,
)
from rlviz.explain.gradient import gradient, gradient_x_input
from rlviz.explain.perturbation import gaussian_blur
from rlviz.play.envs import EnvSpec
from rlviz.present.assessment_reports import faithfulness_report
from rlviz.util.errors import RlvizError

BOX = (28, 42, 28, 42)  # rows, columns: four 7x7 regions


class BoxPolicy(nn.Module):
    """Reads only BOX: logit 0 = 0.1 * sum of relu(x - 0.5) there (bright objects), logits 1, 2 = -1."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r0, r1, c0, c1 = BOX
        s = 0.1 * torch.relu(x[:, :, r0:r1, c0:c1] - 0.5).sum((1, 2, 3))
        minus = torch.full_like(s, -1.0)
        return torch.stack([s, minus, minus], 1), s


class LinearPolicy(nn.Module):
    """f(x) = sum(w * x) + b for action 0 (action 1 is always 10 lower); value = f."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(4, 84, 84, generator=g) * 0.01)
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = (x * self.w).sum((1, 2, 3)) + self.b
        return torch.stack([f, f - 10.0], 1), f


def objects_obs(n: int, seed: int = 0) -> np.ndarray:
    """Dark noise with bright 3x3 objects, several inside BOX and several outside."""
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 60, size=(n, 4, 84, 84)).astype(np.uint8)
    for i in range(n):
        for _ in range(4):  # inside the box
            r, c = rng.integers(BOX[0], BOX[1] - 3), rng.integers(BOX[2], BOX[3] - 3)
            obs[i, :, r : r + 3, c : c + 3] = 255
        for _ in range(12):  # distractors the policy ignores
            r, c = rng.integers(0, 81), rng.integers(0, 81)
            if not (BOX[0] - 3 <= r < BOX[1] and BOX[2] - 3 <= c < BOX[3]):
                obs[i, :, r : r + 3, c : c + 3] = 255
    return obs


def agent_for(net: nn.Module) -> Agent:
    return Agent(net, env_spec=EnvSpec("Pong"))


def box_map(n: int) -> np.ndarray:
    m = np.zeros((n, 84, 84), np.float32)
    m[:, BOX[0] : BOX[1], BOX[2] : BOX[3]] = 1.0
    return m


def test_deleting_the_box_the_policy_reads_drops_the_output_faster_than_random_order():
    agent, obs = agent_for(BoxPolicy()), objects_obs(4)
    maps = {"box": box_map(4), "box-last": 1.0 - box_map(4)}
    report = pixel_flipping(agent, obs, methods=["random"], maps=maps, output="logit", seed=1)
    aopc = report.aopc
    assert aopc["box"] > aopc["random"] + 0.1 * abs(aopc["box"])
    assert aopc["box-last"] < aopc["random"]  # the wrong order loses: the test can fail
    ins = report.insertion_aopc
    assert ins["box"] > ins["random"] > ins["box-last"]
    # after the 4 box regions are blurred the output is gone (the objects fall below 0.5)
    assert np.allclose(report.deletion["box"][:, 4], 0.0, atol=1e-6)


def test_aopc_formula_on_a_hand_made_curve():
    curve = np.array([[3.0, 1.0, 0.0]])  # f(x_0) - f(x_k) = 0, 2, 3
    assert deletion_aopc(curve)[0] == pytest.approx(5.0 / 3.0)
    assert insertion_aopc(np.array([[0.0, 2.0, 3.0]]))[0] == pytest.approx(5.0 / 3.0)
    assert insertion_aopc(np.array([[1.0, 2.0, 4.0]]))[0] == pytest.approx(4.0 / 3.0)  # gains over f(x_0) = 1
    assert deletion_aopc(np.array([[4.0, 2.0, 1.0]]))[0] == pytest.approx(5.0 / 3.0)


def test_aopc_matches_closed_form_on_a_linear_model():
    net = LinearPolicy()
    agent, obs = agent_for(net), objects_obs(2, seed=3)
    region = 21  # 4 x 4 = 16 regions
    ranking = np.random.default_rng(5).random((2, 84, 84)).astype(np.float32)  # no ties
    report = pixel_flipping(agent, obs, methods=[], maps={"m": ranking}, region=region, output="logit")
    x = torch.from_numpy(obs).double() / 255.0
    blurred = gaussian_blur(x.float(), 3.0).double()
    w = net.w.detach().double()
    # for a linear f, replacing region r changes f by d_r = sum_{p in r} w_p (x_p - blur_p)
    d = region_scores(((x - blurred) * w).sum(1).numpy(), region)
    order = np.argsort(-region_scores(ranking, region), axis=1)
    removed = np.concatenate([np.zeros((2, 1)), np.cumsum(np.take_along_axis(d, order, 1), 1)], 1)
    f0 = (x * w).sum((1, 2, 3)).numpy() + float(net.b.detach())
    expected_del = f0[:, None] - removed
    expected_ins = (f0[:, None] - removed[:, -1:]) + removed
    assert np.allclose(report.deletion["m"], expected_del, atol=2e-4)
    assert np.allclose(report.insertion["m"], expected_ins, atol=2e-4)
    expected_aopc = removed.sum(1).mean() / (removed.shape[1])
    assert report.aopc["m"] == pytest.approx(expected_aopc, abs=2e-4)
    assert report.n_steps == 16


def test_perfect_map_beats_random_map_on_an_additive_model():
    net = LinearPolicy(seed=1)
    agent, obs = agent_for(net), objects_obs(4, seed=2)
    x = torch.from_numpy(obs).float() / 255.0
    # the oracle: each pixel's exact effect of being blurred, summed over the stack
    oracle = ((x - gaussian_blur(x, 3.0)) * net.w.detach()).sum(1).numpy()
    report = pixel_flipping(agent, obs, methods=["random"], maps={"oracle": oracle, "anti": -oracle}, region=12)
    assert report.aopc["oracle"] > report.aopc["random"] > report.aopc["anti"]
    low, high = report.to_dict()["aopc_ci95"]["oracle"]
    assert low > report.aopc["random"]


def test_deletion_end_equals_insertion_start_and_vice_versa(pong_agent, random_obs):
    report = pixel_flipping(pong_agent, random_obs[:2], methods=["gradient-x-input", "random"], region=14, output="value")
    for m in report.methods:
        assert np.allclose(report.deletion[m][:, -1], report.insertion[m][:, 0], atol=1e-5)
        assert np.allclose(report.deletion[m][:, 0], report.insertion[m][:, -1], atol=1e-5)


def test_report_is_json_serialisable_with_aopc_per_method_and_random(pong_agent, random_obs):
    reports = pixel_flipping_outputs(pong_agent, random_obs[:2], methods=["saliency-critic", "random"], region=21)
    assert set(reports) == {"logit", "prob", "value"}
    d = json.loads(json.dumps(reports["prob"].to_dict()))
    assert set(d["aopc"]) == {"saliency-critic", "random"}
    assert d["regions"] == 16 and d["steps"] == 16 and len(d["curves"]["deletion"]["random"]["mean"]) == 17
    r = reports["prob"]
    sal, rnd = deletion_aopc(r.deletion["saliency-critic"]), deletion_aopc(r.deletion["random"])
    assert d["aopc"]["random"] == pytest.approx(rnd.mean())
    assert d["aopc_minus_random"]["saliency-critic"]["mean"] == pytest.approx((sal - rnd).mean())
    assert d["insertion_aopc"]["saliency-critic"] == pytest.approx(insertion_aopc(r.insertion["saliency-critic"]).mean())
    v = reports["value"]
    row = next(line for line in v.table().splitlines() if line.startswith("| saliency-critic |"))
    assert f"{v.aopc['saliency-critic']:.3g} ± {v.ci()['saliency-critic']:.2g}" in row


def test_unknown_method_and_bad_region_are_refused(pong_agent, random_obs):
    with pytest.raises(RlvizError, match="unknown explanation method"):
        pixel_flipping(pong_agent, random_obs[:1], methods=["occlusion"])
    with pytest.raises(RlvizError, match="must divide 84"):
        pixel_flipping(pong_agent, random_obs[:1], methods=["random"], region=9)


def test_registry_maps_have_one_map_per_frame(pong_agent, random_obs):
    names = available_methods()
    assert {"saliency-actor", "saliency-critic", "gradient-x-input", "random"} <= set(names)
    for name in ("gradient-x-input", "gradient", "random"):
        maps = compute_maps(pong_agent, random_obs, name, "action")
        assert maps.shape == (3, 84, 84) and maps.dtype == np.float32 and np.isfinite(maps).all()
    assert np.array_equal(compute_maps(pong_agent, random_obs, "random", seed=4),
                          compute_maps(pong_agent, random_obs, "random", seed=4))
    lrp_names = [n for n in names if n.startswith("lrp-")]
    if lrp_names:  # LRP maps are summed over the stack like gradient x input
        assert compute_maps(pong_agent, random_obs[:1], lrp_names[0]).shape == (1, 84, 84)


def test_gradient_x_input_is_input_times_gradient_of_the_greedy_logit(pong_agent, random_obs):
    g = gradient(pong_agent, random_obs[:2], "action")
    gxi = gradient_x_input(pong_agent, random_obs[:2], "action")
    assert np.allclose(gxi, g * random_obs[:2] / 255.0, atol=1e-7)
    x = torch.from_numpy(random_obs[:1]).float().div(255).requires_grad_(True)
    logits, _ = pong_agent.forward(x)
    logits[0, int(logits.argmax())].backward()
    assert np.allclose(g[0], x.grad[0].numpy(), atol=1e-7)


def test_faithfulness_report_plays_the_agent_and_writes_json_and_png(pong_agent, tmp_path):
    import cv2

    from rlviz.assess.faithfulness import collect_frames
    from rlviz.present.faithfulness_figures import draw_flipping_curves, method_colours

    reports = faithfulness_report(pong_agent, frames=2, spacing=2, seed=0, methods=["gradient", "random"],
                                  outputs=["logit"], region=42, out_dir=tmp_path)
    report = reports["logit"]
    # the frames are the agent's own greedy play (every 2nd step from seed 0)
    played = collect_frames(pong_agent, frames=2, spacing=2, seed=0)
    logits, _ = pong_agent(played)
    payload = json.loads((tmp_path / "faithfulness.json").read_text())
    d = payload["outputs"]["logit"]
    assert d["actions"] == logits.argmax(-1).tolist() == report.actions.tolist()
    assert (payload["agent"], payload["game"], d["frames"], d["regions"], d["steps"]) == ("untrained-pong", "Pong", 2, 4, 4)
    # the numbers in the file are the report's, recomputed here from its curves
    for m in ("gradient", "random"):
        curves = report.deletion[m]
        assert d["aopc"][m] == pytest.approx((curves[:, :1] - curves).mean())
        assert d["curves"]["deletion"][m]["mean"] == pytest.approx(curves.mean(0).tolist())
        assert d["insertion_aopc"][m] == pytest.approx((report.insertion[m] - report.insertion[m][:, :1]).mean())
    # the PNG is the figure of these reports, with a curve of each method in both panels
    png = cv2.imread(str(tmp_path / "faithfulness.png"))[..., ::-1]
    assert np.array_equal(png, draw_flipping_curves(reports, title="untrained-pong: pixel flipping"))
    for m, colour in method_colours(["gradient", "random"]).items():
        hits = np.all(png[44:314] == colour, axis=-1)
        # overlapping curves can hide all but a few pixels of one (4 with OpenCV 5.1's lines): any pixel counts
        assert hits[:, :430].any() and hits[:, 430:860].any(), m


def test_prob_curves_are_the_softmax_over_actions_of_the_logit_curves():
    # BoxPolicy's logits are (s, -1, -1), so the greedy action's probability is e^s / (e^s + 2/e)
    agent, obs = agent_for(BoxPolicy()), objects_obs(3)
    reports = pixel_flipping_outputs(agent, obs, methods=["random"], maps={"box": box_map(3)}, region=21)
    for name in ("box", "random"):
        for kind in ("deletion", "insertion"):
            s = getattr(reports["logit"], kind)[name]
            expected = np.exp(s) / (np.exp(s) + 2.0 * np.exp(-1.0))
            np.testing.assert_allclose(getattr(reports["prob"], kind)[name], expected, rtol=1e-6)
    assert reports["logit"].deletion["box"][:, 0].min() > 0.5  # the probabilities vary: the test can fail


def test_mean_ci_is_1_96_standard_errors_with_the_sample_std():
    mean, half = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5
    assert half == pytest.approx(1.96 * np.sqrt(5.0 / 3.0) / 2.0)  # sample std sqrt(5/3), sqrt(n) = 2
    means, halves = mean_ci(np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 16.0]]))  # per column
    np.testing.assert_allclose(means, [2.0, 12.0])
    np.testing.assert_allclose(halves, [1.96 * 2.0 / np.sqrt(3.0), 1.96 * np.sqrt(12.0) / np.sqrt(3.0)])
    assert np.isnan(mean_ci(np.array([3.0]))[1])


def test_published_intervals_are_mean_plus_minus_1_96_standard_errors_of_the_per_frame_aopc():
    agent, obs = agent_for(LinearPolicy(seed=2)), objects_obs(5, seed=4)
    report = pixel_flipping(agent, obs, methods=["random"], maps={"m": np.random.default_rng(1).random((5, 84, 84))},
                            region=21)
    d = report.to_dict()
    per = deletion_aopc(report.deletion["m"])
    half = 1.96 * per.std(ddof=1) / np.sqrt(5)
    assert d["aopc_ci95"]["m"] == pytest.approx([per.mean() - half, per.mean() + half])
    paired = per - deletion_aopc(report.deletion["random"])
    assert d["aopc_minus_random"]["m"]["ci95_half_width"] == pytest.approx(1.96 * paired.std(ddof=1) / np.sqrt(5))
    band = d["curves"]["deletion"]["m"]["ci95_half_width"]
    np.testing.assert_allclose(band[1:], 1.96 * report.deletion["m"].std(0, ddof=1)[1:] / np.sqrt(5), rtol=1e-9)


def test_region_scores_sum_each_square_row_major():
    m = np.zeros((1, 84, 84), np.float32)
    m[0, :42, :42], m[0, :42, 42:], m[0, 42:, :42], m[0, 42:, 42:] = 1.0, 2.0, 3.0, 4.0
    m[0, 0, 0] = 11.0  # one pixel more in region 0
    np.testing.assert_allclose(region_scores(m, 42), [[42 * 42 + 10.0, 2 * 42 * 42, 3 * 42 * 42, 4 * 42 * 42]])
    assert region_scores(np.ones((2, 84, 84)), 7).shape == (2, 144)
    with pytest.raises(RlvizError, match="square"):
        region_scores(np.ones((1, 84, 42)), 7)


def test_regions_are_replaced_in_order_several_per_step():
    from rlviz.assess.faithfulness import check_region, pixel_steps, region_order

    orders = region_order(np.array([[0.5, 4.0, -1.0, 2.0]]), np.random.default_rng(0))
    assert orders.tolist() == [[1, 3, 0, 2]]  # most relevant first, by value
    steps = pixel_steps(orders, 42, 84, regions_per_step=1)
    assert (steps[0, 0, 0], steps[0, 0, 42], steps[0, 42, 0], steps[0, 42, 42]) == (3, 1, 4, 2)
    two = pixel_steps(orders, 42, 84, regions_per_step=2)
    assert (two[0, 0, 0], two[0, 0, 83], two[0, 83, 0], two[0, 83, 83]) == (2, 1, 2, 1)
    ties = region_order(np.zeros((1, 144)), np.random.default_rng(0))[0]
    assert sorted(ties.tolist()) == list(range(144)) and ties.tolist() != list(range(144))  # shuffled, not raster
    assert check_region(1) == 84 and check_region(7) == 12 and check_region(12, 24) == 2
    for bad in (0, 9):
        with pytest.raises(RlvizError) as info:
            check_region(bad)
        assert str(info.value) == f"region size must divide 84; choose one of [1, 2, 3, 4, 6, 7, 12, 14, 21, 28, 42, 84], got {bad}"


def test_two_regions_per_step_give_half_as_many_steps_on_the_same_path():
    net = LinearPolicy(seed=4)
    agent, obs = agent_for(net), objects_obs(2, seed=5)
    ranking = np.random.default_rng(6).random((2, 84, 84)).astype(np.float32)
    one = pixel_flipping(agent, obs, methods=[], maps={"m": ranking}, region=21)
    two = pixel_flipping(agent, obs, methods=[], maps={"m": ranking}, region=21, regions_per_step=2)
    assert two.n_steps == 8 and one.n_steps == 16
    np.testing.assert_allclose(two.deletion["m"], one.deletion["m"][:, ::2], atol=1e-5)
    np.testing.assert_allclose(two.insertion["m"], one.insertion["m"][:, ::2], atol=1e-5)
    with pytest.raises(RlvizError, match="regions_per_step must be at least 1, got 0"):
        pixel_flipping(agent, obs, methods=[], maps={"m": ranking}, regions_per_step=0)


def test_mean_ci_of_two_samples():
    mean, half = mean_ci(np.array([1.0, 3.0]))
    assert mean == 2.0 and half == pytest.approx(1.96 * np.sqrt(2.0) / np.sqrt(2.0))
