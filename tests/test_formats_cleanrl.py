"""CleanRL state dicts load into rlviz agents whose outputs equal CleanRL's own forward."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.formats.checks import MAX_WEIGHTS_BYTES
from rlviz.agents.formats.cleanrl import load_cleanrl, read_state_dict
from rlviz.agents.loading import load_agent
from rlviz.util.errors import RlvizError


def _trunk(in_channels: int = 4) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, 32, 8, stride=4), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 512), nn.ReLU(),
    ]  # fmt: skip


class CleanRLAgent(nn.Module):
    """Same module names and forward as CleanRL's ppo_atari ``Agent`` (divides by 255 inside)."""

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        self.network = nn.Sequential(*_trunk(in_channels))
        self.actor = nn.Linear(512, n_actions)
        self.critic = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.network(x / 255.0)
        return self.actor(hidden), self.critic(hidden)


class CleanRLQNetwork(nn.Module):
    """Same module names and forward as CleanRL's dqn_atari ``QNetwork``."""

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        self.network = nn.Sequential(*_trunk(in_channels), nn.Linear(512, n_actions))

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


@pytest.mark.parametrize("module, script, kind, arch", [
    (CleanRLAgent, "ppo_atari", "actor-critic", "nature-actor-critic"),
    (CleanRLQNetwork, "dqn_atari", "q", "nature-q"),
])
def test_a_single_frame_agent_loads_with_its_script_kind_and_one_frame_stacked(tmp_path, module, script, kind, arch):
    """A one-channel first conv is a legitimate agent (no frame stack): it loads, and the
    agent records what CleanRL script wrote it and that it plays CleanRL's pipeline."""
    ref = _saved(module(6, in_channels=1), tmp_path / f"{script}.cleanrl_model")
    agent = load_cleanrl(tmp_path / f"{script}.cleanrl_model", game="Pong")
    assert agent.kind == kind
    assert agent.architecture == {"name": arch, "n_actions": 6, "in_channels": 1}
    assert agent.metadata["name"] == script
    assert agent.metadata["source"] == {"format": "cleanrl", "script": script, "file": f"{script}.cleanrl_model"}
    assert (agent.env_spec.frame_stack, agent.env_spec.pipeline, agent.env_spec.full_action_space) == (1, "cleanrl", False)
    one_frame = np.random.default_rng(2).integers(0, 256, (3, 1, 84, 84), dtype=np.uint8)
    with torch.no_grad():
        expected = ref(torch.as_tensor(one_frame).float())
    torch.testing.assert_close(agent(one_frame)[0], expected[0] if isinstance(expected, tuple) else expected, atol=1e-5, rtol=1e-5)


def test_an_agent_with_all_18_actions_plays_the_full_action_set(tmp_path):
    _saved(CleanRLQNetwork(18), tmp_path / "q.cleanrl_model")
    agent = load_cleanrl(tmp_path / "q.cleanrl_model", game="Pong")
    assert agent.env_spec.full_action_space and agent.env_spec.fire_reset
    assert len(agent.action_names) == 18 and agent.action_names[:3] == ["NOOP", "FIRE", "UP"]


def test_a_wrapped_file_with_an_architecture_named_is_read_by_structure(tmp_path, obs):
    """``arch=`` sends even CleanRL-named weights through shape recognition; the wrapper key is recorded."""
    ref = _saved(CleanRLAgent(4), tmp_path / "tmp.cleanrl_model")
    torch.save({"model_weights": ref.state_dict(), "step": 9}, tmp_path / "run.pt")
    agent = load_cleanrl(tmp_path / "run.pt", game="Breakout", arch="nature-actor-critic")
    source = agent.metadata["source"]
    assert (source["format"], source["file"], source["wrapper"]) == ("torch state dict", "run.pt", "model_weights")
    assert agent.architecture["name"] == "nature-actor-critic"
    with torch.no_grad():
        ref_logits, _ = ref(torch.as_tensor(obs).float())
    torch.testing.assert_close(agent(obs)[0], ref_logits, atol=1e-5, rtol=1e-5)


def _load_error(tmp_path, state: dict) -> str:
    path = tmp_path / "bad.cleanrl_model"
    torch.save(state, path)
    with pytest.raises(RlvizError) as err:
        load_cleanrl(path, game="Pong")
    return str(err.value).replace(str(path), "PATH")


def test_a_missing_layer_is_named(tmp_path):
    state = CleanRLAgent(6).state_dict()
    del state["critic.bias"]
    assert _load_error(tmp_path, state) == "PATH lacks weights for critic.bias"


def test_a_key_under_a_known_layer_that_the_network_lacks_is_unknown_and_the_layers_are_listed(tmp_path):
    state = {**CleanRLAgent(6).state_dict(), "actor.scale": torch.ones(1)}
    assert _load_error(tmp_path, state) == (
        "PATH has keys rlviz does not know: actor.scale; expected layers network.0, network.2, network.4, network.7, actor, critic"
    )


def test_a_wrong_shape_names_the_file_key_both_shapes_and_what_rlviz_reads(tmp_path):
    state = CleanRLAgent(6).state_dict()
    state["critic.weight"] = torch.zeros(1, 256)
    assert _load_error(tmp_path, state) == (
        "PATH: critic.weight has shape (1, 256), expected (1, 512) (rlviz reads Nature-CNN agents on 84x84 frames)"
    )


