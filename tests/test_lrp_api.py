"""LRP on whole networks: the properties of DESIGN.md §5 and the user-facing ``lrp``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic, NatureQNetwork
from rlviz.explain.lrp import COMPOSITES, lrp, make_composite, relevance
from rlviz.util.errors import RlvizError

DT = torch.float64
SMALL_OVERRIDES = {  # eps -> 0, so that conservation can be checked tightly
    "epsilon-gamma-box": {"epsilon": 1e-12, "stabilizer": 1e-12},
    "epsilon-plus-flat": {"epsilon": 1e-12, "stabilizer": 1e-12},
    "epsilon-alpha2-beta1": {"epsilon": 1e-12, "stabilizer": 1e-12},
    "epsilon": {"epsilon": 1e-12},
    "zero": {},
}


class SmallActorCritic(nn.Module):
    """A small CNN actor-critic on 2x16x16 inputs, with max- and average pooling."""

    def __init__(self, bias: bool = True, relu: str = "module", n_actions: int = 3) -> None:
        super().__init__()
        self.relu = relu
        self.conv1 = nn.Conv2d(2, 6, 4, stride=2, padding=1, bias=bias)  # 16 -> 8
        self.act1 = nn.ReLU(inplace=relu == "inplace")
        self.conv2 = nn.Conv2d(6, 8, 3, stride=1, padding=1, bias=bias)  # 8 -> 8
        self.act2 = nn.ReLU(inplace=relu == "inplace")
        self.pool1 = nn.MaxPool2d(2)  # 8 -> 4
        self.conv3 = nn.Conv2d(8, 8, 3, stride=1, padding=1, bias=bias)
        self.act3 = nn.ReLU(inplace=relu == "inplace")
        self.pool2 = nn.AvgPool2d(2)  # 4 -> 2
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, 16, bias=bias)
        self.act4 = nn.ReLU(inplace=relu == "inplace")
        self.actor = nn.Linear(16, n_actions, bias=bias)
        self.critic = nn.Linear(16, 1, bias=bias)

    def _act(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x) if self.relu == "functional" else module(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self._act(self.act2, self.conv2(self._act(self.act1, self.conv1(x)))))
        x = self.pool2(self._act(self.act3, self.conv3(x)))
        h = self._act(self.act4, self.fc(self.flatten(x)))
        return self.actor(h), self.critic(h).squeeze(-1)


def _small(seed: int = 0, **kwargs) -> SmallActorCritic:
    torch.manual_seed(seed)
    net = SmallActorCritic(**kwargs).to(DT)
    if not kwargs.get("bias", True):
        return net
    with torch.no_grad():  # biases of both signs, large enough to matter
        for m in net.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                m.bias.uniform_(-0.2, 0.2)
    return net


def _obs(n: int = 3, seed: int = 1, shape: tuple = (2, 16, 16)) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand((n, *shape), dtype=DT)


def _hooks(net: nn.Module) -> list[str]:
    """Every hook attached to the network's modules (should be none)."""
    left = []
    for name, module in net.named_modules():
        for attr, value in vars(module).items():
            if "hook" in attr and isinstance(value, dict) and value:
                left.append(f"{name}.{attr}")
    return left


@pytest.mark.parametrize("composite", list(COMPOSITES))
@pytest.mark.parametrize("target", ["action", "value"])
def test_every_composite_conserves_relevance_layer_by_layer(composite: str, target: str) -> None:
    net = _small(bias=False)
    x = _obs()
    logits, value = net(x)
    f = logits.max(1).values if target == "action" else value
    record: list = []
    rules = make_composite(composite, **SMALL_OVERRIDES[composite])

    def explained(inp: torch.Tensor) -> torch.Tensor:
        out = net(inp)
        return out[0] if target == "action" else out[1]

    def start(y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y.argmax(1), y.shape[1]).to(DT) if y.ndim == 2 else torch.ones_like(y)

    r = relevance(net, explained, x, start, rules, record=record)
    tol = 1e-5 * f.abs().detach()
    layers = [name for name, _, _ in record]
    assert layers == ["actor" if target == "action" else "critic", "fc", "pool2", "conv3", "conv2", "conv1"]
    for name, r_out, r_in in record:
        assert ((r_in - r_out).abs() <= tol).all(), name
    # what the layers receive is what the layer above passed down (ReLU, max-pool, Flatten)
    for (_, _, passed), (_, received, _) in zip(record, record[1:]):
        torch.testing.assert_close(passed, received, rtol=1e-10, atol=1e-12)
    assert ((r.sum((1, 2, 3)) - f).abs() <= tol).all()


