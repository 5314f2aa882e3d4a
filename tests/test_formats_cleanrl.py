"""CleanRL state dicts load into rlviz agents whose outputs equal CleanRL's own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.formats.cleanrl import load_cleanrl
from rlviz.agents.loading import load_agent
from rlviz.util.errors import RlvizError


def _trunk() -> list[nn.Module]:
    return [
        nn.Conv2d(4, 32, 8, stride=4), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU(),
    ]  # fmt: skip


class CleanRLAgent(nn.Module):
    """Same module names and forward as CleanRL's ppo_atari ``Agent`` (divides by 255 inside)."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.network = nn.Sequential(*_trunk())
        self.actor = nn.Linear(512, n_actions)
        self.critic = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.network(x / 255.0)
        return self.actor(hidden), self.critic(hidden)


class CleanRLQNetwork(nn.Module):
    """Same module names and forward as CleanRL's dqn_atari ``QNetwork``."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        self.network = nn.Sequential(*_trunk(), nn.Linear(512, n_actions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x / 255.0)


@pytest.fixture(scope="module")
def obs() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (6, 4, 84, 84), dtype=np.uint8)


def _saved(module: nn.Module, path) -> nn.Module:
    torch.manual_seed(0)
    for p in module.parameters():  # spread the weights so the comparison is not trivially flat
        nn.init.normal_(p, std=0.05)
    torch.save(module.state_dict(), path)
    return module.eval()


def test_ppo_atari_probabilities_and_values_equal_cleanrl(tmp_path, obs):
    ref = _saved(CleanRLAgent(4), tmp_path / "ppo_atari.cleanrl_model")
    agent = load_cleanrl(tmp_path / "ppo_atari.cleanrl_model", game="Breakout")
    logits, value = agent(obs)
    with torch.no_grad():
        ref_logits, ref_value = ref(torch.as_tensor(obs).float())  # CleanRL feeds 0..255 floats
    torch.testing.assert_close(torch.softmax(logits, -1), torch.softmax(ref_logits, -1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits, ref_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(value, ref_value.squeeze(-1), atol=1e-5, rtol=1e-5)
    assert agent.architecture == {"name": "nature-actor-critic", "n_actions": 4, "in_channels": 4}
    assert agent.action_names == ["NOOP", "FIRE", "RIGHT", "LEFT"]


def test_dqn_atari_q_values_equal_cleanrl(tmp_path, obs):
    ref = _saved(CleanRLQNetwork(6), tmp_path / "dqn_atari.cleanrl_model")
    agent = load_agent(tmp_path / "dqn_atari.cleanrl_model", game="Pong")  # via the dispatcher
    q, _ = agent(obs)
    with torch.no_grad():
        ref_q = ref(torch.as_tensor(obs).float())
    torch.testing.assert_close(q, ref_q, atol=1e-5, rtol=1e-5)
    assert agent.kind == "q" and agent.architecture["name"] == "nature-q"


def test_env_spec_reproduces_cleanrl_wrappers(tmp_path):
    _saved(CleanRLAgent(4), tmp_path / "a.cleanrl_model")
    spec = load_cleanrl(tmp_path / "a.cleanrl_model", game="BreakoutNoFrameskip-v4").env_spec
    assert spec.game == "Breakout" and spec.pipeline in ("cleanrl", "sb3")
    assert (spec.noop_max, spec.sticky_action_prob, spec.fire_reset, spec.terminal_on_life_loss) == (30, 0.0, True, False)


def test_loaded_agent_saves_natively(tmp_path, obs):
    _saved(CleanRLAgent(6), tmp_path / "a.cleanrl_model")
    agent = load_cleanrl(tmp_path / "a.cleanrl_model", game="Pong")
    again = load_agent(agent.save(tmp_path / "native"))
    torch.testing.assert_close(agent(obs)[0], again(obs)[0], atol=0, rtol=0)


def test_legacy_non_zip_torch_file_loads(tmp_path):
    model = CleanRLQNetwork(6)
    torch.save(model.state_dict(), tmp_path / "q.pt", _use_new_zipfile_serialization=False)
    assert load_agent(tmp_path / "q.pt", game="Pong").n_actions == 6


def test_game_is_required(tmp_path):
    _saved(CleanRLAgent(6), tmp_path / "a.cleanrl_model")
    with pytest.raises(RlvizError, match="--game"):
        load_agent(tmp_path / "a.cleanrl_model")


def _bad_file(tmp_path, damage: str):
    path = tmp_path / "bad.cleanrl_model"
    state = CleanRLAgent(6).state_dict()
    if damage == "truncated":
        torch.save(state, path)
        path.write_bytes(path.read_bytes()[:5000])
        return path, "corrupt"
    if damage == "garbage":
        path.write_bytes(b"this is not a model")
        return path, "corrupt"
    if damage == "unknown_keys":
        state["network.11.weight"] = torch.zeros(3)
        state["lstm.bias"] = torch.zeros(3)
        torch.save(state, path)
        return path, r"network.11.weight.*lstm.bias|lstm.bias.*network.11.weight"
    if damage == "foreign":
        torch.save({"encoder.weight": torch.zeros(2, 2)}, path)
        return path, "encoder.weight"
    if damage == "shape":
        state["network.7.weight"] = torch.zeros(512, 1000)
        torch.save(state, path)
        return path, r"network.7.weight has shape \(512, 1000\)"
    if damage == "actions":
        torch.save(CleanRLAgent(5).state_dict(), path)
        return path, "5 actions but Pong has 6"
    raise AssertionError(damage)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "unknown_keys", "foreign", "shape", "actions"])
def test_bad_files_raise_one_line_rlviz_error(tmp_path, damage):
    path, match = _bad_file(tmp_path, damage)
    with pytest.raises(RlvizError, match=match) as info:
        load_agent(path, game="Pong")
    assert "\n" not in str(info.value)
