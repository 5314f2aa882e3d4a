"""Interactions and LRP find heads by role, so every architecture rlviz loads gets both, and
LRP conserves relevance through dueling and distributional head combinations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.loading import load_agent
from rlviz.agents.networks import (
    ImpalaActorCritic,
    NatureDistributionalQ,
    NatureDuelingQ,
)
from rlviz.cli import main
from rlviz.explain.heads import distributional_lrp, linear_heads
from rlviz.explain.interactions_cnn import (
    cnn_parts,
    policy_interaction_matrix,
    receptive_field_boxes,
)
from rlviz.explain.lrp import lrp, make_composite, relevance
from rlviz.play.envs import EnvSpec
from tests.foreign_nets import ConvHeadQ, _randomised


def _agent(net: nn.Module) -> Agent:
    return Agent(_randomised(net, seed=2), env_spec=EnvSpec("Pong"))


NETS = {
    "dueling-shared": lambda: NatureDuelingQ(6),
    "dueling-streams": lambda: NatureDuelingQ(6, separate_streams=True),
    "c51": lambda: NatureDistributionalQ(6, n_atoms=11, distribution="c51", v_min=-3.0, v_max=5.0),
    "qr": lambda: NatureDistributionalQ(6, n_atoms=8, distribution="qr"),
}
RUNS = {**NETS, "impala": lambda: ImpalaActorCritic(6)}


def _record(agent: Agent, x: torch.Tensor, action: torch.Tensor) -> tuple[list, torch.Tensor]:
    """LRP-0 relevance with a per-layer record; returns (record, Q of the explained action)."""
    rules = make_composite("epsilon-gamma-box", epsilon=0.0, gamma=0.0)
    record: list = []
    heads = distributional_lrp(agent.net, action)
    if heads is None:
        forward, start = (lambda inp: agent.forward(inp)[0]), torch.nn.functional.one_hot(action, 6).float()
    else:
        forward, start = heads
    relevance(agent.net, forward, x, start, rules, record=record)
    with torch.no_grad():
        q = agent.forward(x)[0].gather(1, action[:, None]).squeeze(1)
    return record, q


@pytest.mark.parametrize("name", list(NETS))
def test_relevance_entering_the_heads_sums_to_the_explained_q_value(name):
    agent = _agent(NETS[name]())
    x = torch.rand(3, 4, 84, 84, generator=torch.Generator().manual_seed(0))
    action = torch.tensor([0, 3, 5])
    record, q = _record(agent, x, action)
    heads = {"value", "advantage"} if name.startswith("dueling") else {"head"}
    entering = sum(out for layer, out, _ in record if layer in heads)
    assert torch.allclose(entering.double(), q.double(), atol=1e-4, rtol=1e-4), (entering, q)


@pytest.mark.parametrize("name", list(RUNS))
def test_lrp_and_interactions_run_on_every_architecture(name):
    agent = _agent(RUNS[name]())
    obs = np.random.default_rng(0).integers(0, 256, (2, 4, 84, 84), dtype=np.uint8)
    maps = lrp(agent, obs)
    assert maps.shape == (2, 4, 84, 84) and np.isfinite(maps).all() and np.abs(maps).sum() > 0
    matrix = policy_interaction_matrix(agent, group="cell")
    cells = 121 if name == "impala" else 49
    assert matrix.shape == (cells, cells) and np.isfinite(matrix).all() and matrix.max() > 0


def test_impala_receptive_fields_contain_every_input_a_cell_depends_on():
    """Oracle: the input pixels with nonzero gradient for a conv cell lie inside its box."""
    agent = _agent(ImpalaActorCritic(6))
    parts = cnn_parts(agent)
    boxes = receptive_field_boxes(parts)
    x = torch.rand(1, 4, 84, 84, requires_grad=True)
    out = parts.conv(x)
    for r, c in ((0, 0), (5, 5), (10, 3)):
        (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x, retain_graph=True)
        ys, xs = np.nonzero(grad.abs().sum((0, 1)).numpy())
        x0, y0, x1, y1 = boxes[r * 11 + c]
        assert x0 <= xs.min() and xs.max() < x1 and y0 <= ys.min() and ys.max() < y1
        assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)  # and the box is tight


def test_qr_heads_fold_into_one_exact_row_per_action():
    net = _randomised(NatureDistributionalQ(6, n_atoms=8, distribution="qr"))
    folded, _ = linear_heads(net, "q")
    h = torch.rand(5, 512)
    expected = net.head(h).view(5, 6, 8).mean(-1)
    assert torch.allclose(folded(h), expected, atol=1e-6)


def test_dueling_policy_head_ranks_actions_like_q():
    net = _randomised(NatureDuelingQ(6))
    advantage, value = linear_heads(net, "q")
    x = torch.rand(4, 4, 84, 84)
    with torch.no_grad():
        assert torch.equal(advantage(net.features(x)).argmax(-1), net(x).argmax(-1))
    assert value is net.value


def test_cli_interactions_on_an_imported_foreign_q_network(tmp_path):
    """The issue's case: a Nature CNN named conv/head, refused by interactions before."""
    src = tmp_path / "dqn.pt"
    torch.save(_randomised(ConvHeadQ()).state_dict(), src)
    assert main(["import", str(src), "--game", "Pong", "--out", str(tmp_path / "a")]) == 0
    agent = load_agent(tmp_path / "a")
    assert policy_interaction_matrix(agent).shape == (49, 49)


@pytest.mark.parametrize("name", ["c51", "qr"])
def test_lrp_of_a_distributional_net_starts_at_the_atoms_of_the_explained_action(name):
    """lrp() on a C51 / QR-DQN agent equals relevance() started at the atoms by
    distributional_lrp, for the greedy action and for chosen ones that are not greedy."""
    agent = _agent(NETS[name]())
    x = torch.rand(3, 4, 84, 84, generator=torch.Generator().manual_seed(1))
    rules = make_composite("epsilon-gamma-box")
    greedy = agent.forward(x)[0].argmax(1)
    others = (greedy + 1) % 6
    for target, actions in (("action", None), (others.tolist(), others)):
        forward, start = distributional_lrp(agent.net, actions)
        want = relevance(agent.net, forward, x, start, rules).detach().numpy()
        got = lrp(agent, x, target=target)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())
    assert not np.allclose(lrp(agent, x, target=others.tolist()), lrp(agent, x))  # the target matters
