"""Each LRP rule against its formula written out as plain matrix algebra, in float64.

A layer (Linear, or Conv2d with stride and padding) is turned into its dense matrix M
(out units x in units) by applying it to unit vectors; the reference rule then works on the
contribution matrix C[k, j] of input j to output k: R_j = sum_k C[k, j] / den_k * R_k.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from rlviz.explain.lrp.attribution import relevance
from rlviz.explain.lrp.composites import Composite
from rlviz.explain.lrp.rules import (
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    Reference,
    Rule,
    WSquare,
    ZBox,
    Zero,
    ZPlus,
    divide,
    ratio,
    stabilize,
)
from rlviz.util.errors import RlvizError

DT = torch.float64


def _linear() -> nn.Module:
    torch.manual_seed(1)
    return nn.Linear(6, 5).to(DT)


def _conv() -> nn.Module:
    torch.manual_seed(2)
    return nn.Conv2d(3, 4, kernel_size=3, stride=2, padding=1).to(DT)  # 7x7 -> 4x4


def _blocked_conv() -> nn.Module:
    torch.manual_seed(4)
    return nn.Conv2d(3, 4, kernel_size=4, stride=2, padding=1).to(DT)  # 11x11 -> 5x5, the last padding row unread


def _nature_conv() -> nn.Module:
    torch.manual_seed(5)
    return nn.Conv2d(3, 2, kernel_size=8, stride=4).to(DT)  # 18x18 -> 3x3, two rows unread; like the Nature CNN conv1


def _grouped_conv() -> nn.Module:
    torch.manual_seed(8)
    return nn.Conv2d(4, 6, kernel_size=4, stride=2, padding=1, groups=2).to(DT)  # 11x11 -> 5x5, two channel groups


def _dilated_conv() -> nn.Module:
    torch.manual_seed(9)
    return nn.Conv2d(3, 4, kernel_size=4, stride=2, dilation=2).to(DT)  # 13x13 -> 4x4, taps two pixels apart


def _oblong_conv() -> nn.Module:
    torch.manual_seed(10)
    return nn.Conv2d(3, 4, kernel_size=(4, 6), stride=(2, 3), padding=(1, 0)).to(DT)  # 11x17 -> 5x4, rows and columns unread


def _tall_conv() -> nn.Module:
    torch.manual_seed(11)
    return nn.Conv2d(2, 3, kernel_size=(6, 4), stride=(3, 2)).to(DT)  # 17x11 -> 4x4, taller than wide, no padding to crop


INPUT_SIZE = {(3, 3): (7, 7), (4, 4): (11, 11), (8, 8): (18, 18), (4, 6): (11, 17), (6, 4): (17, 11)}  # by kernel size
LAYERS = [_linear, _conv, _blocked_conv, _nature_conv, _grouped_conv, _dilated_conv, _oblong_conv, _tall_conv]
LAYER_IDS = ["linear", "conv-k3-s2-p1", "conv-k4-s2-p1", "conv-k8-s4", "conv-k4-s2-p1-groups2", "conv-k4-s2-d2",
             "conv-k4x6-s2x3-p1x0", "conv-k6x4-s3x2"]


def _input(layer: nn.Module, low: float, high: float, n: int = 2) -> torch.Tensor:
    torch.manual_seed(3)
    if isinstance(layer, nn.Linear):
        shape: tuple = (n, 6)
    else:
        size = (13, 13) if layer.dilation != (1, 1) else INPUT_SIZE[layer.kernel_size]
        shape = (n, layer.in_channels, *size)
    return low + (high - low) * torch.rand(shape, dtype=DT)


def _matrix(layer: nn.Module, in_shape: tuple, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The layer's linear part as a dense matrix, built from its responses to unit vectors."""
    w = layer.weight if weight is None else weight
    n_in = int(torch.tensor(in_shape).prod())
    basis = torch.eye(n_in, dtype=DT).reshape(n_in, *in_shape)
    with torch.no_grad():
        if isinstance(layer, nn.Linear):
            out = torch.nn.functional.linear(basis, w)
        else:
            out = torch.nn.functional.conv2d(basis, w, None, layer.stride, layer.padding, layer.dilation, layer.groups)
    return out.reshape(n_in, -1).T  # [out, in]


