"""Each rule of ``formats/sb3.py`` pinned with zips written by hand in SB3's layout.

``test_formats_sb3.py`` checks the loader against models saved by SB3 itself (its fixture
saves six, about 45 s); these build the same members (``policy.pth`` with SB3's key names,
``data`` JSON, ``_stable_baselines3_version``) from rlviz's own networks in milliseconds, so
mutation testing can afford them. The oracle: the agent loaded from the zip computes what the
network whose weights were written into it computes (x255 on the first convs when SB3 was
told ``normalize_images=False``)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rlviz.agents.formats.sb3 import MAX_ZIP_BYTES, _algorithm, _game_from_name, _plain, load_sb3
from rlviz.agents.networks import NatureActorCritic, NatureActorCriticSeparate, NatureQNetwork
from rlviz.util.errors import RlvizError

TRUNK = {"0": "cnn.0", "2": "cnn.2", "4": "cnn.4", "7": "linear.0"}  # rlviz nature_trunk -> SB3 NatureCNN


def _net(cls, n_actions: int, seed: int = 0):
    torch.manual_seed(seed)
    net = cls(n_actions)
    for p in net.parameters():  # spread the weights so outputs differ clearly between layers
        torch.nn.init.normal_(p, std=0.05)
    return net.eval()


def _sb3_trunk(net_trunk: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{TRUNK[k.split('.')[0]]}.{k.split('.')[1]}": v.clone() for k, v in net_trunk.state_dict().items()}


def _ppo_state(net, *, copies=("features_extractor", "pi_features_extractor", "vf_features_extractor")) -> dict:
    """SB3's ActorCriticCnnPolicy keys: with a shared extractor SB3 stores it under all three names."""
    state = {}
    for prefix in copies:
        state.update(_sb3_trunk(net.features, prefix))
    state.update({f"action_net.{k}": v for k, v in net.actor.state_dict().items()})
    state.update({f"value_net.{k}": v for k, v in net.critic.state_dict().items()})
    return state


def _zip(path: Path, state: dict, data: dict | None = None, version: bytes = b"2.9.2\n") -> Path:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", json.dumps({} if data is None else data))
        archive.writestr("policy.pth", buffer.getvalue())
        archive.writestr("_stable_baselines3_version", version)
    return path


def _kwargs(**plain) -> dict:
    return {"policy_kwargs": {":type:": "<class 'dict'>", ":serialized:": "gAWV-undecoded", **plain}}


@pytest.fixture(scope="module")
def obs() -> np.ndarray:
    return np.random.default_rng(4).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)


def _outputs(net, obs: np.ndarray):
    with torch.no_grad():
        return net(torch.as_tensor(obs).float() / 255.0)


