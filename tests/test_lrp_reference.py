"""The LRP rule relative to a reference input (DESIGN.md §8), against its closed form in float64.

R_i = sum_j w_ij (x_i - x~_i) / (sum_i' w_i'j (x_i' - x~_i') + eps sign) R_j on the first layer;
epsilon-gamma-reference puts it there and the usual rules above.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.explain.lrp import lrp, make_composite
from rlviz.explain.lrp.attribution import relevance
from rlviz.explain.lrp.composites import Composite
from rlviz.explain.lrp.rules import Reference
from rlviz.util.errors import RlvizError

DT = torch.float64


def _sign(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t >= 0, 1.0, -1.0).to(t.dtype)


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).to(DT)


def test_reference_rule_on_a_small_net_equals_its_closed_form() -> None:
    net = _mlp()
    torch.manual_seed(1)
    x, ref = torch.rand(2, 6, dtype=DT), torch.rand(6, dtype=DT)
    eps = 1e-6
    composite = make_composite("epsilon-gamma-reference", reference=ref, epsilon=eps, stabilizer=eps)
    onehot = lambda y: torch.nn.functional.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
    got = relevance(net, net, x, onehot, composite)
    w1, b1, w2, b2 = (p.detach() for p in net.parameters())
    for n in range(2):
        a1 = torch.relu(w1 @ x[n] + b1)
        z2 = w2 @ a1 + b2
        k = int(z2.argmax())
        r2 = torch.zeros(3, dtype=DT)
        r2[k] = z2[k]
        den2 = z2 + eps * _sign(z2)  # epsilon on the output layer
        r1 = (a1[None, :] * w2 / den2[:, None] * r2[:, None]).sum(0)
        contrib = w1 * (x[n] - ref)[None, :]  # [5, 6]: w_ij (x_i - x~_i)
        den1 = contrib.sum(1) + eps * _sign(contrib.sum(1))
        r0 = (contrib / den1[:, None] * r1[:, None]).sum(0)
        torch.testing.assert_close(got[n], r0, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layer", [nn.Linear(6, 5), nn.Conv2d(3, 4, kernel_size=8, stride=4)], ids=["linear", "conv-k8-s4"])
def test_reference_rule_conserves_relevance_even_with_a_bias(layer: nn.Module) -> None:
    """The bias is not in the denominator, so sum_i R_i = sum_j R_j wherever some input differs."""
    torch.manual_seed(2)
    layer = layer.to(DT)
    with torch.no_grad():
        layer.bias.uniform_(-1, 1)
    shape = (2, 6) if isinstance(layer, nn.Linear) else (2, 3, 18, 18)
    x, ref = torch.rand(shape, dtype=DT), torch.rand(shape[1:], dtype=DT)
    rule = Reference(ref, stabilizer=1e-12)
    record: list = []
    with torch.no_grad():
        r_out = torch.randn_like(layer(x))
        z = layer(x)
    r_in = relevance(layer, layer, x, r_out / z, Composite("t", rule, rule, rule, rule), record=record)
    torch.testing.assert_close(r_in.reshape(2, -1).sum(1), r_out.reshape(2, -1).sum(1), rtol=1e-8, atol=1e-10)


def test_relevance_lands_only_where_the_input_differs_from_the_reference() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(4, 8, 8, stride=4), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 3))
    ref = torch.rand(4, 24, 24)  # float32, as lrp() takes observations
    x = ref.clone()[None]
    x[0, :, 5:8, 10:12] += 0.3  # one small "object" in every stacked frame
    r = torch.from_numpy(lrp(net, x, composite="epsilon-gamma-reference", reference=ref))
    outside = torch.ones(24, 24, dtype=torch.bool)
    outside[5:8, 10:12] = False
    assert float(r[0][:, outside].abs().max()) == 0.0
    assert float(r[0][:, ~outside].abs().sum()) > 0.0


def test_reference_equal_to_the_input_gives_no_relevance() -> None:
    net = _mlp()
    x = torch.rand(1, 6, dtype=DT)
    r = relevance(net, net, x, torch.ones(1, 3, dtype=DT), make_composite("epsilon-gamma-reference", reference=x[0]))
    assert torch.all(r == 0)


def test_uint8_background_frame_is_a_reference_on_the_input_scale() -> None:
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(4, 2, 4, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))
    bg = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    obs = np.random.default_rng(1).integers(0, 256, (1, 4, 8, 8), dtype=np.uint8)
    from_frame = lrp(net, obs, composite="epsilon-gamma-reference", reference=bg)
    from_stack = lrp(net, obs, composite="epsilon-gamma-reference",
                     reference=torch.from_numpy(np.repeat(bg[None], 4, 0).astype(np.float32) / 255))
    np.testing.assert_allclose(from_frame, from_stack, rtol=1e-6, atol=1e-7)


def test_reference_composite_without_a_reference_is_refused() -> None:
    with pytest.raises(RlvizError) as info:
        make_composite("epsilon-gamma-reference")
    assert str(info.value) == (
        "composite 'epsilon-gamma-reference' needs reference=<background>, e.g. "
        "reference=rlviz.background(agent) (a uint8 frame or stack, or floats in [0, 1])")
    assert type(make_composite("epsilon-gamma-reference", reference=0.5).first).__name__ == "Reference"


def test_reference_composite_puts_the_reference_first_gamma_on_convs_and_epsilon_on_dense() -> None:
    """Like epsilon-gamma-box (composites.py's table) with the pixel layer relative to x~; its
    parameters reach their rules."""
    background = np.zeros((2, 4, 4), np.float32)
    c = make_composite("epsilon-gamma-reference", reference=background)
    assert c.name == "epsilon-gamma-reference"
    assert (repr(c.first), repr(c.conv), repr(c.dense), repr(c.pool)) == (
        "Reference(reference=(2, 4, 4), stabilizer=1e-06)", "Gamma(gamma=0.25, stabilizer=1e-06)",
        "Epsilon(epsilon=1e-06)", "Epsilon(epsilon=1e-06)")
    c = make_composite("epsilon-gamma-reference", reference=background, gamma=0.5, epsilon=0.1, stabilizer=0.01)
    assert (repr(c.first), repr(c.conv), repr(c.dense), repr(c.pool)) == (
        "Reference(reference=(2, 4, 4), stabilizer=0.01)", "Gamma(gamma=0.5, stabilizer=0.01)",
        "Epsilon(epsilon=0.1)", "Epsilon(epsilon=0.1)")


def test_a_reference_given_as_uint8_or_as_floats_in_any_container_is_the_same_reference() -> None:
    """uint8 backgrounds (NumPy or torch) are divided by 255 like observations; floats (NumPy
    float64, torch float32, nested lists) are taken as they are."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(4, 2, 4, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))
    bg = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    obs = np.random.default_rng(1).integers(0, 256, (1, 4, 8, 8), dtype=np.uint8)

    def explain(reference) -> np.ndarray:
        return lrp(net, obs, composite="epsilon-gamma-reference", reference=reference)

    want = explain(torch.from_numpy(bg.astype(np.float32) / 255))
    assert not np.allclose(want, explain(0.0), rtol=1e-3)  # the reference matters
    for reference in (bg, torch.from_numpy(bg), bg.astype(np.float64) / 255, (bg / 255).tolist()):
        np.testing.assert_allclose(explain(reference), want, rtol=1e-5, atol=1e-7)


def test_make_composite_without_a_name_is_the_default_epsilon_gamma_box() -> None:
    default, named = make_composite(), make_composite("epsilon-gamma-box")
    assert default.name == "epsilon-gamma-box"
    assert [repr(getattr(default, k)) for k in ("first", "conv", "dense", "pool")] == [
        repr(getattr(named, k)) for k in ("first", "conv", "dense", "pool")]
