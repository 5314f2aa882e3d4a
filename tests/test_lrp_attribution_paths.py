"""The paths through LRP's attribution driver (rlviz/explain/lrp/attribution.py) that the rule
tests do not reach: a first layer that is a Linear with a bias, relevance deposited straight
on the observation (zero pixels included) from more than one layer, the per-sample record,
batches of one, per-frame contrastive targets across batches, the value target, the range
check on float frames, and an output whose gradient comes from a tensor made inside forward.

Oracles are closed forms in float64 (z^B of a single Linear written out by hand) and
LRP-0 = gradient x input. lrp returns float32 maps, hence the tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureQNetwork
from rlviz.explain.lrp import lrp, make_composite, relevance
from rlviz.explain.lrp.composites import Composite
from rlviz.explain.lrp.rules import Epsilon, ZBox
from rlviz.explain.targets import Contrast
from rlviz.util.errors import RlvizError

DT = torch.float64
N_IN = 2 * 4 * 4  # observations of shape (2, 4, 4)


def _frames(n: int = 4, seed: int = 0) -> torch.Tensor:
    """Frames in [0, 1] of which about half the pixels are exactly 0, like an Atari screen."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 2, 4, 4), generator=g, dtype=DT)
    return torch.where(torch.rand(x.shape, generator=g, dtype=DT) < 0.5, torch.zeros_like(x), x)


