"""rlviz.attribute and the method registry: one entry point, the old methods unchanged, the
contrastive target, and every method a row of the faithfulness evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rlviz
from rlviz.agents.agent import Agent
from rlviz.assess.faithfulness import (
    available_methods,
    compute_maps,
    pixel_flipping_outputs,
)
from rlviz.explain.gradient import gradient, gradient_x_input
from rlviz.explain.lrp import lrp
from rlviz.explain.perturbation import perturbation_saliency
from rlviz.explain.registry import attribute, method_names, methods_table, registry
from rlviz.explain.targets import Contrast
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError

FAST = {"smoothgrad": {"samples": 2}, "integrated-gradients": {"steps": 2}, "meaningful-perturbation": {"iterations": 2}}


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(4, 8, 8, stride=4), nn.ReLU(), nn.Conv2d(8, 8, 4, stride=2), nn.ReLU(),
                                      nn.Flatten(), nn.Linear(8 * 9 * 9, 16), nn.ReLU())
        self.actor = nn.Linear(16, 4)
        self.critic = nn.Linear(16, 1)

    def forward(self, x):
        h = self.features(x)
        return self.actor(h), self.critic(h).squeeze(-1)


@pytest.fixture
def small() -> Agent:
    return Agent(SmallNet(), env_spec=EnvSpec("Pong"))


@pytest.fixture
def obs() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, size=(2, 4, 84, 84), dtype=np.uint8)


def test_every_method_returns_its_documented_shape_as_float32(small, obs):
    for name, spec in registry().items():
        maps = attribute(small, obs, name, **FAST.get(name, {}))
        expected = (2, 4, 84, 84) if spec.output == "frames" else (2, 84, 84)
        assert maps.shape == expected and maps.dtype == np.float32 and np.isfinite(maps).all(), name
    assert attribute(small, obs[0], "gradient").shape == (1, 4, 84, 84)  # one observation: a batch of one


def test_the_existing_methods_are_reached_unchanged(small, obs):
    sal = perturbation_saliency(small, obs)
    assert np.array_equal(attribute(small, obs, "saliency-actor"), sal.actor)
    assert np.array_equal(attribute(small, obs, "saliency-critic"), sal.critic)
    assert np.array_equal(attribute(small, obs, "gradient", target="value"), gradient(small, obs, "value"))
    assert np.array_equal(attribute(small, obs, "gradient-x-input", target=2), gradient_x_input(small, obs, 2))
    assert np.array_equal(attribute(small, obs, "lrp-epsilon-gamma-box", target="value", gamma=0.5),
                          lrp(small, obs, target="value", composite="epsilon-gamma-box", gamma=0.5))
    assert rlviz.attribute is attribute


def test_unknown_method_option_and_target_are_refused_in_one_line(small, obs):
    with pytest.raises(RlvizError, match="unknown explanation method 'occlusion'; choose from: saliency-actor"):
        attribute(small, obs, "occlusion")
    with pytest.raises(RlvizError, match="has no option stepz; its options: baseline, steps"):
        attribute(small, obs, "integrated-gradients", stepz=3)
    with pytest.raises(RlvizError, match="cannot explain target 'value'"):
        attribute(small, obs, "sarfa", target="value")
    with pytest.raises(RlvizError, match="target must be"):
        attribute(small, obs, "gradient", target="policy")


def _per_action(fn, agent, obs, n_actions):
    return np.stack([fn(agent, obs, a) for a in range(n_actions)])  # (A, N, ...)


@pytest.mark.parametrize("method", ["gradient", "gradient-x-input", "lrp-epsilon-gamma-box", "lrp-epsilon-plus-flat",
                                    "integrated-gradients", "deeplift"])
def test_contrastive_map_is_the_chosen_map_minus_the_mean_of_the_others(small, obs, method):
    opts = FAST.get(method, {})
    greedy = small(obs)[0].argmax(-1).numpy()
    per = _per_action(lambda a, o, t: attribute(a, o, method, target=t, **opts), small, obs, 4)
    expected = np.stack([per[greedy[i], i] - np.delete(per[:, i], greedy[i], axis=0).mean(0) for i in range(2)])
    got = attribute(small, obs, method, target="contrast", **opts)
    scale = np.abs(expected).max()
    assert np.allclose(got, expected, atol=1e-4 * scale), method
    assert np.allclose(attribute(small, obs, method, target=Contrast(greedy), **opts), got, atol=1e-6 * scale)


class SharedShift(nn.Module):
    """Logits (r + d, d, d): region d shifts every action alike; r (rows 0-20) is action 0's own."""

    def forward(self, x):
        r = x[:, :, :20].mean((1, 2, 3))
        d = x[:, :, 50:].mean((1, 2, 3))
        return torch.stack([r + d, d, d - 0.1], 1), d


def test_contrastive_gradient_ignores_what_all_actions_share(obs):
    agent = Agent(SharedShift(), env_spec=EnvSpec("Pong"))
    plain = attribute(agent, obs, "gradient", target=0)
    contrast = attribute(agent, obs, "gradient", target=Contrast(0))
    assert np.abs(plain[:, :, 50:]).max() > 0
    assert np.abs(contrast[:, :, 50:]).max() < 1e-9  # the shared region drops out
    assert np.allclose(contrast[:, :, :20], plain[:, :, :20])


def test_every_registered_method_is_a_faithfulness_row_with_a_cost(small, obs):
    names = available_methods()
    assert set(method_names()) | {"random"} == set(names)
    reports = pixel_flipping_outputs(small, obs[:1], methods=["gradcam", "sarfa", "deeplift", "random"],
                                     outputs=["logit", "value"], region=21)
    assert set(reports["logit"].methods) == {"gradcam", "sarfa", "deeplift", "random"}
    assert "sarfa" not in reports["value"].methods  # SARFA has no value map: left out, not faked
    assert all(reports["logit"].frames_per_second[m] > 0 for m in ("gradcam", "sarfa", "deeplift"))
    assert "frames/s" in reports["logit"].table()
    contrast = compute_maps(small, obs, "gradient-x-input@contrast", np.array([1, 2]))
    expected = attribute(small, obs, "gradient-x-input", target=Contrast(np.array([1, 2]))).sum(1)
    assert np.allclose(contrast, expected)
    with pytest.raises(RlvizError, match="no contrastive variant"):
        compute_maps(small, obs, "saliency-actor@contrast")


def test_methods_table_lists_every_method_with_its_output_and_options():
    text = methods_table()
    for name in registry():
        assert f"{name}  ->  " in text
    assert "baseline=None" in text and "(N, 84, 84)" in text