def _assert_acts_as(agent, net, obs) -> None:
    ours, theirs = agent(obs), _outputs(net, obs)
    if isinstance(theirs, tuple):
        torch.testing.assert_close(ours[0], theirs[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours[1], theirs[1].squeeze(-1), atol=1e-5, rtol=1e-5)
    else:
        torch.testing.assert_close(ours[0], theirs, atol=1e-5, rtol=1e-5)


# --- plain helpers: the game in a file name, the algorithm label, plain JSON items ---

@pytest.mark.parametrize("name, game", [
    ("ppo-PongNoFrameskip-v4.zip", "Pong"),
    ("BreakoutNoFrameskip-v4.zip", "Breakout"),
    ("a2c_SpaceInvaders-v5.zip", "SpaceInvaders"),
    ("ppo-Pong-v4_best.zip", None),  # the id must end the word
    ("dqn-Seaquest-v0.zip", "Seaquest"),
    ("model.zip", None),
    ("myPongNoFrameskip-v4.zip", None),  # glued to a word: not an env id
    ("ppo-pong-v4.zip", None),
    ("ppo-Pong-v3.zip", None),
    ("ppo-Pong-v45.zip", None),
])
def test_the_game_is_read_from_an_atari_env_id_in_the_file_name(name, game):
    assert _game_from_name(Path("/models") / name) == game


@pytest.mark.parametrize("data, is_dqn, label", [
    ({"clip_range": 0.1}, False, "PPO"),
    ({"n_epochs": 4, "n_steps": 128}, False, "PPO"),
    ({"n_steps": 5}, False, "A2C"),
    ({}, False, "PPO/A2C"),
    ({"clip_range": 0.1}, True, "DQN"),
])
def test_the_algorithm_label_follows_the_fields_only_ppo_and_a2c_write(data, is_dqn, label):
    assert _algorithm(data, is_dqn) == label


@pytest.mark.parametrize("value, expected", [
    ({"normalize_images": False}, False),
    ({"normalize_images": {"nested": 1}}, "default"),  # a nested dict is not a plain item
    ({"other": 1}, "default"),
    ("normalize_images", "default"),  # not a dict at all
    (None, "default"),
])
def test_a_plain_item_is_a_first_level_non_dict_value_else_the_default(value, expected):
    assert _plain(value, "normalize_images", "default") == expected


# --- whole files ---

def test_a_shared_extractor_ppo_zip_acts_as_its_network_and_says_what_it_is(tmp_path, obs):
    net = _net(NatureActorCritic, 6)
    data = {**_kwargs(), "clip_range": {":type:": "<class 'function'>", ":serialized:": "x"}, "n_epochs": 4}
    agent = load_sb3(_zip(tmp_path / "agent.zip", _ppo_state(net), data), game="Pong")
    _assert_acts_as(agent, net, obs)
    assert agent.kind == "actor-critic"
    assert agent.architecture == {"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4}
    assert agent.metadata == {"name": "agent", "source": {"format": "sb3", "algorithm": "PPO", "sb3_version": "2.9.2", "file": "agent.zip"}}
    spec = agent.env_spec
    assert (spec.game, spec.pipeline, spec.frame_stack, spec.noop_max) == ("Pong", "sb3", 4, 30)


@pytest.mark.parametrize("share", [False, None], ids=["declared", "undeclared-but-different"])
def test_separate_extractors_become_the_actor_and_critic_trunks(tmp_path, obs, share):
    net = _net(NatureActorCriticSeparate, 6)
    state = {**_sb3_trunk(net.features, "pi_features_extractor"), **_sb3_trunk(net.features, "features_extractor"),
             **_sb3_trunk(net.critic_features, "vf_features_extractor"),
             **{f"action_net.{k}": v for k, v in net.actor.state_dict().items()},
             **{f"value_net.{k}": v for k, v in net.critic.state_dict().items()}}
    data = _kwargs(share_features_extractor=share) if share is not None else {}
    agent = load_sb3(_zip(tmp_path / "sep.zip", state, data), game="Pong")
    assert agent.architecture["name"] == "nature-actor-critic-separate"
    _assert_acts_as(agent, net, obs)


def test_identical_pi_and_vf_copies_without_a_shared_key_load_as_one_trunk(tmp_path, obs):
    """A file with only pi_/vf_features_extractor (equal) and no flag: SB3's shared extractor."""
    net = _net(NatureActorCritic, 6)
    state = _ppo_state(net, copies=("pi_features_extractor", "vf_features_extractor"))
    agent = load_sb3(_zip(tmp_path / "copies.zip", state), game="Pong")
    assert agent.architecture["name"] == "nature-actor-critic"
    _assert_acts_as(agent, net, obs)


def test_a_declared_shared_extractor_uses_features_extractor_whatever_the_copies_hold(tmp_path, obs):
    net = _net(NatureActorCritic, 6)
    state = _ppo_state(net)
    for key in [k for k in state if k.startswith("vf_features_extractor.")]:
        state[key] = torch.zeros_like(state[key])  # a stale copy: share=True says not to read it
    agent = load_sb3(_zip(tmp_path / "shared.zip", state, _kwargs(share_features_extractor=True)), game="Pong")
    assert agent.architecture["name"] == "nature-actor-critic"
    _assert_acts_as(agent, net, obs)


def test_raw_pixel_training_folds_255_into_both_first_convs(tmp_path, obs):
    """SB3 told normalize_images=False fed 0..255 floats: the file's net on raw pixels is
    rlviz's net on x / 255 with both first convs x255."""
    net = _net(NatureActorCriticSeparate, 6)
    state = {**_sb3_trunk(net.features, "pi_features_extractor"), **_sb3_trunk(net.features, "features_extractor"),
             **_sb3_trunk(net.critic_features, "vf_features_extractor"),
             **{f"action_net.{k}": v for k, v in net.actor.state_dict().items()},
             **{f"value_net.{k}": v for k, v in net.critic.state_dict().items()}}
    data = _kwargs(share_features_extractor=False, normalize_images=False)
    agent = load_sb3(_zip(tmp_path / "raw.zip", state, data), game="Pong")
    with torch.no_grad():
        raw = torch.as_tensor(obs).float()  # what SB3 fed the file's net
        logits = net.actor(net.features(raw))
        value = net.critic(net.critic_features(raw)).squeeze(-1)
    ours = agent(obs)
    torch.testing.assert_close(ours[0], logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours[1], value, atol=1e-4, rtol=1e-4)


def test_a_dqn_zip_reads_q_net_and_ignores_the_target_network(tmp_path, obs):
    net, target = _net(NatureQNetwork, 6), _net(NatureQNetwork, 6, seed=1)
    state = {}
    for prefix, source in (("q_net", net), ("q_net_target", target)):
        state.update(_sb3_trunk(source.features, f"{prefix}.features_extractor"))
        state.update({f"{prefix}.q_net.0.{k}": v for k, v in source.q.state_dict().items()})
    agent = load_sb3(_zip(tmp_path / "dqn-PongNoFrameskip-v4.zip", state, version=b""), game=None)
    assert agent.kind == "q" and agent.architecture == {"name": "nature-q", "n_actions": 6, "in_channels": 4}
    assert agent.env_spec.game == "Pong"
    assert agent.metadata["source"]["algorithm"] == "DQN" and agent.metadata["source"]["sb3_version"] == ""
    _assert_acts_as(agent, net, obs)


def test_a_channel_last_observation_space_fits_the_first_conv(tmp_path):
    state = _ppo_state(_net(NatureActorCritic, 6))
    data = {"observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", ":serialized:": "x", "_shape": [84, 84, 4]}}
    assert load_sb3(_zip(tmp_path / "last.zip", state, data), game="Pong").architecture["in_channels"] == 4


def _refusal(tmp_path, state, data=None, game="Pong") -> str:
    path = _zip(tmp_path / "bad.zip", state, data)
    with pytest.raises(RlvizError) as err:
        load_sb3(path, game=game)
    return str(err.value).replace(str(path), "PATH")


def test_an_observation_space_that_does_not_fit_the_first_conv_is_refused(tmp_path):
    data = {"observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", "_shape": [3, 84, 84]}}
    assert _refusal(tmp_path, _ppo_state(_net(NatureActorCritic, 6)), data) == (
        "PATH: observation space (3, 84, 84) does not fit a first conv with 4 channels"
    )


