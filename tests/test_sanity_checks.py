"""Sanity checks: cascading randomisation (Adebayo et al.) and input invariance (Kindermans et al.)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCriticSeparate, NatureQNetwork
from rlviz.assess.sanity import (
    cascading_randomization,
    input_invariance,
    randomization_steps,
    randomized_copy,
    rankdata,
    shifted_copy,
    spearman,
)
from rlviz.play.envs import EnvSpec
from rlviz.present.assessment_reports import sanity_report
from rlviz.util.errors import RlvizError


class TinyConvPolicy(nn.Module):
    """A small actor-critic with hand-set ("trained") weights: it detects bright objects in
    the 2 x 2 cells of 7x7 px at rows/columns 28-41 and ignores the rest of the frame."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(4, 4, 7, stride=7), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 12 * 12, 16), nn.ReLU()
        )
        self.actor = nn.Linear(16, 3)
        self.critic = nn.Linear(16, 1)
        with torch.no_grad():
            conv, fc = self.features[0], self.features[3]
            conv.weight.fill_(1.0 / (4 * 49))
            conv.bias.fill_(-0.15)
            cells = torch.zeros(4, 12, 12)
            cells[:, 4:6, 4:6] = 1.0
            fc.weight.copy_(cells.reshape(1, -1) * torch.linspace(0.5, 2.0, 16)[:, None])
            fc.bias.zero_()
            self.actor.weight.zero_()
            self.actor.weight[0] = 1.0
            self.actor.bias.zero_()
            self.critic.weight.fill_(0.5)
            self.critic.bias.zero_()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.actor(h), self.critic(h).squeeze(-1)


def objects_obs(n: int, seed: int = 0) -> np.ndarray:
    """Dark noise with bright 3x3 objects inside the read cells and elsewhere."""
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 60, size=(n, 4, 84, 84)).astype(np.uint8)
    for i in range(n):
        for _ in range(4):
            r, c = rng.integers(28, 39, size=2)
            obs[i, :, r : r + 3, c : c + 3] = 255
        for _ in range(12):
            r, c = rng.integers(0, 81, size=2)
            obs[i, :, r : r + 3, c : c + 3] = 255
    return obs


@pytest.fixture
def tiny_agent() -> Agent:
    return Agent(TinyConvPolicy(), env_spec=EnvSpec("Pong"))


def test_rankdata_averages_ties_and_spearman_is_rank_based():
    assert np.array_equal(rankdata(np.array([10.0, 20.0, 10.0, 5.0])), np.array([1.5, 3.0, 1.5, 0.0]))
    a = np.random.default_rng(0).random(200)
    assert spearman(a, np.exp(3 * a)) == pytest.approx(1.0)  # any increasing transform
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(np.zeros(5), np.zeros(5)) == 1.0 and spearman(np.zeros(5), a[:5]) == 0.0
    # against the textbook formula 1 - 6 sum d^2 / (n (n^2 - 1)) without ties
    b = np.random.default_rng(1).random(200)
    d = rankdata(a) - rankdata(b)
    assert spearman(a, b) == pytest.approx(1 - 6 * (d**2).sum() / (200 * (200**2 - 1)))


def test_randomisation_runs_from_the_heads_down(pong_agent):
    steps = randomization_steps(pong_agent)
    assert steps == [["actor", "critic"], ["features.7"], ["features.4"], ["features.2"], ["features.0"]]
    q_agent = Agent(NatureQNetwork(6), env_spec=EnvSpec("Pong"))
    assert randomization_steps(q_agent)[:2] == [["q"], ["features.7"]]


def test_randomising_all_layers_changes_the_maps_of_correct_methods(tiny_agent):
    obs = objects_obs(2)
    report = cascading_randomization(
        tiny_agent, obs, methods=["saliency-actor", "gradient-x-input", "random"], seed=0
    )
    final = report.final_rho()
    assert final["gradient-x-input"] < 0.3
    assert final["saliency-actor"] < 0.6
    assert "gradient-x-input" not in report.flagged() and "saliency-actor" not in report.flagged()
    # "random" ignores the model, so its maps never change: the flag catches it
    assert final["random"] == pytest.approx(1.0) and "random" in report.flagged()
    assert report.steps[0] == "none" and np.allclose(report.rho["saliency-actor"][:, 0], 1.0)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["flagged"] == ["random"] and len(d["rho"]["gradient-x-input"]) == len(report.steps)