def _reference(layer: nn.Module, rule: Rule, x: torch.Tensor, r_out: torch.Tensor) -> torch.Tensor:
    """The rule as matrix algebra, one sample at a time."""
    in_shape = tuple(x.shape[1:])
    m = _matrix(layer, in_shape)
    b = layer.bias.detach().repeat_interleave(m.shape[0] // layer.bias.shape[0])
    rows = []
    for a, r in zip(x.reshape(x.shape[0], -1), r_out.reshape(r_out.shape[0], -1)):
        contrib = m * a[None, :]
        bias = b
        if isinstance(rule, Epsilon):
            den = contrib.sum(1) + bias
            den = den + rule.epsilon * torch.where(den >= 0, 1.0, -1.0).to(DT)
            rows.append((contrib / den[:, None] * r[:, None]).sum(0))
            continue
        if isinstance(rule, Gamma):
            mg = m + rule.gamma * m.clamp(min=0)
            contrib, bias = mg * a[None, :], b + rule.gamma * b.clamp(min=0)
            den = contrib.sum(1) + bias
        elif isinstance(rule, ZPlus):
            contrib = contrib.clamp(min=0)
            den = contrib.sum(1) + b.clamp(min=0)
        elif isinstance(rule, AlphaBeta):
            cp, cn = contrib.clamp(min=0), contrib.clamp(max=0)
            dp = cp.sum(1) + b.clamp(min=0)
            dn = cn.sum(1) + b.clamp(max=0)
            dp = dp + rule.stabilizer * torch.where(dp >= 0, 1.0, -1.0).to(DT)
            dn = dn + rule.stabilizer * torch.where(dn >= 0, 1.0, -1.0).to(DT)
            rows.append((rule.alpha * cp / dp[:, None] - rule.beta * cn / dn[:, None]).mul(r[:, None]).sum(0))
            continue
        elif isinstance(rule, ZBox):
            contrib = m * a[None, :] - rule.low * m.clamp(min=0) - rule.high * m.clamp(max=0)
            den = contrib.sum(1)
        elif isinstance(rule, Flat):
            contrib = _matrix(layer, in_shape, torch.ones_like(layer.weight))
            den = contrib.sum(1)
        elif isinstance(rule, WSquare):
            contrib = m**2
            den = contrib.sum(1)
        den = den + rule.stabilizer * torch.where(den >= 0, 1.0, -1.0).to(DT)
        rows.append((contrib / den[:, None] * r[:, None]).sum(0))
    return torch.stack(rows).reshape(x.shape)


def _lrp_one_layer(layer: nn.Module, rule: Rule, x: torch.Tensor, r_out: torch.Tensor) -> torch.Tensor:
    """rlviz's LRP through a one-layer net, starting from relevance r_out at its output."""
    composite = Composite("test", rule, rule, rule, rule)
    with torch.no_grad():
        z = layer(x)
    return relevance(layer, layer, x, r_out / z, composite)


RULES = {
    "zero": Zero(),
    "epsilon": Epsilon(0.1),
    "gamma": Gamma(0.25, stabilizer=1e-6),
    "zplus": ZPlus(1e-6),
    "alpha2beta1": AlphaBeta(2.0, 1.0, 1e-6),
    "alpha3beta2": AlphaBeta(3.0, 2.0, 1e-6),
    "zbox": ZBox(-0.5, 1.5, 1e-6),
    "wsquare": WSquare(),
    "flat": Flat(),
}


@pytest.mark.parametrize("make_layer", LAYERS, ids=LAYER_IDS)
@pytest.mark.parametrize("name", list(RULES))
def test_rule_matches_matrix_algebra(name: str, make_layer) -> None:
    layer, rule = make_layer(), RULES[name]
    x = _input(layer, -0.5, 1.5)  # mixed signs (within the z^B bounds)
    with torch.no_grad():
        r_out = torch.randn_like(layer(x))
    got = _lrp_one_layer(layer, rule, x, r_out)
    want = _reference(layer, rule, x, r_out)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_epsilon_stabiliser_treats_zero_as_positive() -> None:
    assert stabilize(torch.tensor([0.0, -1.0, 2.0, -0.0]), 0.5).tolist() == [0.5, -1.5, 2.5, 0.5]


@pytest.mark.parametrize("make_layer", [_linear, _conv], ids=["linear", "conv"])
def test_gamma_zero_equals_lrp0(make_layer) -> None:
    layer = make_layer()
    x = _input(layer, 0.0, 1.0)
    r_out = torch.randn_like(layer(x).detach())
    torch.testing.assert_close(
        _lrp_one_layer(layer, Gamma(0.0, stabilizer=0.0), x, r_out),
        _lrp_one_layer(layer, Zero(), x, r_out),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("make_layer", [_linear, _conv], ids=["linear", "conv"])
def test_alpha1_beta0_equals_zplus(make_layer) -> None:
    layer = make_layer()
    x = _input(layer, -1.0, 1.0)
    r_out = torch.randn_like(layer(x).detach())
    torch.testing.assert_close(
        _lrp_one_layer(layer, AlphaBeta(1.0, 0.0), x, r_out),
        _lrp_one_layer(layer, ZPlus(), x, r_out),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("name", ["zplus", "flat", "wsquare", "zbox"])
@pytest.mark.parametrize("make_layer", [_linear, _conv], ids=["linear", "conv"])
def test_positive_rules_give_nonnegative_relevance(name: str, make_layer) -> None:
    layer, rule = make_layer(), RULES[name]
    x = _input(layer, -0.5, 1.5)  # inside z^B's bounds [-0.5, 1.5]
    r_out = torch.rand_like(layer(x).detach()) + 0.01
    got = _lrp_one_layer(layer, rule, x, r_out)
    assert got.min() >= 0
    assert got.sum() > 0


def test_bad_rule_parameters_are_refused() -> None:
    with pytest.raises(RlvizError, match="alpha - beta = 1"):
        AlphaBeta(2.0, 2.0)
    with pytest.raises(RlvizError, match="epsilon must be >= 0"):
        Epsilon(-1e-6)
    with pytest.raises(RlvizError, match="gamma must be >= 0"):
        Gamma(-0.25)


def test_weightless_rule_on_average_pool_is_refused() -> None:
    net = nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 1)).to(DT)
    composite = Composite("test", Gamma(), Gamma(), Epsilon(), Gamma())
    with pytest.raises(RlvizError, match="needs a layer with weights"):
        relevance(net, net, torch.rand(1, 1, 4, 4, dtype=DT), torch.ones(1, 1, dtype=DT), composite)


@pytest.mark.parametrize(
    "rule, shown",
    [(Gamma(), "Gamma(gamma=0.25, stabilizer=1e-06)"), (ZBox(), "ZBox(low=0.0, high=1.0, stabilizer=1e-06)"),
     (ZPlus(), "ZPlus(stabilizer=1e-06)"), (AlphaBeta(), "AlphaBeta(alpha=2.0, beta=1.0, stabilizer=1e-06)"),
     (WSquare(), "WSquare(stabilizer=0.0)"), (Flat(), "Flat(stabilizer=0.0)"),
     (Reference(0.5), "Reference(reference=0.5, stabilizer=1e-06)"),
     (Reference(torch.zeros(1, 4, 4)), "Reference(reference=(1, 4, 4), stabilizer=1e-06)")],
)  # fmt: skip
def test_a_weightless_layer_refusal_names_the_rule_and_its_parameters(rule: Rule, shown: str) -> None:
    """The user sees which rule (with its parameters) met a pool layer and what to use instead
    (kills the rule's repr mutants and a refusal that does not name the rule)."""
    net = nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 1)).to(DT)
    composite = Composite("test", rule, rule, Epsilon(), rule)
    with pytest.raises(RlvizError) as info:
        relevance(net, net, torch.rand(1, 1, 4, 4, dtype=DT), torch.ones(1, 1, dtype=DT), composite)
    assert str(info.value) == f"the {shown} rule needs a layer with weights; use epsilon for pool layers"


