"""DeepLIFT-rescale on a one-unit net, where every contribution has a closed form:

    z = sum_i w_i x_i + c,  h = g(z),  logits_a = u_a h + e_a,  value = v h
    contribution_i = (x_i - x~_i) w_i m u_a,   m = (g(z) - g(z~)) / (z - z~)   (g'(z) where z = z~)

(the Captum comparison and the summation to delta on a conv net are in test_attribution_methods.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.explain.deeplift import deeplift
from rlviz.explain.targets import Contrast
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError

U = torch.tensor([2.0, -3.0, 0.5])  # u_a: the unit's weight in each logit
V = -1.5  # the unit's weight in the value
PIXELS = [(0, 0, 0, 1.0), (0, 0, 1, -1.0), (3, 10, 10, 2.0)]  # (frame, row, col, w_i)


class OneUnit(nn.Module):
    def __init__(self, act: nn.Module, c: float = 0.0) -> None:
        super().__init__()
        w = torch.zeros(4, 84, 84)
        for f, r, col, wi in PIXELS:
            w[f, r, col] = wi
        self.w = nn.Parameter(w)
        self.c = c
        self.act = act

    def forward(self, x: torch.Tensor):
        z = (x * self.w).sum((1, 2, 3)) + self.c
        h = self.act(z[:, None])
        return h * U + torch.tensor([0.1, 0.2, 0.3]), V * h[:, 0]


def _agent(act: nn.Module, c: float = 0.0) -> Agent:
    return Agent(OneUnit(act, c), env_spec=EnvSpec("Pong"), action_names=["A", "B", "C"])


def _obs(values: dict[tuple[int, int, int], float]) -> torch.Tensor:
    x = torch.zeros(4, 84, 84)
    for k, val in values.items():
        x[k] = val
    return x


def _expected(x: torch.Tensor, r: torch.Tensor, m: float, weight: float) -> np.ndarray:
    """(x - x~) w m weight at the three pixels, 0 elsewhere."""
    out = np.zeros((4, 84, 84))
    for f, row, col, wi in PIXELS:
        out[f, row, col] = float(x[f, row, col] - r[f, row, col]) * wi * m * weight
    return out


def test_relu_unit_that_crosses_zero_passes_back_the_secant_slope_not_the_gradient():
    # z = 0.5 - 0.2 = 0.3 at x, z~ = -0.4 at the reference: m = (0.3 - 0) / 0.7 = 3/7 (the gradient would say 1)
    agent = _agent(nn.ReLU())
    x = _obs({(0, 0, 0): 0.5, (0, 0, 1): 0.2})
    ref = _obs({(0, 0, 1): 0.4})
    got = deeplift(agent, x[None], 0, baseline=ref)
    assert got.shape == (1, 4, 84, 84) and got.dtype == np.float32
    assert np.allclose(got[0], _expected(x, ref, 3 / 7, float(U[0])), atol=1e-6)


def test_a_unit_whose_input_does_not_change_passes_back_its_local_derivative():
    # the two first pixels change by the same amount and cancel in z: z = z~, so m = g'(z) = 1 - tanh(z)^2
    c = 0.4
    agent = _agent(nn.Tanh(), c)
    x = _obs({(0, 0, 0): 0.7, (0, 0, 1): 0.7, (3, 10, 10): 0.25})
    ref = _obs({(0, 0, 0): 0.2, (0, 0, 1): 0.2, (3, 10, 10): 0.25})
    z = 0.7 - 0.7 + 2 * 0.25 + c
    m = 1 - math.tanh(z) ** 2
    got = deeplift(agent, x[None], "value", baseline=ref)
    assert np.allclose(got[0], _expected(x, ref, m, V), rtol=2e-3, atol=1e-7)
    assert abs(got[0, 0, 0, 0]) > 0.1  # each pixel has its share, though they sum to f(x) - f(x~) = 0
    assert got.sum() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("act", [nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.ELU(), nn.LeakyReLU(0.1), nn.SiLU(), nn.GELU()])
def test_every_listed_nonlinearity_uses_its_secant_slope(act):
    x = _obs({(0, 0, 0): 0.9, (0, 0, 1): 0.1, (3, 10, 10): 0.3})
    ref = _obs({(0, 0, 0): 0.1, (0, 0, 1): 0.6, (3, 10, 10): 0.05})
    c = -0.2
    z = 0.9 - 0.1 + 0.6 + c
    z_ref = 0.1 - 0.6 + 0.1 + c
    g = lambda t: float(act(torch.tensor([t], dtype=torch.float64)))  # noqa: E731
    m = (g(z) - g(z_ref)) / (z - z_ref)
    got = deeplift(_agent(act, c), x[None], 1, baseline=ref)
    assert np.allclose(got[0], _expected(x, ref, m, float(U[1])), rtol=1e-4, atol=1e-7)


def test_each_observation_is_compared_with_its_own_reference_in_any_batch_size():
    agent = _agent(nn.ReLU(), 0.05)
    xs = torch.stack([_obs({(0, 0, 0): 0.2 * k, (0, 0, 1): 0.1, (3, 10, 10): 0.05 * k}) for k in range(1, 6)])
    refs = torch.stack([_obs({(0, 0, 0): 0.3, (0, 0, 1): 0.1 * k, (3, 10, 10): 0.0}) for k in range(1, 6)])
    expected = []
    for x, r in zip(xs, refs):
        z, z_ref = agent.net.forward(x[None])[1].item() / V, agent.net.forward(r[None])[1].item() / V  # h = value / v
        zx = float((x * agent.net.w).sum().detach()) + 0.05
        zr = float((r * agent.net.w).sum().detach()) + 0.05
        m = (max(zx, 0) - max(zr, 0)) / (zx - zr)
        assert z == pytest.approx(max(zx, 0), abs=1e-6) and z_ref == pytest.approx(max(zr, 0), abs=1e-6)
        expected.append(_expected(x, r, m, float(U[2])))
    for batch_size in (128, 2, 1):
        got = deeplift(agent, xs, 2, baseline=refs, batch_size=batch_size)
        assert np.allclose(got, np.stack(expected), atol=1e-6), batch_size


def test_targets_action_contrast_and_index_weight_the_unit_by_their_logits():
    agent = _agent(nn.ReLU())
    x = torch.stack([_obs({(0, 0, 0): 0.9}), _obs({(0, 0, 0): 0.1})])
    # h = 0.9: logits 1.9, -2.5, 0.75 (greedy A); h = 0.1: logits 0.3, -0.1, 0.35 (greedy C); m = 1 for both
    ref = torch.zeros(4, 84, 84)
    one = deeplift(agent, x, "action")
    assert np.allclose(one[0], _expected(x[0], ref, 1.0, float(U[0])), atol=1e-6)
    assert np.allclose(one[1], _expected(x[1], ref, 1.0, float(U[2])), atol=1e-6)
    contrast = deeplift(agent, x, "contrast")
    assert np.allclose(contrast[0], _expected(x[0], ref, 1.0, float(U[0] - (U[1] + U[2]) / 2)), atol=1e-6)
    assert np.allclose(contrast[1], _expected(x[1], ref, 1.0, float(U[2] - (U[0] + U[1]) / 2)), atol=1e-6)
    assert np.allclose(deeplift(agent, x, Contrast(np.array([0, 2]))), contrast, atol=1e-7)
    per = deeplift(agent, x, np.array([1, 0]))
    assert np.allclose(per[0], _expected(x[0], ref, 1.0, float(U[1])), atol=1e-6)
    assert np.allclose(per[1], _expected(x[1], ref, 1.0, float(U[0])), atol=1e-6)
    # one observation a batch: each keeps its own action
    for target, whole in (("action", one), ("contrast", contrast), (np.array([1, 0]), per)):
        assert np.allclose(deeplift(agent, x, target, batch_size=1), whole, atol=1e-7)
    assert np.array_equal(deeplift(agent, x), one)  # "action" is the default
    with pytest.raises(RlvizError, match="target must be"):
        deeplift(agent, x, "policy")


class Constant(nn.Module):
    def __init__(self, learnable: bool) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.ones(3)) if learnable else None

    def forward(self, x: torch.Tensor):
        base = self.b if self.b is not None else torch.ones(3)
        logits = base.expand(x.shape[0], 3) + 0.0
        return logits, logits[:, 0]


@pytest.mark.parametrize("learnable", [False, True])
def test_a_net_that_ignores_its_input_gets_zero_maps(learnable):
    agent = Agent(Constant(learnable), env_spec=EnvSpec("Pong"), action_names=["A", "B", "C"])
    x = torch.rand(3, 4, 84, 84)
    got = deeplift(agent, x, "value", batch_size=2)
    assert got.shape == (3, 4, 84, 84) and not got.any()


def test_the_hooks_are_gone_after_the_call_so_the_net_is_unchanged():
    agent = _agent(nn.ReLU())
    x = _obs({(0, 0, 0): 0.5})[None]
    before = agent.net(x)[0].detach().clone()
    deeplift(agent, x, 0, baseline=0.3)
    assert not agent.net.act._forward_hooks
    assert torch.equal(agent.net(x)[0], before)