def test_another_features_extractor_is_refused_by_name(tmp_path):
    data = _kwargs(features_extractor_class="<class 'my.CustomCNN'>")
    assert _refusal(tmp_path, _ppo_state(_net(NatureActorCritic, 6)), data) == (
        "PATH uses features extractor <class 'my.CustomCNN'>; rlviz reads SB3's default NatureCNN CnnPolicy only"
    )


def test_a_nature_cnn_named_in_the_kwargs_is_accepted(tmp_path):
    data = _kwargs(features_extractor_class="<class 'stable_baselines3.common.torch_layers.NatureCNN'>")
    path = _zip(tmp_path / "named.zip", _ppo_state(_net(NatureActorCritic, 6)), data)
    assert load_sb3(path, game="Pong").architecture["name"] == "nature-actor-critic"


def test_hidden_layers_after_the_cnn_are_refused(tmp_path):
    state = {**_ppo_state(_net(NatureActorCritic, 6)), "mlp_extractor.policy_net.0.weight": torch.zeros(64, 512)}
    assert _refusal(tmp_path, state) == (
        "PATH has hidden layers after the CNN (net_arch / mlp_extractor); rlviz reads the default CnnPolicy only"
    )


def test_weights_without_either_head_are_refused_listing_keys(tmp_path):
    state = {f"k{i}": torch.zeros(1) for i in range(10)}
    assert _refusal(tmp_path, state) == (
        "PATH:policy.pth has neither action_net (PPO/A2C) nor q_net (DQN) weights (keys: k0, k1, k2, k3, k4, k5, k6, k7); "
        "rlviz reads PPO, A2C and DQN CnnPolicy models"
    )