def test_weights_holding_nan_are_refused_by_name(tmp_path):
    state = CleanRLAgent(6).state_dict()
    state["actor.bias"][2] = float("nan")
    assert _load_error(tmp_path, state).startswith("PATH: actor.bias holds NaN or infinite values")


@pytest.mark.parametrize("key, value, shown", [
    ("actor.weight", torch.zeros(6, 512, 1), "PATH: actor.weight has shape (6, 512, 1), expected a 2-D weight"),
    ("actor.weight", torch.zeros(0, 512), "PATH: actor.weight has shape (0, 512), expected a 2-D weight"),
    ("network.0.weight", torch.zeros(32, 4, 8), "PATH: network.0.weight has shape (32, 4, 8), expected a 4-D weight"),
    ("actor.weight", torch.zeros(19, 512), "PATH: the policy head has 19 outputs; Atari agents have 1 to 18 actions"),
])
def test_a_head_or_first_conv_of_the_wrong_shape_is_refused_with_its_shape(tmp_path, key, value, shown):
    state = {**CleanRLAgent(6).state_dict(), key: value}
    assert _load_error(tmp_path, state) == shown


def test_a_file_over_the_weights_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.cleanrl_model"
    with open(path, "wb") as f:
        f.truncate(MAX_WEIGHTS_BYTES + 1)  # sparse: no 64 MB written
    with pytest.raises(RlvizError) as err:
        load_cleanrl(path, game="Pong")
    assert str(err.value) == (
        f"{path} is {MAX_WEIGHTS_BYTES + 1:,} bytes, more than the {MAX_WEIGHTS_BYTES:,} an agent's weights file may have"
    )


def test_without_a_game_the_error_says_how_to_pass_one(tmp_path):
    _saved(CleanRLAgent(6), tmp_path / "a.cleanrl_model")
    with pytest.raises(RlvizError) as err:
        load_cleanrl(tmp_path / "a.cleanrl_model")
    assert str(err.value) == (
        f"{tmp_path / 'a.cleanrl_model'} does not say which game it was trained on; pass game= (CLI: --game), e.g. --game Breakout"
    )


def _saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_read_state_dict_returns_a_plain_state_dict_as_saved():
    state = CleanRLQNetwork(6).state_dict()
    found = read_state_dict(_saved_bytes(state), "policy.pth")
    assert list(found) == list(state) and all(torch.equal(found[k], state[k]) for k in state)


@pytest.mark.parametrize("obj", [{}, [torch.zeros(1)]], ids=["empty", "list"])
def test_read_state_dict_refuses_what_is_not_a_dict_of_tensors(obj):
    with pytest.raises(RlvizError) as err:
        read_state_dict(_saved_bytes(obj), "policy.pth")
    assert str(err.value) == "policy.pth does not hold a state dict; save it with torch.save(model.state_dict(), path)"


@pytest.mark.parametrize("extra, listed", [
    ({"step": 3, 7: torch.zeros(1)}, "7, step"),
    ({f"k{i:02d}": i for i in range(8)}, "k00, k01, k02, k03, k04, k05, k06, k07"),
    ({f"k{i:02d}": i for i in range(11)}, "k00, k01, k02, k03, k04, k05, k06, k07 (+3 more)"),
], ids=["non-string-key", "eight", "eleven"])
def test_read_state_dict_lists_the_entries_that_are_not_named_tensors(extra, listed):
    with pytest.raises(RlvizError) as err:
        read_state_dict(_saved_bytes({"w": torch.ones(2), **extra}), "policy.pth")
    assert str(err.value) == f"policy.pth is not a plain state dict (non-tensor entries: {listed}); save model.state_dict()"


def test_read_state_dict_names_the_member_when_its_bytes_are_damaged():
    with pytest.raises(RlvizError) as err:
        read_state_dict(b"this is not a model", "model.zip:policy.pth")
    assert str(err.value).startswith("model.zip:policy.pth is corrupt")


def test_a_named_architecture_that_does_not_fit_is_refused_not_ignored(tmp_path):
    """arch= is passed on to shape recognition: a PPO file named a Q-network is refused."""
    _saved(CleanRLAgent(6), tmp_path / "ppo.cleanrl_model")
    with pytest.raises(RlvizError, match="nature-q"):
        load_cleanrl(tmp_path / "ppo.cleanrl_model", game="Pong", arch="nature-q")


def test_cleanrl_names_without_a_head_go_to_shape_recognition(tmp_path):
    """network.0 without actor/critic or network.9 is not read as CleanRL's own layout: shape
    recognition answers (and names the file)."""
    state = {k: v for k, v in CleanRLAgent(6).state_dict().items() if not k.startswith(("actor", "critic"))}
    message = _load_error(tmp_path, state)
    assert message.startswith("PATH: its tensors do not form an architecture rlviz knows")


def test_a_corrupt_file_is_refused_by_its_path(tmp_path):
    path = tmp_path / "broken.cleanrl_model"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(RlvizError) as err:
        load_cleanrl(path, game="Pong")
    assert str(err.value).startswith(str(path))