@pytest.mark.parametrize("make_layer", [_linear, _conv], ids=["linear", "conv"])
@pytest.mark.parametrize("name", list(RULES))
def test_a_layer_without_bias_is_a_layer_with_zero_bias(name: str, make_layer) -> None:
    """Every rule gives the same relevance on Linear / Conv2d(bias=False) as on the same weights
    with a zero bias (kills a rule or a layer that reads the bias without checking it exists)."""
    with_bias = make_layer()
    without = copy.deepcopy(with_bias)
    without.bias = None
    with torch.no_grad():
        with_bias.bias.zero_()
        without.weight.copy_(with_bias.weight)
    x = _input(with_bias, -0.5, 1.5)
    r_out = torch.randn_like(with_bias(x).detach())
    torch.testing.assert_close(
        _lrp_one_layer(without, RULES[name], x, r_out), _lrp_one_layer(with_bias, RULES[name], x, r_out), rtol=1e-12, atol=1e-14
    )


def test_default_rule_parameters_are_the_documented_ones() -> None:
    """DESIGN.md's defaults: epsilon 1e-6, gamma 0.25, alpha 2 beta 1, z^B on [0, 1]; stabilisers 1e-6, w^2 none
    (the rules are built here, after any mutant is active, not at import like RULES)."""
    assert repr(Epsilon()) == "Epsilon(epsilon=1e-06)"
    assert (Gamma().gamma, Gamma().stabilizer) == (0.25, 1e-6)
    assert (AlphaBeta().alpha, AlphaBeta().beta, AlphaBeta().stabilizer) == (2.0, 1.0, 1e-6)
    assert (ZBox().low, ZBox().high, ZBox().stabilizer) == (0.0, 1.0, 1e-6)
    assert (WSquare().stabilizer, Flat().stabilizer, ZPlus().stabilizer, Reference(0.5).stabilizer) == (0.0, 0.0, 1e-6, 1e-6)


