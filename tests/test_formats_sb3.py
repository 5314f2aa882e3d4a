"""SB3 / RL Zoo zips load into rlviz agents that act exactly as SB3's own policies."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

sb3 = pytest.importorskip("stable_baselines3")

from rlviz.agents.formats.sb3 import load_sb3  # noqa: E402
from rlviz.agents.loading import load_agent  # noqa: E402
from rlviz.util.errors import RlvizError  # noqa: E402

PONG_ACTIONS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]


class ImageEnv(gym.Env):
    """A stand-in Atari env: uint8 frame stacks of a given layout, Pong's 6 actions."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(6)

    def reset(self, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def _make(algo: str, shape: tuple[int, ...], **policy_kwargs):
    env = ImageEnv(shape)
    if algo == "DQN":
        return sb3.DQN("CnnPolicy", env, buffer_size=64, device="cpu", seed=0, policy_kwargs=policy_kwargs)
    cls = sb3.PPO if algo == "PPO" else sb3.A2C
    extra = {"batch_size": 8} if algo == "PPO" else {}
    return cls("CnnPolicy", env, n_steps=8, device="cpu", seed=0, policy_kwargs=policy_kwargs, **extra)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Real SB3 models saved with model.save(): {name: (model, path)}."""
    folder = tmp_path_factory.mktemp("sb3")
    specs = {
        # channel-last env: SB3 wraps it in VecTransposeImage, its policy sees (4, 84, 84)
        "ppo_shared": ("PPO", (84, 84, 4), {}),
        "ppo_separate": ("PPO", (4, 84, 84), {"share_features_extractor": False}),
        "a2c_shared": ("A2C", (4, 84, 84), {}),
        "ppo_raw_pixels": ("PPO", (4, 84, 84), {"normalize_images": False}),
        "ppo_separate_raw_pixels": ("PPO", (4, 84, 84), {"normalize_images": False, "share_features_extractor": False}),
        "dqn": ("DQN", (84, 84, 4), {}),
    }
    out = {}
    for name, (algo, shape, kwargs) in specs.items():
        model = _make(algo, shape, **kwargs)
        path = folder / f"{name}.zip"
        model.save(path)
        out[name] = (model, path)
    return out


@pytest.fixture(scope="module")
def obs() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (6, 4, 84, 84), dtype=np.uint8)


def _sb3_actor_critic(model, obs: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """SB3's own action probabilities and values for channel-first uint8 observations."""
    with torch.no_grad():
        tensor = torch.as_tensor(obs)
        probs = model.policy.get_distribution(tensor).distribution.probs
        values = model.policy.predict_values(tensor).squeeze(-1)
    return probs, values


def _rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes | None]) -> Path:
    """Copy an SB3 zip, replacing (bytes) or dropping (None) members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in replace:
                if replace[name] is not None:
                    zout.writestr(name, replace[name])
            else:
                zout.writestr(name, zin.read(name))
    return dst


def _policy_state(path: Path) -> dict[str, torch.Tensor]:
    with zipfile.ZipFile(path) as archive:
        return torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)


def _pth(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_a_model_trained_on_a_channel_last_env_loads_as_a_four_channel_agent(models):
    """SB3 transposes channel-last frame stacks; rlviz reads the channels from the first conv,
    and its agent takes the channel-first stacks its own pipeline gives."""
    agent = load_sb3(models["ppo_shared"][1], game="Pong")
    assert agent.architecture["in_channels"] == 4 and agent.env_spec.frame_stack == 4
    assert agent.net.features[0].weight.shape[1] == 4


@pytest.mark.parametrize("name", ["ppo_shared", "ppo_separate", "a2c_shared", "ppo_raw_pixels", "ppo_separate_raw_pixels"])
def test_actor_critic_probabilities_and_values_equal_sb3(models, obs, name):
    model, path = models[name]
    agent = load_sb3(path, game="Pong")
    logits, values = agent(obs)
    probs, ref_values = _sb3_actor_critic(model, obs)
    torch.testing.assert_close(torch.softmax(logits, -1), probs, atol=1e-5, rtol=1e-5)
    # float32 sums of thousands of terms: rlviz folds x255 into the first conv's weights, SB3 scales
    # the pixels, so values of order 10 differ in the 5th digit (1.1e-5 relative measured); a
    # missing x255 on one trunk moves the value by about 15
    torch.testing.assert_close(values, ref_values, atol=1e-5, rtol=1e-4)
    expected_arch = "nature-actor-critic-separate" if "separate" in name else "nature-actor-critic"
    assert agent.architecture["name"] == expected_arch


@pytest.mark.parametrize("name", ["ppo_separate", "ppo_separate_raw_pixels"])
def test_separate_extractors_map_to_rlviz_actor_and_critic_trunks(models, name):
    """The separate-extractor model is not mapped onto one shared trunk: rlviz's critic trunk
    holds SB3's vf extractor and its actor trunk the pi extractor (x255 on both first convs
    when SB3 fed raw pixels)."""
    model, path = models[name]
    net = load_sb3(path, game="Pong").net
    scale = 1.0 if model.policy.normalize_images else 255.0
    for ours, theirs in ((net.features, model.policy.pi_features_extractor),
                         (net.critic_features, model.policy.vf_features_extractor)):
        torch.testing.assert_close(ours[0].weight, theirs.cnn[0].weight * scale)
        torch.testing.assert_close(ours[7].weight, theirs.linear[0].weight)
    assert not torch.equal(net.features[0].weight, net.critic_features[0].weight)


def test_dqn_q_values_equal_sb3_and_target_net_is_ignored(models, obs):
    model, path = models["dqn"]
    agent = load_sb3(path, game="Pong")
    q, value = agent(obs)
    with torch.no_grad():
        ref = model.q_net(torch.as_tensor(obs))
    torch.testing.assert_close(q, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(value, ref.max(-1).values, atol=1e-5, rtol=1e-5)
    assert agent.kind == "q" and agent.architecture["name"] == "nature-q"
    assert agent.metadata["source"]["algorithm"] == "DQN"


def test_pre_1_7_file_without_pi_vf_extractor_keys_loads(models, obs, tmp_path):
    model, path = models["ppo_shared"]
    old = {k: v for k, v in _policy_state(path).items() if not k.startswith(("pi_features", "vf_features"))}
    old_path = _rewrite_zip(path, tmp_path / "old.zip", {"policy.pth": _pth(old)})
    logits, values = load_sb3(old_path, game="Pong")(obs)
    probs, ref_values = _sb3_actor_critic(model, obs)
    torch.testing.assert_close(torch.softmax(logits, -1), probs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(values, ref_values, atol=1e-5, rtol=1e-5)


def test_env_spec_is_sb3_pipeline_with_game_actions(models):
    agent = load_agent(models["ppo_shared"][1], game="pong")
    spec = agent.env_spec
    assert (spec.game, spec.pipeline, spec.noop_max, spec.sticky_action_prob) == ("Pong", "sb3", 30, 0.0)
    assert spec.fire_reset and not spec.terminal_on_life_loss
    assert agent.action_names == PONG_ACTIONS
    assert agent.metadata["source"]["algorithm"] == "PPO"


def test_loaded_agent_round_trips_through_native_format(models, obs, tmp_path):
    for name in ("ppo_separate", "dqn"):
        agent = load_sb3(models[name][1], game="Pong")
        folder = agent.save(tmp_path / name)
        again = load_agent(folder)
        for a, b in zip(agent(obs), again(obs)):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
        assert again.env_spec == agent.env_spec


def test_game_is_required_unless_the_file_name_holds_an_env_id(models, tmp_path):
    path = models["a2c_shared"][1]
    with pytest.raises(RlvizError, match="game"):
        load_sb3(path)
    named = tmp_path / "a2c-PongNoFrameskip-v4.zip"
    named.write_bytes(path.read_bytes())
    assert load_sb3(named).env_spec.game == "Pong"


def test_action_count_must_fit_the_game(models):
    with pytest.raises(RlvizError, match="6 actions but Breakout has 4"):
        load_sb3(models["dqn"][1], game="Breakout")


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "no_policy", "unknown_key", "shape", "mlp_extractor", "bad_json"],
)
def test_bad_files_raise_one_line_rlviz_error(models, tmp_path, damage):
    path = models["ppo_shared"][1]
    state = _policy_state(path)
    bad = tmp_path / "bad.zip"
    if damage == "truncated":
        bad.write_bytes(path.read_bytes()[: 3000])
        match = "corrupt or truncated"
    elif damage == "garbage":
        bad.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
        match = "corrupt or truncated"
    elif damage == "no_policy":
        _rewrite_zip(path, bad, {"policy.pth": None})
        match = "without policy.pth"
    elif damage == "unknown_key":
        _rewrite_zip(path, bad, {"policy.pth": _pth({**state, "log_std": torch.zeros(6)})})
        match = "log_std"
    elif damage == "shape":
        state["action_net.weight"] = torch.zeros(6, 256)
        _rewrite_zip(path, bad, {"policy.pth": _pth(state)})
        match = r"action_net.weight has shape \(6, 256\)"
    elif damage == "mlp_extractor":
        _rewrite_zip(path, bad, {"policy.pth": _pth({**state, "mlp_extractor.policy_net.0.weight": torch.zeros(64, 512)})})
        match = "net_arch"
    else:
        _rewrite_zip(path, bad, {"data": b"{not json"})
        match = "not valid JSON"
    with pytest.raises(RlvizError, match=match) as info:
        load_agent(bad, game="Pong")
    assert "\n" not in str(info.value)


def test_data_json_is_read_without_decoding_serialized_fields(models, obs, tmp_path):
    """rlviz reads only the plain items of ``data``: a file whose cloudpickled fields are
    garbage (unpicklable) loads to the same agent, with the channels and flags it needs."""
    path = models["ppo_raw_pixels"][1]
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))

    def spoil(value):
        if isinstance(value, dict):
            return {k: ("gASV-not-a-pickle" if k == ":serialized:" else spoil(v)) for k, v in value.items()}
        return value

    assert ":serialized:" in data["observation_space"]
    spoiled = _rewrite_zip(path, tmp_path / "spoiled.zip", {"data": json.dumps(spoil(data)).encode()})
    for a, b in zip(load_sb3(path, game="Pong")(obs), load_sb3(spoiled, game="Pong")(obs)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_cli_import_of_sb3_zip_matches_sb3_and_records_pipeline(models, obs, tmp_path):
    """Issue #24: `rlviz import` of an SB3 zip, with pipeline options, gives SB3's own outputs."""
    from rlviz.cli import main

    model, path = models["ppo_shared"]
    out = tmp_path / "imported"
    assert main(["import", str(path), "--game", "Pong", "--sticky-actions", "0.25", "--out", str(out)]) == 0
    agent = load_agent(out)
    probs, values = _sb3_actor_critic(model, obs)
    logits, value = agent(obs)
    torch.testing.assert_close(torch.softmax(logits, -1), probs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(value, values, atol=1e-5, rtol=1e-5)
    assert agent.env_spec.pipeline == "sb3" and agent.env_spec.sticky_action_prob == 0.25
    assert agent.metadata["source"]["format"] == "sb3" and agent.metadata["source"]["imported_by"] == "rlviz import"
