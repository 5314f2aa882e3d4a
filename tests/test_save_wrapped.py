"""``agent.save`` works for networks wrapped from Python whose architecture rlviz knows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.loading import load_agent
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError
from tests.foreign_nets import C51, SharedDuelingQ, _convs, _mlp, _randomised


class FloatConvHead(nn.Module):
    """A Nature Q-net with foreign names, already on rlviz's float [0, 1] contract."""

    def __init__(self, divide: float = 1.0) -> None:
        super().__init__()
        self.conv, self.head, self.divide = _convs(), _mlp(6), divide

    def forward(self, x):
        return self.head(self.conv(x / self.divide).flatten(1))


class FloatInput(nn.Module):
    """Feeds x * 255 to a net that divides by 255 inside, so it meets rlviz's [0, 1] contract."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x * 255.0)


@pytest.mark.parametrize("make", [FloatConvHead, lambda: FloatInput(SharedDuelingQ()), lambda: FloatInput(C51())],
                         ids=["q", "dueling", "c51"])
def test_wrapped_network_saves_and_reloads_with_equal_outputs(tmp_path, make):
    net = _randomised(make())
    agent = Agent(net, env_spec=EnvSpec("Pong"))
    assert agent.architecture is None
    agent.save(tmp_path / "a")
    again = load_agent(tmp_path / "a")
    x = torch.rand(4, 4, 84, 84)
    assert torch.allclose(again.forward(x)[0], agent.forward(x)[0], atol=1e-5, rtol=1e-5)
    assert again.architecture["name"] != ""


def test_network_whose_forward_differs_from_its_layers_is_refused(tmp_path):
    agent = Agent(_randomised(FloatConvHead(divide=255.0)), env_spec=EnvSpec("Pong"))
    with pytest.raises(RlvizError, match="outputs match none"):
        agent.save(tmp_path / "a")
    assert not (tmp_path / "a").exists()


def test_unknown_network_is_refused(tmp_path):
    agent = Agent(nn.Sequential(nn.Flatten(), nn.Linear(4 * 84 * 84, 6)), env_spec=EnvSpec("Pong"))
    with pytest.raises(RlvizError, match="cannot be rebuilt"):
        agent.save(tmp_path / "a")
