"""The attribution methods behind rlviz.attribute, each against an independent oracle: Captum
where it has the method, closed forms on small linear / ReLU nets otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.explain.deeplift import deeplift
from rlviz.explain.gradcam import gradcam
from rlviz.explain.gradient import gradient
from rlviz.explain.integrated_gradients import integrated_gradients
from rlviz.explain.meaningful_perturbation import meaningful_perturbation
from rlviz.explain.sarfa import sarfa, sarfa_score
from rlviz.explain.smoothgrad import smoothgrad
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError

captum_attr = pytest.importorskip("captum.attr")


class SmallNet(nn.Module):
    """A small Nature-like ReLU actor-critic (conv, conv, dense), random weights: fast oracle checks."""

    def __init__(self, seed: int = 0, actions: int = 4) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.features = nn.Sequential(
            nn.Conv2d(4, 8, 8, stride=4), nn.ReLU(), nn.Conv2d(8, 8, 4, stride=2), nn.ReLU(),
            nn.Flatten(), nn.Linear(8 * 9 * 9, 16), nn.ReLU(),
        )
        self.actor = nn.Linear(16, actions)
        self.critic = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.actor(h), self.critic(h).squeeze(-1)


class LinearNet(nn.Module):
    """logits_a = sum(W_a * x) + b_a, value = sum(v * x): every gradient method has a closed form."""

    def __init__(self, actions: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w = nn.Parameter(torch.randn(actions, 4, 84, 84, generator=g) * 0.01)
        self.b = nn.Parameter(torch.randn(actions, generator=g))
        self.v = nn.Parameter(torch.randn(4, 84, 84, generator=g) * 0.01)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.einsum("nchw,achw->na", x, self.w) + self.b, (x * self.v).sum((1, 2, 3))


def agent_of(net: nn.Module) -> Agent:
    return Agent(net, env_spec=EnvSpec("Pong"))


@pytest.fixture
def small() -> Agent:
    return agent_of(SmallNet())


@pytest.fixture
def obs() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, size=(2, 4, 84, 84), dtype=np.uint8)


def floats(obs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(obs).float() / 255.0


def greedy(agent: Agent, obs: np.ndarray) -> list[int]:
    return agent(obs)[0].argmax(-1).tolist()


def logits_fn(agent: Agent):
    return lambda x: agent.forward(x)[0]


# ----------------------------------------------------------------------------- integrated gradients


def test_integrated_gradients_equals_captum_gauss_legendre(small, obs):
    ref = np.full((84, 84), 40, np.uint8)  # a grey background frame, uint8 like the env's
    ours = integrated_gradients(small, obs, "action", baseline=ref, steps=16)
    x = floats(obs)
    theirs = captum_attr.IntegratedGradients(logits_fn(small)).attribute(
        x, baselines=torch.full_like(x, 40 / 255.0), target=greedy(small, obs), n_steps=16, method="gausslegendre")
    assert np.allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-7)


def test_integrated_gradients_is_complete_on_a_relu_net(small, obs):
    ig = integrated_gradients(small, obs, "value", steps=256)
    with torch.no_grad():
        delta = small.forward(floats(obs))[1] - small.forward(torch.zeros(2, 4, 84, 84))[1]
    assert np.allclose(ig.reshape(2, -1).sum(1), delta.numpy(), rtol=1e-2, atol=1e-5)


def test_integrated_gradients_on_a_linear_net_is_input_minus_baseline_times_weight(obs):
    agent = agent_of(LinearNet())
    background = np.random.default_rng(0).random((4, 84, 84)).astype(np.float32)  # float [0, 1] baseline
    ig = integrated_gradients(agent, obs, 1, baseline=background, steps=3)
    expected = (floats(obs) - torch.from_numpy(background)) * agent.net.w[1].detach()
    assert np.allclose(ig, expected.numpy(), atol=1e-7)


def test_a_baseline_that_does_not_fit_is_refused(small, obs):
    with pytest.raises(RlvizError, match="does not fit"):
        integrated_gradients(small, obs, baseline=np.zeros((80, 80), np.uint8))


# ----------------------------------------------------------------------------- SmoothGrad


def test_smoothgrad_equals_captum_noise_tunnel_with_the_same_noise(small, obs):
    ours = smoothgrad(small, obs, "action", samples=5, sigma=0.2, seed=7)
    torch.manual_seed(7)
    nt = captum_attr.NoiseTunnel(captum_attr.Saliency(logits_fn(small)))
    theirs = nt.attribute(floats(obs), nt_type="smoothgrad", nt_samples=5, stdevs=0.2, target=greedy(small, obs), abs=False)
    assert np.allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-8)


class OneUnit(nn.Module):
    """f(x) = relu(w.x + b): its gradient is w * [w.x + b > 0], so under Gaussian noise of std s the
    mean gradient is w * Phi((w.x + b) / (s ||w||))."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.w = nn.Parameter(torch.randn(4, 84, 84, generator=g) * 0.01)
        self.b = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = torch.relu((x * self.w).sum((1, 2, 3)) + self.b)
        return torch.stack([f, -f], 1), f