@pytest.mark.parametrize("key, value, shown", [
    ("features_extractor.cnn.0.weight", torch.zeros(32, 4, 8), "a 4-D features_extractor.cnn.0.weight"),
    ("action_net.weight", torch.zeros(6, 512, 1), "a 2-D action_net.weight"),
])
def test_a_first_conv_or_head_of_the_wrong_rank_is_refused(tmp_path, key, value, shown):
    state = {**_ppo_state(_net(NatureActorCritic, 6)), key: value}
    assert _refusal(tmp_path, state) == f"PATH:policy.pth lacks {shown}; it is not a Nature-CNN CnnPolicy"


def test_without_a_game_or_an_env_id_in_the_name_the_error_says_how_to_pass_one(tmp_path):
    assert _refusal(tmp_path, _ppo_state(_net(NatureActorCritic, 6)), game=None) == (
        "PATH does not say which game it was trained on; pass game= (CLI: --game), e.g. --game Pong"
    )


@pytest.mark.parametrize("data, shown", [
    (b"\xff\xfe not utf-8", "its data member is not valid JSON, so the file is damaged; save it again"),
    (b"[1, 2]", "its data member is not a JSON object, so it is not an SB3 model"),
])
def test_a_data_member_that_is_not_a_json_object_is_refused(tmp_path, data, shown):
    path = _zip(tmp_path / "bad.zip", _ppo_state(_net(NatureActorCritic, 6)))
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("data", data)
    with pytest.raises(RlvizError) as err:
        load_sb3(path, game="Pong")
    assert str(err.value) == f"{path}: {shown}"


# --- the zip itself ---

def _load_error(path: Path) -> str:
    with pytest.raises(RlvizError) as err:
        load_sb3(path, game="Pong")
    return str(err.value)


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    assert _load_error(tmp_path / "none.zip") == f"cannot read {tmp_path / 'none.zip'} (No such file or directory); check the path"
    assert _load_error(tmp_path) == f"{tmp_path} is not a regular file (a FIFO or device); pass an SB3 .zip file"


def test_a_zip_over_the_size_cap_is_refused_before_it_is_opened(tmp_path):
    path = tmp_path / "huge.zip"
    with open(path, "wb") as f:
        f.truncate(MAX_ZIP_BYTES + 1)  # sparse
    assert _load_error(path) == f"{path} is {MAX_ZIP_BYTES + 1:,} bytes, more than the {MAX_ZIP_BYTES:,} an SB3 model may have"


def test_a_zip_at_the_size_cap_is_opened(tmp_path):
    path = tmp_path / "at-cap.zip"
    with open(path, "wb") as f:
        f.truncate(MAX_ZIP_BYTES)  # sparse zeros: opened, and found not to be a zip
    assert _load_error(path) == f"{path} is corrupt or truncated (not a readable zip); download or save it again"


@pytest.mark.parametrize("member, size", [("data", 16 << 20), ("_stable_baselines3_version", 1 << 10)])
def test_a_member_larger_than_its_cap_is_refused_and_one_at_the_cap_is_read(tmp_path, member, size):
    state = _ppo_state(_net(NatureActorCritic, 6))
    fill = b" " * (size - 2)
    body = b"{}" + fill if member == "data" else b"2.9" + b" " * (size - 3)
    at_cap = _zip(tmp_path / "at.zip", state)
    with zipfile.ZipFile(at_cap, "a", compression=zipfile.ZIP_DEFLATED) as archive, pytest.warns(UserWarning):
        archive.writestr(member, body)
    assert load_sb3(at_cap, game="Pong").architecture["name"] == "nature-actor-critic"
    over = _zip(tmp_path / "over.zip", state)
    with zipfile.ZipFile(over, "a", compression=zipfile.ZIP_DEFLATED) as archive, pytest.warns(UserWarning):
        archive.writestr(member, body + b" ")
    assert _load_error(over) == f"{over}: {member} is implausibly large ({size + 1} bytes); not a model file"