def test_sanity_check_never_changes_the_original_agent(tiny_agent):
    before = {k: v.clone() for k, v in tiny_agent.net.state_dict().items()}
    rng_before = torch.get_rng_state()
    cascading_randomization(tiny_agent, objects_obs(1), methods=["gradient-x-input"])
    input_invariance(tiny_agent, objects_obs(1), methods=["gradient-x-input"])
    after = tiny_agent.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert torch.equal(rng_before, torch.get_rng_state())  # the global RNG is not consumed
    copy = randomized_copy(tiny_agent, ["actor"], seed=0)
    assert not torch.equal(copy.net.actor.weight, tiny_agent.net.actor.weight)
    assert torch.equal(copy.net.features[0].weight, tiny_agent.net.features[0].weight)


def test_input_shift_compensation_keeps_outputs_equal(pong_agent, random_obs):
    shifted = shifted_copy(pong_agent, -0.5)
    x = torch.from_numpy(random_obs).float() / 255.0
    with torch.no_grad():
        la, va = pong_agent.forward(x)
        ls, vs = shifted.forward(x - 0.5)
    assert torch.allclose(la, ls, atol=1e-5) and torch.allclose(va, vs, atol=1e-5)
    assert not torch.equal(shifted.net.features[0].bias, pong_agent.net.features[0].bias)
    # an actor-critic with separate trunks has two layers reading the input: both compensate
    separate = Agent(NatureActorCriticSeparate(6), env_spec=EnvSpec("Pong"))
    with torch.no_grad():
        lb, vb = separate.forward(x)
        ls, vs = shifted_copy(separate, -0.5).forward(x - 0.5)
    assert torch.allclose(lb, ls, atol=1e-5) and torch.allclose(vb, vs, atol=1e-5)


def test_shift_compensation_is_refused_for_a_padded_first_layer():
    class Padded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 2, 3, padding=1)
            self.head = nn.Linear(2 * 84 * 84, 2)

        def forward(self, x):
            return self.head(self.conv(x).flatten(1))

    agent = Agent(Padded(), env_spec=EnvSpec("Pong"))
    with pytest.raises(RlvizError, match="pads its input"):
        shifted_copy(agent, -0.5)


def test_gradient_and_saliency_are_input_invariant_and_gradient_x_input_is_not(tiny_agent):
    report = input_invariance(tiny_agent, objects_obs(1), methods=["gradient", "saliency-actor", "gradient-x-input"])
    inv = report.invariant()
    assert inv["gradient"] and inv["saliency-actor"]
    assert not inv["gradient-x-input"]  # Kindermans et al.: x * grad moves with the input
    assert report.output_max_diff < 1e-5


def test_sanity_report_writes_json_and_png(tiny_agent, tmp_path):
    cascade, invariance = sanity_report(
        tiny_agent, obs=objects_obs(2), methods=["gradient-x-input", "random"], out_dir=tmp_path
    )
    payload = json.loads((tmp_path / "sanity.json").read_text())
    assert payload["cascading_randomization"]["flagged"] == ["random"]
    assert "gradient-x-input" in payload["input_invariance"]["relative_change"]
    # the numbers in the file are the reports' own (rho averaged over frames per step)
    for m, rho in cascade.rho.items():
        assert payload["cascading_randomization"]["rho"][m] == pytest.approx(rho.mean(axis=0).tolist(), nan_ok=True)
    for m, change in invariance.relative_change.items():
        assert payload["input_invariance"]["relative_change"][m] == pytest.approx(change.mean())
    # the PNG is the figure of these reports
    import cv2

    from rlviz.present.faithfulness_figures import draw_sanity

    png = cv2.imread(str(tmp_path / "sanity.png"))[..., ::-1]
    assert np.array_equal(png, draw_sanity(cascade, invariance, title=f"{tiny_agent.name}: sanity checks"))