def _linear(n_out: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(N_IN, n_out).to(DT)
    with torch.no_grad():
        layer.bias.copy_(torch.linspace(-2.0, 3.0, n_out, dtype=DT))  # large biases of both signs
    return layer


def _zbox_by_hand(layer: nn.Linear, x: torch.Tensor, weight_of_output: torch.Tensor) -> torch.Tensor:
    """z^B on [0, 1] for one Linear, written out: R_i = sum_j (x_i w_ji - h w_ji^-) / zb_j R_j with
    zb_j = sum_i (x_i w_ji - h w_ji^-) (no bias) and R_j = z_j * weight_of_output_j."""
    flat = x.reshape(x.shape[0], -1)
    w = layer.weight.detach()
    z = flat @ w.T + layer.bias.detach()
    num = flat[:, None, :] * w[None] - w.clamp(max=0)[None]  # [N, out, in]; low = 0 adds nothing
    zb = num.sum(-1)
    return (num * (z * weight_of_output / zb)[:, :, None]).sum(1).reshape(x.shape)


class _Mlp(nn.Module):
    """Q-values from one Linear on the flattened frame: the observation's layer is a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten, self.fc = nn.Flatten(), _linear(3, seed=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(x))


class _TwoReaders(nn.Module):
    """Q = A x + B x: two layers read the observation, so two deposits make up its relevance."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten, self.a, self.b = nn.Flatten(), _linear(3, seed=2), _linear(3, seed=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = self.flatten(x)
        return self.a(flat) + self.b(flat)


def test_a_linear_first_layer_with_a_bias_gets_zbox_without_its_bias_in_the_denominator() -> None:
    """Guards the Dense built in the hook: its bias is what z^B subtracts from z."""
    net, x = _Mlp(), _frames()
    q = net(x).detach()
    onehot = torch.nn.functional.one_hot(q.argmax(1), 3).to(DT)
    want = _zbox_by_hand(net.fc, x, onehot).numpy()
    np.testing.assert_allclose(lrp(net, x, composite="epsilon-gamma-box", stabilizer=1e-12), want, rtol=1e-5, atol=1e-7)


def test_relevance_on_zero_pixels_is_kept_and_two_layers_reading_the_frame_add_up() -> None:
    """z^B gives relevance to pixels that are 0 (through -h w^-): it is deposited on the
    observation, not turned into a gradient (which would lose it where x = 0). With two layers
    reading the frame, the map is the sum of both layers' deposits."""
    net, x = _TwoReaders(), _frames()
    q = net(x).detach()
    onehot = torch.nn.functional.one_hot(q.argmax(1), 3).to(DT)
    # each branch's output relevance is its own z_j times the gradient of sum(onehot * Q) (= onehot)
    want = (_zbox_by_hand(net.a, x, onehot) + _zbox_by_hand(net.b, x, onehot)).numpy()
    got = lrp(net, x, composite="epsilon-gamma-box", stabilizer=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    zero = (x == 0).numpy()
    assert zero.mean() > 0.3 and np.abs(got[zero]).max() > 1e-3  # the zero pixels carry relevance


def test_the_record_holds_one_figure_per_sample_and_starts_at_the_explained_logit() -> None:
    """relevance(record=[...]): per layer (backward order) the output and input relevance of
    each sample; the last layer's output relevance is the explained logit itself."""
    net, x = _Mlp(), _frames(n=5)
    q = net(x).detach()
    record: list = []
    onehot = torch.nn.functional.one_hot(q.argmax(1), 3).to(DT)
    relevance(net, net, x, onehot, make_composite("epsilon", epsilon=1e-12), record=record)
    assert [name for name, _, _ in record] == ["fc"]
    _, out, into = record[0]
    assert out.shape == (5,) and into.shape == (5,)
    np.testing.assert_allclose(out.numpy(), q.max(1).values.numpy(), rtol=1e-12)


def test_a_batch_of_one_frame_is_allowed_and_gives_the_same_maps() -> None:
    net, x = _Mlp(), _frames(n=3)
    np.testing.assert_allclose(lrp(net, x, batch_size=1), lrp(net, x), rtol=1e-12, atol=1e-15)
    with pytest.raises(RlvizError, match="batch_size must be at least 1, got 0"):
        lrp(net, x, batch_size=0)


def test_per_frame_contrastive_targets_are_split_with_the_batches() -> None:
    """Contrast(one action per frame) over five frames in batches of two: each batch gets its
    own frames' actions, and the maps equal one batch of five."""
    net, x = _Mlp(), _frames(n=5)
    target = Contrast(np.array([0, 2, 1, 1, 0]))
    whole = lrp(net, x, target=target)
    np.testing.assert_allclose(lrp(net, x, target=target, batch_size=2), whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(whole[1], lrp(net, x[1:2], target=Contrast(np.array([2])))[0], rtol=1e-12)


class _ActorCritic(nn.Module):
    """(logits, value) with separate heads on a shared Linear + ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten, self.body, self.act = nn.Flatten(), _linear(6, seed=4), nn.ReLU()
        torch.manual_seed(5)
        self.actor, self.critic = nn.Linear(6, 3).to(DT), nn.Linear(6, 1).to(DT)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.act(self.body(self.flatten(x)))
        return self.actor(h), self.critic(h).squeeze(-1)


def test_the_value_target_explains_the_value_not_the_logits() -> None:
    """LRP-0 equals gradient x input (ReLU network): the value map is x * dV/dx."""
    net, x = _ActorCritic(), _frames(n=3)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(xg)[1].sum(), xg)
    want = (x * grad).numpy()
    np.testing.assert_allclose(lrp(net, x, target="value", composite="zero"), want, rtol=1e-5, atol=1e-7)


def test_an_agent_refuses_float_frames_in_0_255_a_plain_network_takes_them() -> None:
    """For an Agent, float frames must already be divided by 255; a plain nn.Module defines its
    own input domain, so lrp passes the values through."""
    torch.manual_seed(0)
    agent = Agent(NatureQNetwork(3))
    raw = torch.rand((1, 4, 84, 84)) * 255
    with pytest.raises(RlvizError, match="float observations must lie in"):
        lrp(agent, raw)
    assert lrp(agent.net, raw).shape == (1, 4, 84, 84)


class _MadeInside(nn.Module):
    """An output that needs a gradient, but of a tensor made inside forward, not of the frame."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3).to(DT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inside = torch.ones(x.shape[0], 2, dtype=x.dtype, requires_grad=True)
        return self.fc(inside)


def test_an_output_whose_gradient_never_reaches_the_frame_gives_a_zero_map() -> None:
    net, x = _MadeInside(), _frames(n=2)
    composite = Composite("custom", ZBox(), Epsilon(), Epsilon(), Epsilon())
    got = lrp(net, x, composite=composite)
    assert got.shape == (2, 2, 4, 4) and np.all(got == 0)


class _PixelWise(nn.Module):
    """Q = sum over pixels of a Linear on each pixel's channels: the first layer reads the frame
    permuted to (N, H, W, C), a view of the observation that is not its memory in order."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.fc = nn.Linear(2, 3).to(DT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.permute(0, 2, 3, 1)).sum(dim=(1, 2))


def test_a_first_layer_reading_a_permuted_view_gets_its_relevance_back_in_place() -> None:
    """Relevance of a permuted view goes back through the permutation (as a gradient), not
    poured into the observation in the view's order. Frames without zeros: none is lost."""
    net = _PixelWise()
    x = torch.rand((2, 2, 4, 4), generator=torch.Generator().manual_seed(7), dtype=DT) * 0.9 + 0.05
    q = net(x).detach()
    onehot = torch.nn.functional.one_hot(q.argmax(1), 3).to(DT)  # [N, 3]
    w, b = net.fc.weight.detach(), net.fc.bias.detach()
    pixels = x.permute(0, 2, 3, 1)  # [N, H, W, C]
    z = pixels @ w.T + b  # [N, H, W, 3]
    num = pixels[..., None, :] * w - w.clamp(max=0)  # [N, H, W, 3, C]
    per_pixel = (num * (z * onehot[:, None, None, :] / num.sum(-1))[..., None]).sum(-2)  # [N, H, W, C]
    want = per_pixel.permute(0, 3, 1, 2).numpy()
    got = lrp(net, x, composite="epsilon-gamma-box", stabilizer=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