def test_a_zip_without_policy_pth_is_not_an_sb3_model(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
    assert _load_error(path) == (
        f"{path} is a zip without policy.pth, so it is not a Stable-Baselines3 model; pass a file written by model.save()"
    )


def test_a_torch_save_archive_named_zip_is_read_as_a_cleanrl_state_dict(tmp_path):
    net = _net(NatureQNetwork, 6)
    state = {f"network.{k.split('.', 1)[1]}" if k.startswith("features.") else k.replace("q.", "network.9."): v
             for k, v in net.state_dict().items()}
    torch.save(state, tmp_path / "cleanrl.zip")
    agent = load_sb3(tmp_path / "cleanrl.zip", game="Pong")
    assert agent.metadata["source"]["format"] == "cleanrl" and agent.kind == "q"


def _two_channel_state(layout: str) -> dict:
    """SB3 keys of a two-frame-stack network of each layout."""
    torch.manual_seed(0)
    if layout == "dqn":
        net = NatureQNetwork(6, 2)
        return {**_sb3_trunk(net.features, "q_net.features_extractor"),
                **{f"q_net.q_net.0.{k}": v for k, v in net.q.state_dict().items()}}
    if layout == "separate":
        net = NatureActorCriticSeparate(6, 2)
        return {**_sb3_trunk(net.features, "pi_features_extractor"), **_sb3_trunk(net.features, "features_extractor"),
                **_sb3_trunk(net.critic_features, "vf_features_extractor"),
                **{f"action_net.{k}": v for k, v in net.actor.state_dict().items()},
                **{f"value_net.{k}": v for k, v in net.critic.state_dict().items()}}
    return _ppo_state(NatureActorCritic(6, 2))


@pytest.mark.parametrize("layout", ["dqn", "separate", "shared"])
def test_a_two_frame_stack_builds_a_network_with_two_input_channels(tmp_path, layout):
    data = {"observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", "_shape": [2, 84, 84]}}  # channel first
    agent = load_sb3(_zip(tmp_path / "two.zip", _two_channel_state(layout), data), game="Pong")
    assert agent.architecture["in_channels"] == 2 and agent.env_spec.frame_stack == 2
    assert agent.action_names == ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]  # Pong's minimal set


def test_the_file_is_named_in_refusals_of_its_weights(tmp_path):
    state = _ppo_state(_net(NatureActorCritic, 6))
    state["value_net.weight"] = torch.zeros(1, 256)
    assert _refusal(tmp_path, state).startswith("PATH:policy.pth: value_net.weight has shape (1, 256)")
    state = _ppo_state(_net(NatureActorCritic, 6))
    state["action_net.weight"], state["action_net.bias"] = torch.zeros(19, 512), torch.zeros(19)
    assert _refusal(tmp_path, state) == "PATH:policy.pth: the policy head has 19 outputs; Atari agents have 1 to 18 actions"
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
        archive.writestr("policy.pth", b"not a torch file")
    assert _load_error(path).startswith(str(path))


def test_a_missing_or_undecodable_version_member_still_loads(tmp_path):
    state = _ppo_state(_net(NatureActorCritic, 6))
    odd = load_sb3(_zip(tmp_path / "odd.zip", state, version=b"2.\xff\n"), game="Pong")
    assert odd.metadata["source"]["sb3_version"] == "2.\ufffd"
    path = tmp_path / "none.zip"
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", "{}")
        archive.writestr("policy.pth", buffer.getvalue())
    assert load_sb3(path, game="Pong").metadata["source"]["sb3_version"] == ""


def test_a_torch_archive_is_recognised_by_a_data_pkl_at_its_root_too(tmp_path):
    from rlviz.agents.formats.sb3 import _read_zip

    path = tmp_path / "flat.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.pkl", b"x")
    assert list(_read_zip(path)) == ["torch"]


def test_a_zip_that_cannot_be_read_says_why_in_one_line(tmp_path, monkeypatch):
    """An OSError while reading the archive (a permission error for a normal user, an I/O
    error): the path and the system's reason."""
    import rlviz.agents.formats.sb3 as sb3

    path = _zip(tmp_path / "locked.zip", _ppo_state(_net(NatureActorCritic, 6)))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sb3.zipfile, "ZipFile", refuse)
    assert _load_error(path) == f"cannot read {path} (Permission denied); check the path"