@pytest.mark.parametrize("make", [Epsilon, lambda s: Gamma(stabilizer=s), ZPlus, lambda s: AlphaBeta(stabilizer=s),
                                  lambda s: ZBox(stabilizer=s), WSquare, Flat])  # fmt: skip
def test_every_rule_refuses_a_negative_stabilizer(make) -> None:
    with pytest.raises(RlvizError, match="must be >= 0, got -1"):
        make(-1.0)


def test_stabilize_divide_and_ratio_closed_forms() -> None:
    """z + eps sign(z) with sign(0) = +1 for any eps (1 included); a zero denominator passes 0,
    not NaN, when there is no stabiliser (LRP-0 at a unit with no contributions)."""
    z = torch.tensor([0.0, -1.0, 2.0], dtype=DT)
    assert stabilize(z, 1.0).tolist() == [1.0, -2.0, 3.0]
    assert stabilize(z, 0.0).tolist() == [0.0, -1.0, 2.0]
    num, den = torch.tensor([1.0, 2.0, 3.0], dtype=DT), torch.tensor([0.0, 1.0, 2.0], dtype=DT)
    assert divide(num, den).tolist() == [0.0, 2.0, 1.5]
    assert ratio(num, den, 0.0).tolist() == [0.0, 2.0, 1.5]
    assert ratio(num, den, 1.0).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("name", ["wsquare", "flat", "zbox", "gamma"])
def test_a_batch_of_one_is_the_first_row_of_a_batch_of_two(name: str) -> None:
    """Batch = one by one, for a batch of 1 too (kills the input-free rules' and z^B's bound
    tensors built for a batch of 2)."""
    layer = _conv()
    x = _input(layer, -0.5, 1.5)
    r_out = torch.randn_like(layer(x).detach())
    both = _lrp_one_layer(layer, RULES[name], x, r_out)
    torch.testing.assert_close(_lrp_one_layer(layer, RULES[name], x[:1], r_out[:1]), both[:1], rtol=1e-12, atol=1e-14)


def test_zbox_bounds_with_a_batch_axis_equal_the_same_bounds_without() -> None:
    layer = _blocked_conv()
    x = _input(layer, 0.0, 1.0)
    r_out = torch.rand_like(layer(x).detach())
    low, high = torch.full((3, 11, 11), -0.5, dtype=DT), torch.ones(3, 11, 11, dtype=DT)
    want = _lrp_one_layer(layer, ZBox(low, high), x, r_out)
    torch.testing.assert_close(_lrp_one_layer(layer, ZBox(low[None], high[None]), x, r_out), want)