def test_smoothgrad_is_the_mean_gradient_of_a_relu_unit_in_closed_form(obs):
    net = OneUnit()
    agent = agent_of(net)
    x = floats(obs[:1])
    sigma = 0.1
    with torch.no_grad():
        pre = float((x[0] * net.w).sum())
        net.b.fill_(-pre + 0.5 * sigma * float(net.w.norm()))  # w.x + b = 0.5 s ||w||: Phi = 0.69
    sg = smoothgrad(agent, obs[:1], "value", samples=400, sigma=sigma, seed=0)
    phi = 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))
    fraction = float((sg[0] * net.w.detach().numpy()).sum() / (net.w.detach() ** 2).sum())
    assert abs(fraction - phi) < 0.08  # 400 samples: binomial std 0.023
    assert np.allclose(sg[0], fraction * net.w.detach().numpy(), atol=1e-7)  # the direction of w, exactly


# ----------------------------------------------------------------------------- DeepLIFT


def test_deeplift_equals_captum_deeplift_rescale(small, obs):
    ref = np.random.default_rng(1).integers(0, 256, size=(4, 84, 84), dtype=np.uint8)
    ours = deeplift(small, obs, "action", baseline=ref)
    x = floats(obs)
    base = floats(ref[None]).expand_as(x).contiguous()
    theirs = captum_attr.DeepLift(_LogitsOnly(small.net)).attribute(x, baselines=base, target=greedy(small, obs))
    assert np.allclose(ours, theirs.detach().numpy(), rtol=1e-3, atol=1e-6)


class _LogitsOnly(nn.Module):
    """Captum's DeepLift needs a module; this one returns the actor's logits."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0]


def test_deeplift_sums_to_the_output_difference_exactly(small, obs):
    ref = np.full((84, 84), 90, np.uint8)
    for target in ("action", "value", "contrast"):
        dl = deeplift(small, obs, target, baseline=ref)
        x, r = floats(obs), torch.full((2, 4, 84, 84), 90 / 255.0)
        with torch.no_grad():
            (lx, vx), (lr, vr) = small.forward(x), small.forward(r)
        a = lx.argmax(-1)
        if target == "value":
            delta = vx - vr
        else:
            w = torch.nn.functional.one_hot(a, 4).float()
            if target == "contrast":
                w = w - (1 - w) / 3
            delta = ((lx - lr) * w).sum(-1)
        assert np.allclose(dl.reshape(2, -1).sum(1), delta.numpy(), rtol=1e-4, atol=1e-6), target


# ----------------------------------------------------------------------------- Grad-CAM


def test_gradcam_equals_captum_layer_gradcam_upsampled(small, obs):
    ours = gradcam(small, obs, "action")
    layer = small.net.features[2]  # the last conv layer
    cam = captum_attr.LayerGradCam(logits_fn(small), layer).attribute(
        floats(obs), target=greedy(small, obs), relu_attributions=True)
    theirs = captum_attr.LayerAttribution.interpolate(cam, (84, 84), "bilinear")[:, 0]
    assert ours.shape == (2, 84, 84)
    assert np.allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=1e-8)


class CamNet(nn.Module):
    """conv -> global average pool -> linear: Grad-CAM = ReLU(sum_k W[a, k] A_k) / (h w), the CAM."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = nn.Conv2d(4, 5, 12, stride=12)  # 7 x 7 cells
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(self.conv(x).mean((2, 3)))
        return logits, logits.sum(-1)


def test_gradcam_is_the_class_activation_map_on_a_gap_network(obs):
    net = CamNet()
    agent = agent_of(net)
    cam = gradcam(agent, obs, 2, upsample=False)
    with torch.no_grad():
        a = net.conv(floats(obs))
        expected = torch.relu(torch.einsum("k,nkij->nij", net.head.weight[2], a)) / 49.0
    assert cam.shape == (2, 7, 7)
    assert np.allclose(cam, expected.numpy(), rtol=1e-5, atol=1e-8)


# ----------------------------------------------------------------------------- SARFA