def test_lrp0_equals_gradient_times_input() -> None:
    net = _small(bias=True)
    x = _obs().requires_grad_(True)
    logits, _ = net(x)
    onehot = F.one_hot(logits.argmax(1), logits.shape[1]).to(DT)
    (grad,) = torch.autograd.grad(logits, x, onehot)
    r = lrp(net, x.detach(), composite="zero", target="action")
    gxi = (x * grad).detach().float().numpy()
    assert np.abs(r - gxi).max() <= 1e-7 * np.abs(gxi).max()
    r64 = relevance(net, lambda inp: net(inp)[0], x.detach(), onehot, make_composite("zero"))
    torch.testing.assert_close(r64, (x * grad).detach(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_relevance_is_linear_in_starting_relevance(composite: str) -> None:
    net = _small(bias=True)
    x = _obs()
    torch.manual_seed(5)
    c1, c2 = torch.randn(3, 3, dtype=DT), torch.randn(3, 3, dtype=DT)  # start relevance = logits * c
    rules = make_composite(composite)
    r1 = relevance(net, lambda inp: net(inp)[0], x, c1, rules)
    r2 = relevance(net, lambda inp: net(inp)[0], x, c2, rules)
    r12 = relevance(net, lambda inp: net(inp)[0], x, 2.0 * c1 - 3.0 * c2, rules)
    torch.testing.assert_close(r12, 2.0 * r1 - 3.0 * r2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_batch_equals_frames_one_by_one(composite: str) -> None:
    net = _small(bias=True).float()
    x = _obs().float()
    batch = lrp(net, x, composite=composite)
    single = np.concatenate([lrp(net, x[i], composite=composite) for i in range(3)])
    np.testing.assert_allclose(batch, single, rtol=1e-4, atol=1e-6 * np.abs(single).max())


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_inplace_functional_and_module_relu_agree(composite: str) -> None:
    x = _obs()
    maps = [lrp(_small(relu=mode), x, composite=composite) for mode in ("module", "inplace", "functional")]
    np.testing.assert_array_equal(maps[0], maps[1])
    np.testing.assert_array_equal(maps[0], maps[2])


class _Reused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.mid = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Linear(4 * 16 * 16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.mid(torch.relu(self.conv(x))))
        x = torch.relu(self.mid(x))  # the same layer twice
        return self.head(x.flatten(1))


def test_reused_module_is_refused_and_leaves_no_hooks() -> None:
    net = _Reused()
    with pytest.raises(RlvizError, match="'mid'.*runs twice"):
        lrp(net, _obs().float())
    assert _hooks(net) == []


@pytest.mark.parametrize("fail", [False, True])
def test_no_hooks_remain_and_parameters_and_grads_unchanged(fail: bool) -> None:
    net = _small(bias=True)
    for p in net.parameters():
        p.grad = torch.full_like(p, 0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.actor.register_forward_hook(lambda *args: None)  # the user's own hook stays
    obs = _obs()
    if fail:
        with pytest.raises(RlvizError):
            lrp(net, obs, target=7)  # out of range: raised mid-pass
    else:
        lrp(net, obs, composite="epsilon-alpha2-beta1")
    assert _hooks(net) == ["actor._forward_hooks"] and len(net.actor._forward_hooks) == 1
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p in net.parameters():
        assert torch.equal(p.grad, torch.full_like(p, 0.5))


class _BoxPolicy(nn.Module):
    """Reads only the box [4:10, 6:12] of the screen: a mask applied before the net."""

    def __init__(self) -> None:
        super().__init__()
        mask = torch.zeros(1, 1, 16, 16, dtype=DT)
        mask[..., 4:10, 6:12] = 1
        self.register_buffer("mask", mask)
        self.net = _small(bias=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(x * self.mask)


class _BoxDense(nn.Module):
    """An MLP whose first-layer weights are zero outside the box [4:10, 6:12]."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.fc1 = nn.Linear(2 * 16 * 16, 12).to(DT)
        self.head = nn.Linear(12, 3).to(DT)
        mask = torch.zeros(2, 16, 16, dtype=DT)
        mask[:, 4:10, 6:12] = 1
        with torch.no_grad():
            self.fc1.weight.mul_(mask.reshape(1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fc1(x.flatten(1))))


@pytest.mark.parametrize("composite", list(COMPOSITES))
@pytest.mark.parametrize("make", [_BoxPolicy, _BoxDense], ids=["mask-before-net", "zero-weights-outside"])
def test_policy_reading_one_box_gets_all_relevance_in_the_box(composite: str, make) -> None:
    if make is _BoxDense and composite == "epsilon-plus-flat":
        pytest.skip("flat ignores the weights by design: it spreads relevance over every connected input")
    net = make()
    r = lrp(net, _obs(), composite=composite, target="value" if make is _BoxPolicy else "action")
    inside = np.zeros(r.shape, bool)
    inside[..., 4:10, 6:12] = True
    assert np.abs(r[inside]).sum() > 0
    assert np.all(r[~inside] == 0)


class _Scaled(nn.Module):
    """Multiplies the observation by a constant inside the net, before the first layer."""

    def __init__(self, net: nn.Module, factor: float) -> None:
        super().__init__()
        self.net, self.factor = net, factor

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(x * self.factor)


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_observation_transformed_inside_the_net_keeps_its_relevance(composite: str) -> None:
    # the first layer no longer reads the observation tensor itself, so rules that give input
    # relevance directly (z^B, flat) hand it back through the transformation as a gradient
    net = _small(bias=True)
    x = _obs()
    want = lrp(net, x, composite=composite)
    got = lrp(_Scaled(net, 0.5), 2 * x, composite=composite)  # the first layer sees x in both
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7 * np.abs(want).max())


def test_agrees_with_captum_on_the_epsilon_path() -> None:
    captum_lrp = pytest.importorskip("captum.attr").LRP

    class Plain(nn.Module):  # Captum's LRP refuses nn.Flatten, so reshape in forward
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.relu1 = nn.Conv2d(2, 4, 4, stride=2, padding=1), nn.ReLU()
            self.conv2, self.relu2 = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
            self.fc, self.relu3, self.out = nn.Linear(4 * 8 * 8, 10), nn.ReLU(), nn.Linear(10, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
            return self.out(self.relu3(self.fc(x.reshape(x.shape[0], -1))))

    torch.manual_seed(6)
    net = Plain().to(DT)
    x = _obs()
    frames = [x[i : i + 1].clone().requires_grad_(True) for i in range(3)]
    want = torch.cat([captum_lrp(net).attribute(frame, target=1) for frame in frames]).detach()
    got = relevance(net, net, x, F.one_hot(torch.tensor([1, 1, 1]), 3).to(DT), make_composite("epsilon", epsilon=1e-9))
    torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    assert _hooks(net) == []


@pytest.mark.parametrize(
    "layer,kind", [(nn.Sigmoid(), "Sigmoid"), (nn.LayerNorm([4, 16, 16]), "LayerNorm"), (nn.Tanh(), "Tanh")]
)
def test_unsupported_layer_is_named_in_the_error(layer: nn.Module, kind: str) -> None:
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), layer, nn.Flatten(), nn.Linear(4 * 16 * 16, 2))
    with pytest.raises(RlvizError, match=rf"'1' \({kind}\)"):
        lrp(net, _obs().float())
    assert _hooks(net) == []


def test_batchnorm_is_folded_into_the_layer_before() -> None:
    torch.manual_seed(7)
    conv, norm = nn.Conv2d(2, 4, 3, padding=1).to(DT), nn.BatchNorm2d(4).to(DT)
    with torch.no_grad():
        norm.running_mean.uniform_(-0.3, 0.3)
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
    head = nn.Linear(4 * 16 * 16, 3).to(DT)
    with_norm = nn.Sequential(conv, norm, nn.ReLU(), nn.Flatten(), head).eval()
    folded = nn.Conv2d(2, 4, 3, padding=1).to(DT)
    with torch.no_grad():
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        folded.weight.copy_(conv.weight * scale[:, None, None, None])
        folded.bias.copy_((conv.bias - norm.running_mean) * scale + norm.bias)
    plain = nn.Sequential(folded, nn.ReLU(), nn.Flatten(), head)
    before = {k: v.clone() for k, v in with_norm.state_dict().items()}
    for composite in COMPOSITES:
        np.testing.assert_allclose(
            lrp(with_norm, _obs(), composite=composite), lrp(plain, _obs(), composite=composite), rtol=1e-5, atol=1e-7
        )
    assert all(torch.equal(v, before[k]) for k, v in with_norm.state_dict().items())
    with_norm.train()
    with pytest.raises(RlvizError, match="eval mode"):
        lrp(with_norm, _obs())
    assert all(torch.equal(v, before[k]) for k, v in with_norm.state_dict().items())  # no stats update
    assert _hooks(with_norm) == []


class _SB3Style(nn.Module):
    """Stable-Baselines3's layout: features_extractor (cnn + linear), empty mlp_extractor, two nets."""

    def __init__(self, src: SmallActorCritic) -> None:
        super().__init__()
        extractor = nn.Module()
        extractor.cnn = nn.Sequential(
            src.conv1, nn.ReLU(), src.conv2, nn.ReLU(), src.pool1, src.conv3, nn.ReLU(), src.pool2, nn.Flatten()
        )
        extractor.linear = nn.Sequential(src.fc, nn.ReLU())
        self.features_extractor = extractor
        self.mlp_extractor = nn.Module()
        self.mlp_extractor.policy_net, self.mlp_extractor.value_net = nn.Sequential(), nn.Sequential()
        self.action_net, self.value_net = src.actor, src.critic

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features_extractor.linear(self.features_extractor.cnn(x))
        pi, vf = self.mlp_extractor.policy_net(h), self.mlp_extractor.value_net(h)
        return self.action_net(pi), self.value_net(vf)


class _CleanRLStyle(nn.Module):
    """CleanRL's ppo_atari layout: one `network` Sequential, then actor and critic."""

    def __init__(self, src: SmallActorCritic) -> None:
        super().__init__()
        self.network = nn.Sequential(
            src.conv1, nn.ReLU(), src.conv2, nn.ReLU(), src.pool1, src.conv3, nn.ReLU(), src.pool2, nn.Flatten(),
            src.fc, nn.ReLU(),
        )
        self.actor, self.critic = src.actor, src.critic

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.network(x)
        return self.actor(hidden), self.critic(hidden)


@pytest.mark.parametrize("target", ["action", "value", 2])
def test_sb3_and_cleanrl_layouts_give_the_same_maps(target) -> None:
    src = _small(bias=True)
    x = _obs()
    want = lrp(src, x, target=target)
    np.testing.assert_array_equal(lrp(_SB3Style(src), x, target=target), want)
    np.testing.assert_array_equal(lrp(_CleanRLStyle(src), x, target=target), want)


def test_nature_agent_single_uint8_observation_gives_one_float32_map() -> None:
    torch.manual_seed(8)
    agent = Agent(NatureActorCritic(6))
    obs = np.random.default_rng(0).integers(0, 256, (4, 84, 84), dtype=np.uint8)
    r = lrp(agent, obs)
    assert r.shape == (1, 4, 84, 84) and r.dtype == np.float32 and np.isfinite(r).all() and np.abs(r).sum() > 0
    assert _hooks(agent.net) == []


def test_q_network_value_is_its_greedy_action() -> None:
    torch.manual_seed(9)
    agent = Agent(NatureQNetwork(4))
    obs = np.random.default_rng(1).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    np.testing.assert_array_equal(lrp(agent, obs, target="value"), lrp(agent, obs, target="action"))


def test_network_ignoring_its_input_gives_zero_map() -> None:
    net = _small(bias=True)
    with torch.no_grad():
        net.conv1.weight.zero_()
    r = lrp(net, _obs(), composite="epsilon")
    assert np.all(r == 0)


def test_works_inside_no_grad_and_inference_mode() -> None:
    net = _small()
    want = lrp(net, _obs())
    with torch.no_grad():
        np.testing.assert_array_equal(lrp(net, _obs()), want)
    with torch.inference_mode():
        np.testing.assert_array_equal(lrp(net, _obs()), want)


def test_calls_from_several_threads_give_the_serial_results() -> None:
    import threading

    net = _small()
    jobs = {name: _obs(seed=i) for i, name in enumerate(COMPOSITES)}
    want = {name: lrp(net, obs, composite=name) for name, obs in jobs.items()}
    got: dict = {}
    threads = [threading.Thread(target=lambda n=n, o=o: got.update({n: lrp(net, o, composite=n)})) for n, o in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in jobs:
        np.testing.assert_array_equal(got[name], want[name])
    assert _hooks(net) == []


def test_bad_requests_are_refused_with_a_hint() -> None:
    net = _small()
    with pytest.raises(RlvizError, match="unknown LRP composite 'gamma'.*epsilon-gamma-box"):
        lrp(net, _obs(), composite="gamma")
    with pytest.raises(RlvizError, match="has no parameter gama"):
        lrp(net, _obs(), gama=0.5)
    with pytest.raises(RlvizError, match="target must be"):
        lrp(net, _obs(), target="policy")
    with pytest.raises(RlvizError, match="out of range"):
        lrp(net, _obs(), target=3)
    assert _hooks(net) == []


def test_per_frame_targets_and_overrides_are_used() -> None:
    net = _small()
    x = _obs()
    each = lrp(net, x, target=[0, 2, 1])
    np.testing.assert_allclose(each[1], lrp(net, x[1], target=2)[0], rtol=1e-5, atol=1e-9)
    assert not np.allclose(lrp(net, x, gamma=1.0), lrp(net, x))


def test_repeated_calls_do_not_keep_activations_alive():
    """Each layer's output points at its rule's context and back; lrp must break that cycle,
    or every call leaks its activations (seen as memory growing with video length)."""
    import gc

    import numpy as np
    import torch

    from rlviz.agents.agent import Agent
    from rlviz.agents.networks import NatureActorCritic
    from rlviz.explain.lrp import lrp

    torch.manual_seed(0)
    agent = Agent(NatureActorCritic(6))
    obs = np.random.default_rng(0).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)

    def live_tensors() -> int:
        import warnings

        gc.collect()
        with warnings.catch_warnings():  # isinstance on some torch module objects warns
            warnings.simplefilter("ignore")
            return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))

    lrp(agent, obs)
    before = live_tensors()
    for _ in range(10):
        lrp(agent, obs)
    assert live_tensors() - before < 5


def test_every_layer_that_reads_the_observation_gets_the_first_layer_rule(monkeypatch):
    """SB3 policies with separate trunks read the observation twice; both first convs need
    the bounded-input (z^B) rule, not only the one that happens to run first."""
    import numpy as np
    import torch

    from rlviz.agents.agent import Agent
    from rlviz.agents.networks import ARCHITECTURES
    from rlviz.explain.lrp import lrp
    from rlviz.explain.lrp.composites import Composite

    torch.manual_seed(0)
    agent = Agent(ARCHITECTURES["nature-actor-critic-separate"](6))
    firsts: list[bool] = []
    real = Composite.rule_for

    def spy(self, kind, first):
        firsts.append(first)
        return real(self, kind, first=first)

    monkeypatch.setattr(Composite, "rule_for", spy)
    lrp(agent, np.zeros((1, 4, 84, 84), np.uint8), target="value")
    assert firsts.count(True) == 2  # features.0 and critic_features.0


def test_named_composites_put_the_documented_rules_with_their_default_parameters_on_each_kind():
    """The table in composites.py's docstring, rule by rule (reprs carry every parameter)."""
    from rlviz.explain.lrp.composites import Composite

    table = {  # name: (first, other convs, dense, pool)
        "epsilon-gamma-box": ("ZBox(low=0.0, high=1.0, stabilizer=1e-06)", "Gamma(gamma=0.25, stabilizer=1e-06)",
                              "Epsilon(epsilon=1e-06)", "Epsilon(epsilon=1e-06)"),
        "epsilon-plus-flat": ("Flat(stabilizer=0.0)", "ZPlus(stabilizer=1e-06)", "Epsilon(epsilon=1e-06)",
                              "Epsilon(epsilon=1e-06)"),
        "epsilon-alpha2-beta1": ("ZBox(low=0.0, high=1.0, stabilizer=1e-06)",
                                 "AlphaBeta(alpha=2.0, beta=1.0, stabilizer=1e-06)", "Epsilon(epsilon=1e-06)",
                                 "Epsilon(epsilon=1e-06)"),
        "epsilon": ("Epsilon(epsilon=1e-06)",) * 4,
        "zero": ("Zero(epsilon=0.0)",) * 4,
    }
    assert list(COMPOSITES) == list(table)
    for name, rules in table.items():
        c = make_composite(name)
        assert c.name == name
        got = (c.rule_for("conv", first=True), c.rule_for("conv", first=False), c.rule_for("dense", first=False),
               c.rule_for("pool", first=False))
        assert tuple(map(repr, got)) == rules, name
        assert repr(c.rule_for("dense", first=True)) == rules[0]  # a dense layer that reads the observation
        assert repr(c.rule_for("pool", first=True)) == rules[3]  # pooling is never the first-layer rule
    assert repr(make_composite("epsilon-alpha2-beta1", box=False).first) == "AlphaBeta(alpha=2.0, beta=1.0, stabilizer=1e-06)"
    mine = Composite("mine", *(make_composite("zero").first,) * 4)
    assert make_composite(mine) is mine


def test_composite_requests_are_refused_with_the_whole_hint():
    from rlviz.explain.lrp.composites import Composite

    def message(*args, **kwargs) -> str:
        with pytest.raises(RlvizError) as info:
            make_composite(*args, **kwargs)
        return str(info.value)

    from rlviz.explain.lrp import composites

    # the named composites, then those that need a reference (where the module has them)
    names = [*composites.COMPOSITES, *getattr(composites, "REFERENCE_COMPOSITES", {})]
    assert names[:5] == ["epsilon-gamma-box", "epsilon-plus-flat", "epsilon-alpha2-beta1", "epsilon", "zero"]
    assert message("gamma") == f"unknown LRP composite 'gamma'; choose one of: {', '.join(names)}"
    assert message("epsilon-gamma-box", gama=0.5, zeta=1) == (
        "composite 'epsilon-gamma-box' has no parameter gama, zeta; it takes: gamma, epsilon, low, high, stabilizer")
    assert message("zero", epsilon=0.1) == "composite 'zero' has no parameter epsilon; it takes no parameters"
    mine = Composite("mine", *(make_composite("zero").first,) * 4)
    assert message(mine, gamma=0.5) == "parameter overrides apply to a composite given by name, not to a Composite object"


def test_composite_parameters_reach_their_rules():
    c = make_composite("epsilon-gamma-box", gamma=0.5, epsilon=0.1, low=-1.0, high=2.0, stabilizer=0.01)
    assert (repr(c.first), repr(c.conv), repr(c.dense), repr(c.pool)) == (
        "ZBox(low=-1.0, high=2.0, stabilizer=0.01)", "Gamma(gamma=0.5, stabilizer=0.01)", "Epsilon(epsilon=0.1)",
        "Epsilon(epsilon=0.1)")
    c = make_composite("epsilon-plus-flat", epsilon=0.1, stabilizer=0.01)
    assert (repr(c.conv), repr(c.dense), repr(c.pool)) == ("ZPlus(stabilizer=0.01)", "Epsilon(epsilon=0.1)", "Epsilon(epsilon=0.1)")
    c = make_composite("epsilon-alpha2-beta1", alpha=3.0, beta=2.0, epsilon=0.1, low=-1.0, high=2.0, stabilizer=0.01)
    assert (repr(c.first), repr(c.conv), repr(c.dense), repr(c.pool)) == (
        "ZBox(low=-1.0, high=2.0, stabilizer=0.01)", "AlphaBeta(alpha=3.0, beta=2.0, stabilizer=0.01)",
        "Epsilon(epsilon=0.1)", "Epsilon(epsilon=0.1)")
    assert {repr(r) for r in vars(make_composite("epsilon", epsilon=0.1)).values() if not isinstance(r, str)} == {
        "Epsilon(epsilon=0.1)"}


def _folded_linear(lin: nn.Linear, norm: nn.BatchNorm1d) -> nn.Linear:
    """The Linear that computes norm(lin(x)) in eval mode, folded by hand."""
    folded = nn.Linear(lin.in_features, lin.out_features).to(DT)
    gamma = norm.weight if norm.affine else torch.ones_like(norm.running_var)
    beta = norm.bias if norm.affine else torch.zeros_like(norm.running_mean)
    bias = lin.bias if lin.bias is not None else torch.zeros_like(norm.running_mean)
    with torch.no_grad():
        scale = gamma / torch.sqrt(norm.running_var + norm.eps)
        folded.weight.copy_(lin.weight * scale[:, None])
        folded.bias.copy_((bias - norm.running_mean) * scale + beta)
    return folded


@pytest.mark.parametrize("bias, affine", [(False, True), (True, False)], ids=["no-layer-bias", "no-affine"])
def test_batchnorm1d_without_a_layer_bias_or_its_own_scale_is_folded_into_the_linear_before(bias: bool, affine: bool):
    """A Linear + BatchNorm1d (eps 0.5, so that eps shows) gives the maps of the one Linear
    that computes both: the missing bias counts as 0, the missing gamma and beta as 1 and 0."""
    torch.manual_seed(12)
    lin, norm, head = nn.Linear(8, 5, bias=bias).to(DT), nn.BatchNorm1d(5, eps=0.5, affine=affine).to(DT), nn.Linear(5, 3)
    with torch.no_grad():
        norm.running_mean.uniform_(-0.3, 0.3)
        norm.running_var.uniform_(0.5, 2.0)
        if affine:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.2, 0.2)
    head = head.to(DT)
    lin2, norm2 = nn.Linear(5, 5, bias=bias).to(DT), nn.BatchNorm1d(5, eps=0.5, affine=affine).to(DT)
    with torch.no_grad():  # a second pair: each BatchNorm is folded into its own layer
        norm2.running_mean.uniform_(-0.3, 0.3)
        norm2.running_var.uniform_(0.5, 2.0)
    with_norm = nn.Sequential(nn.Flatten(), lin, norm, nn.ReLU(), lin2, norm2, nn.ReLU(), head).eval()
    plain = nn.Sequential(
        nn.Flatten(), _folded_linear(lin, norm), nn.ReLU(), _folded_linear(lin2, norm2), nn.ReLU(), head)
    x = _obs(n=4, shape=(2, 2, 2))
    for composite in COMPOSITES:
        want = lrp(plain, x, composite=composite)
        assert np.abs(want).sum() > 0
        np.testing.assert_allclose(lrp(with_norm, x, composite=composite), want, rtol=1e-6, atol=1e-9)


def test_batchnorm_lrp_cannot_fold_is_refused_with_what_to_do() -> None:
    def message(net: nn.Module) -> str:
        with pytest.raises(RlvizError) as info:
            lrp(net, _obs(n=1, shape=(2, 2, 2)))
        assert _hooks(net) == []
        return str(info.value)

    def net(norm: nn.Module, *, after_relu: bool = False) -> nn.Module:
        layers = [nn.Flatten(), nn.Linear(8, 5), nn.ReLU(), norm] if after_relu else [nn.Flatten(), nn.Linear(8, 5), norm]
        return nn.Sequential(*layers, nn.Linear(5, 3)).to(DT)

    assert message(net(nn.BatchNorm1d(5).to(DT).train())) == (
        "LRP needs the network in eval mode (BatchNorm is in training mode); call net.eval() first")
    assert message(net(nn.BatchNorm1d(5, track_running_stats=False).to(DT).eval())) == (
        "LRP can fold BatchNorm only with running statistics (track_running_stats=True)")
    assert message(net(nn.BatchNorm1d(5).to(DT).eval(), after_relu=True)) == (
        "BatchNorm '3' does not directly follow a Linear/Conv2d in an nn.Sequential; LRP can only fold it there")


def _refusal(net: nn.Module, obs=None, **kwargs) -> str:
    """The whole message lrp refuses this request with; no hook may stay behind."""
    with pytest.raises(RlvizError) as info:
        lrp(net, _obs() if obs is None else obs, **kwargs)
    if isinstance(net, nn.Module):
        assert _hooks(net) == []
    return str(info.value)


class _OwnWeight(nn.Module):
    """A layer LRP has no rule for: its own parameter next to a supported child."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2 * 16 * 16, 3).to(DT)
        self.scale = nn.Parameter(torch.ones(3, dtype=DT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1)) * self.scale


class _NormOffTheSide(nn.Module):
    """A Linear + BatchNorm1d pair in a Sequential, but the BatchNorm is fed something else:
    the Linear's output after a ReLU, another layer's output, or its own output again."""

    def __init__(self, layer_runs: bool = True, twice: bool = False) -> None:
        super().__init__()
        self.layer_runs, self.twice = layer_runs, twice
        self.pair = nn.Sequential(nn.Linear(2 * 16 * 16, 3), nn.BatchNorm1d(3)).to(DT).eval()
        self.other = nn.Linear(2 * 16 * 16, 3).to(DT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.twice:
            return self.pair[1](self.pair(x.flatten(1)))
        if not self.layer_runs:
            return self.pair[1](self.other(x.flatten(1)))
        return self.pair[1](torch.relu(self.pair[0](x.flatten(1))))


def test_layers_lrp_cannot_explain_are_refused_word_for_word() -> None:
    """What users read when their network does not fit LRP: the layer, why, and what to do."""
    supported = "Linear, Conv2d, BatchNorm after a Linear/Conv2d, ReLU, LeakyReLU, Flatten, max/average pooling, Dropout"
    sigmoid = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.Sigmoid(), nn.Flatten(), nn.Linear(4 * 16 * 16, 2)).to(DT)
    assert _refusal(sigmoid) == (
        f"LRP does not support layer '1' (Sigmoid); supported: {supported}. Use perturbation saliency for this network")
    assert _refusal(_OwnWeight()) == (  # the network itself is the unsupported module: named by its class
        f"LRP does not support layer '_OwnWeight' (_OwnWeight); supported: {supported}. "
        "Use perturbation saliency for this network")
    assert _refusal(_Reused().to(DT)) == (
        "module 'mid' (Conv2d) runs twice in one forward pass; LRP needs every layer to run once: give each use its own module")
    assert _refusal(_NormOffTheSide()) == (
        "BatchNorm 'pair.1' does not take the output of the layer before it; LRP cannot fold it")
    assert _refusal(_NormOffTheSide(layer_runs=False)) == (
        "BatchNorm 'pair.1' does not take the output of the layer before it; LRP cannot fold it")
    assert _refusal(_NormOffTheSide(layer_runs=False).train()) == (
        "LRP needs the network in eval mode (BatchNorm is in training mode); call net.eval() first")
    assert _refusal(_NormOffTheSide(twice=True)) == (
        "module 'pair.1' (BatchNorm1d) runs twice in one forward pass; LRP needs every layer to run once: "
        "give each use its own module")
    dropout = nn.Sequential(nn.Flatten(), nn.Linear(2 * 16 * 16, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 3)).to(DT)
    assert _refusal(dropout) == "LRP needs the network in eval mode (Dropout '3' is training); call net.eval() first"
    without = nn.Sequential(dropout[0], dropout[1], dropout[2], dropout[4])
    np.testing.assert_array_equal(lrp(dropout.eval(), _obs()), lrp(without, _obs()))  # in eval mode it is the identity


def test_requests_lrp_cannot_serve_are_refused_word_for_word() -> None:
    net = _small()
    assert _refusal("my-net") == "LRP explains an rlviz Agent or a torch nn.Module, got str"  # type: ignore[arg-type]
    assert _refusal(net, target="policy") == (
        "LRP target must be 'action', 'value', 'contrast' or an action index, got 'policy'")
    assert _refusal(net, target=[0, 1]) == "got 2 target actions for 3 observations; give one or one per observation"
    assert _refusal(net, target=3) == "target action out of range for a network with 3 actions"
    assert _refusal(net, target=-1) == "target action out of range for a network with 3 actions"
    assert _refusal(net, batch_size=0) == "batch_size must be at least 1, got 0"
    flat_q = nn.Sequential(nn.Flatten(0), nn.Linear(3 * 2 * 16 * 16, 4)).to(DT)  # one output vector for the batch
    assert _refusal(flat_q, composite="epsilon") == "LRP expects logits of shape (N, actions), got (4,)"


def test_small_batches_one_target_for_all_and_float32_frames_give_the_same_maps() -> None:
    """batch_size only splits the work; one target means that action for every frame; frames
    are cast to the network's float64; an empty batch gives an empty float32 stack."""
    net, x = _small(), _obs(n=5)
    whole = lrp(net, x, target=2)
    np.testing.assert_allclose(lrp(net, x, target=2, batch_size=2), whole, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(lrp(net, x, target=[2] * 5), whole)
    np.testing.assert_allclose(lrp(net, x.float(), target=2), whole, rtol=1e-4, atol=1e-6 * np.abs(whole).max())
    empty = lrp(net, x[:0])
    assert empty.shape == (0, 2, 16, 16) and empty.dtype == np.float32


def test_contrast_target_is_the_chosen_map_minus_the_mean_map_of_the_other_actions() -> None:
    """R starts from f * (onehot(a) - (1 - onehot(a)) / (A - 1)), and LRP is linear in its
    starting relevance: the contrastive map is the greedy action's map minus the mean of the others'."""
    net, x = _small(), _obs()
    greedy = net(x)[0].argmax(1).numpy()
    maps = {a: lrp(net, x, target=a) for a in range(3)}
    want = np.stack([maps[g][i] - sum(maps[b][i] for b in range(3) if b != g) / 2 for i, g in enumerate(greedy)])
    np.testing.assert_allclose(lrp(net, x, target="contrast"), want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


class _Constant(nn.Module):
    """Q-values that do not depend on the observation at all."""

    def __init__(self, trained: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 3).to(DT).requires_grad_(trained)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.ones(x.shape[0], 1, dtype=x.dtype))


@pytest.mark.parametrize("trained", [True, False], ids=["output-with-grad", "output-without-grad"])
def test_an_output_that_ignores_the_observation_gives_a_zero_map(trained: bool) -> None:
    r = lrp(_Constant(trained), _obs())
    assert r.shape == (3, 2, 16, 16) and np.all(r == 0)


def test_a_value_head_shaped_n_by_1_explains_the_same_value() -> None:
    class Column(nn.Module):
        def __init__(self, net: SmallActorCritic) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits, value = self.net(x)
            return logits, value[:, None]

    net = _small()
    np.testing.assert_array_equal(lrp(Column(net), _obs(), target="value"), lrp(net, _obs(), target="value"))


def test_a_network_without_parameters_is_explained_on_the_cpu() -> None:
    """A fixed average pool has no parameter to take the device from: LRP runs on the CPU and
    the greedy output's relevance sums to that output (epsilon 1e-12 on the pool)."""
    net = nn.Sequential(nn.AvgPool2d(4), nn.Flatten())
    x = _obs(n=2)
    r = lrp(net, x, composite="epsilon", epsilon=1e-12)
    np.testing.assert_allclose(r.sum((1, 2, 3)), net(x).max(1).values.numpy(), rtol=1e-6)