def test_a_reference_may_be_given_as_a_number_or_an_image_of_what_a_flat_layer_reads() -> None:
    """Reference(0) = Reference(zeros); an image-shaped reference for a Linear after a Flatten
    equals the same values given flat (kills the reshape mutants and 'a - None')."""
    torch.manual_seed(7)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 3), nn.ReLU(), nn.Linear(3, 2)).to(DT)
    x = torch.rand(2, 3, 2, 2, dtype=DT)
    start = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=DT)

    def run(rule: Rule) -> torch.Tensor:
        return relevance(net, net, x, start, Composite("test", rule, Epsilon(), Epsilon(), Epsilon()))

    torch.testing.assert_close(run(Reference(0.0)), run(Reference(torch.zeros(3, 2, 2, dtype=DT))))
    image = torch.rand(3, 2, 2, dtype=DT)
    flat = run(Reference(image.flatten()))
    torch.testing.assert_close(run(Reference(image)), flat)
    assert not torch.allclose(flat, run(Reference(0.0)))  # the reference matters here


def test_max_pool_gives_all_relevance_to_the_winner() -> None:
    net = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 1)).to(DT)
    x = _input(_conv(), 0.0, 1.0)[:, :1, :4, :4]
    composite = Composite("test", Zero(), Zero(), Zero(), Zero())
    r = relevance(net, net, x, torch.ones(2, 1, dtype=DT), composite)
    winners = x == torch.nn.functional.max_pool2d(x, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert torch.all(r[~winners] == 0)
    with torch.no_grad():
        pooled = torch.nn.functional.max_pool2d(x, 2).flatten(1) * net[2].weight  # relevance of the pooled units
    torch.testing.assert_close(r[winners].reshape(2, 4), pooled, rtol=1e-12, atol=0)


def test_average_pool_uses_epsilon_normalisation() -> None:
    net = nn.Sequential(nn.AvgPool2d(2), nn.Flatten()).to(DT)
    x = _input(_conv(), -1.0, 1.0)[:, :1, :4, :4]
    eps = 0.3
    composite = Composite("test", Epsilon(eps), Epsilon(eps), Epsilon(eps), Epsilon(eps))
    r_out = torch.randn(2, 4, dtype=DT)
    z = torch.nn.functional.avg_pool2d(x, 2).flatten(1)
    got = relevance(net, net, x, r_out / z, composite)
    den = z + eps * torch.where(z >= 0, 1.0, -1.0).to(DT)
    share = (r_out / den).reshape(2, 1, 2, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)
    torch.testing.assert_close(got, x / 4 * share, rtol=1e-12, atol=1e-14)


def test_zbox_bounds_may_be_given_per_pixel() -> None:
    layer = _blocked_conv()
    x = _input(layer, 0.0, 1.0)
    r_out = torch.rand_like(layer(x).detach())
    low, high = torch.zeros(3, 11, 11, dtype=DT), torch.ones(3, 11, 11, dtype=DT)
    low[:, :5] = -0.5  # a different bound on the top rows changes the top rows' relevance
    scalar = _lrp_one_layer(layer, ZBox(0.0, 1.0), x, r_out)
    torch.testing.assert_close(_lrp_one_layer(layer, ZBox(torch.zeros(3, 11, 11, dtype=DT), high), x, r_out), scalar)
    assert not torch.allclose(_lrp_one_layer(layer, ZBox(low, high), x, r_out), scalar)


class _TwoConvNet(nn.Module):
    """conv (first) -> ReLU -> conv -> ReLU -> dense -> ReLU -> heads: one layer of every kind."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.conv1 = nn.Conv2d(2, 3, 4, stride=2, padding=1)  # 10x10 -> 5x5
        self.conv2 = nn.Conv2d(3, 4, 3, stride=1, padding=1)
        self.fc = nn.Linear(100, 8)
        self.actor = nn.Linear(8, 3)
        self.critic = nn.Linear(8, 1)
        with torch.no_grad():
            for m in (self.conv1, self.conv2, self.fc, self.actor):
                m.bias.uniform_(-0.1, 0.1)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        a1 = torch.relu(self.conv1(x))
        a2 = torch.relu(self.conv2(a1))
        a3 = torch.relu(self.fc(a2.flatten(1)))
        return [x, a1, a2, a3]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x)[-1]
        return self.actor(h), self.critic(h).squeeze(-1)


def _chain_reference(net: _TwoConvNet, x: torch.Tensor, first: Rule, conv: Rule, dense: Rule) -> torch.Tensor:
    """LRP through the net layer by layer with the matrix-algebra rules (ReLU passes R through)."""
    with torch.no_grad():
        x0, a1, a2, a3 = net.hidden(x)
        y = net.actor(a3)
    r = y * torch.nn.functional.one_hot(y.argmax(1), 3).to(DT)
    r = _reference(net.actor, dense, a3, r)
    r = _reference(net.fc, dense, a2.flatten(1), r).reshape(a2.shape)
    r = _reference(net.conv2, conv, a1, r)
    return _reference(net.conv1, first, x0, r)


def test_default_composite_is_zbox_first_gamma_on_convs_epsilon_on_dense() -> None:
    """The map users get by default (epsilon-gamma-box, Montavon et al. 2019) equals the
    layer-by-layer matrix algebra with z^B on [0, 1] first, gamma 0.25 on the other convs and
    epsilon 1e-6 on the dense layers; another rule order gives a clearly different map."""
    from rlviz.explain.lrp import lrp

    net = _TwoConvNet().to(DT)
    torch.manual_seed(7)
    x = torch.rand(3, 2, 10, 10, dtype=DT)
    want = _chain_reference(net, x, ZBox(0.0, 1.0, 1e-6), Gamma(0.25, 1e-6), Epsilon(1e-6))
    got = torch.from_numpy(lrp(net, x, target="action")).to(DT)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6 * float(want.abs().max()))
    swapped = _chain_reference(net, x, ZBox(0.0, 1.0, 1e-6), Epsilon(1e-6), Gamma(0.25, 1e-6))
    assert (swapped - want).abs().max() > 0.05 * want.abs().max()  # the check can tell the orders apart


def test_same_and_valid_padding_are_the_padding_they_stand_for() -> None:
    """padding='same' (odd kernels: dilation * (k - 1) / 2 per side, here 3 rows and 1 column)
    and 'valid' (none) give the maps of the same convolution with its padding written as numbers."""
    torch.manual_seed(11)
    x = torch.rand(2, 3, 9, 8, dtype=DT)
    for named, numbers in [({"padding": "same", "dilation": (3, 1)}, {"padding": (3, 1), "dilation": (3, 1)}),
                           ({"padding": "valid"}, {"padding": 0})]:  # fmt: skip
        conv = nn.Conv2d(3, 4, kernel_size=3, **named).to(DT)
        plain = nn.Conv2d(3, 4, kernel_size=3, **numbers).to(DT)
        plain.load_state_dict(conv.state_dict())
        with torch.no_grad():
            r_out = torch.randn_like(plain(x))
        for rule in (Zero(), ZBox(0.0, 1.0)):
            torch.testing.assert_close(_lrp_one_layer(conv, rule, x, r_out), _lrp_one_layer(plain, rule, x, r_out))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_convolutions_lrp_cannot_decompose_are_refused_with_what_to_do() -> None:
    x = torch.rand(1, 3, 8, 8, dtype=DT)
    even = nn.Conv2d(3, 4, kernel_size=(3, 4), padding="same").to(DT)  # 3 rows but 4 columns: no symmetric padding
    with pytest.raises(RlvizError) as info:
        _lrp_one_layer(even, Zero(), x, torch.ones(1, 4, 8, 8, dtype=DT))
    assert str(info.value) == "LRP supports padding='same' only for odd kernel sizes; give the padding as numbers"
    reflect = nn.Conv2d(3, 4, kernel_size=3, padding=1, padding_mode="reflect").to(DT)
    with pytest.raises(RlvizError) as info:
        _lrp_one_layer(reflect, Zero(), x, torch.ones(1, 4, 8, 8, dtype=DT))
    assert str(info.value) == "LRP supports Conv2d with zero padding only, got padding_mode='reflect'"


@pytest.mark.parametrize("name", list(RULES))
def test_a_linear_along_the_last_axis_explains_each_row_as_a_batch_of_rows(name: str) -> None:
    """nn.Linear may read the last axis of a (N, rows, features) input; each row is then an
    independent sample of the same layer (kills products and splits along axis 1 instead of -1)."""
    layer = _linear()
    x = _input(layer, -0.5, 1.5, n=6).reshape(2, 3, 6)
    with torch.no_grad():
        r_out = torch.randn_like(layer(x))
    want = _lrp_one_layer(layer, RULES[name], x.reshape(6, 6), r_out.reshape(6, 5)).reshape(2, 3, 6)
    torch.testing.assert_close(_lrp_one_layer(layer, RULES[name], x, r_out), want, rtol=1e-12, atol=1e-14)