def test_sarfa_score_by_hand():
    p = torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64)
    q = torch.tensor([[0.2, 0.4, 0.4]], dtype=torch.float64)
    a = torch.tensor([0])
    # dP = 0.3; P_rem = (0.6, 0.4), P'_rem = (0.5, 0.5); D = 0.6 ln 1.2 + 0.4 ln 0.8
    d = 0.6 * math.log(1.2) + 0.4 * math.log(0.8)
    k = 1 / (1 + d)
    assert float(sarfa_score(p, q, a)) == pytest.approx(2 * 0.3 * k / (0.3 + k))
    assert float(sarfa_score(q, p, a)) == 0.0  # the action got likelier: not relevant


class DecoyPolicy(nn.Module):
    """Action 0's logit reads region R (rows 10-20); region D (rows 60-72) adds the same amount to
    every logit: it moves the logits, never the action distribution."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r = 4.0 * x[:, :, 10:20, 10:20].mean((1, 2, 3))
        d = 6.0 * x[:, :, 60:72, 50:70].mean((1, 2, 3))
        logits = torch.stack([r + d, d + 0.5, d], 1)
        return logits, d


def test_sarfa_ignores_a_decoy_that_shifts_all_actions_but_saliency_does_not():
    from rlviz.explain.perturbation import perturbation_saliency

    agent = agent_of(DecoyPolicy())
    obs = np.zeros((1, 4, 84, 84), np.uint8)
    obs[:, :, 12:18, 12:18] = 255  # an object in R
    obs[:, :, 62:70, 54:66] = 255  # an object in D
    s = sarfa(agent, obs, "action", method="plain")[0]
    sal = perturbation_saliency(agent, obs, method="plain").actor[0]
    assert s[12:18, 12:18].max() > 0.01
    assert s[60:72, 50:70].max() < 1e-5 * s[12:18, 12:18].max()
    assert sal[60:72, 50:70].max() > sal[12:18, 12:18].max()  # saliency calls the decoy the most important
    with pytest.raises(RlvizError, match="not the value"):
        sarfa(agent, obs, "value")


# ----------------------------------------------------------------------------- meaningful perturbation


class BoxReader(nn.Module):
    """Action 0's logit is 8 x the mean brightness in rows/cols 30-50; nothing else matters."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = 8.0 * x[:, :, 30:50, 30:50].mean((1, 2, 3))
        return torch.stack([s, torch.zeros_like(s), torch.zeros_like(s)], 1), s


def test_meaningful_perturbation_deletes_the_region_the_policy_reads():
    agent = agent_of(BoxReader())
    obs = np.random.default_rng(0).integers(0, 40, size=(1, 4, 84, 84), dtype=np.uint8)
    for r, c in ((32, 34), (40, 44), (5, 70), (70, 8), (60, 60)):  # objects inside and outside the box
        obs[:, :, r : r + 4, c : c + 4] = 255
    maps = meaningful_perturbation(agent, obs, "action", iterations=40, lr=0.15)
    assert maps.shape == (1, 84, 84) and maps.min() >= 0 and maps.max() <= 1
    inside = maps[:, 32:48, 32:48].mean()
    outside = np.concatenate([maps[:, :20].ravel(), maps[:, 64:].ravel()]).mean()
    assert inside > 0.3 and inside > 5 * outside


def test_meaningful_perturbation_leaves_the_network_untouched(small, obs):
    before = [p.detach().clone() for p in small.net.parameters()]
    meaningful_perturbation(small, obs[:1], iterations=3)
    assert all(p.grad is None for p in small.net.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, small.net.parameters(), strict=True))


# ----------------------------------------------------------------------------- plain gradient


def test_gradient_equals_captum_saliency_without_abs(small, obs):
    ours = gradient(small, obs, [1, 3])
    theirs = captum_attr.Saliency(logits_fn(small)).attribute(floats(obs), target=[1, 3], abs=False)
    assert np.allclose(ours, theirs.numpy(), atol=1e-8)


def test_sarfa_on_the_incremental_path_equals_the_plain_one(pong_agent, random_obs):
    plain = sarfa(pong_agent, random_obs[:2], "action", method="plain")
    fast = sarfa(pong_agent, random_obs[:2], "action", method="incremental")
    assert plain.shape == (2, 84, 84) and plain.max() > 0
    assert np.allclose(fast, plain, rtol=1e-3, atol=1e-4 * plain.max())
    per_action = sarfa(pong_agent, random_obs[:2], [1, 4], method="incremental")
    assert not np.allclose(per_action, fast)  # another action, another map
