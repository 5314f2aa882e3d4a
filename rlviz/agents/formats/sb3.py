"""Stable-Baselines3 / RL Zoo ``.zip`` models: PPO, A2C and DQN with ``CnnPolicy``.

An SB3 zip holds ``data`` (JSON; objects it cannot express are cloudpickled into
``":serialized:"`` fields), ``policy.pth`` (the policy's state dict) and optimizer state.
rlviz reads ``data`` with ``json`` for plain fields only and never decodes a
``":serialized:"`` field; ``policy.pth`` is read with ``torch.load(weights_only=True)``.
Shapes come from the weights (input channels from the first conv, actions from the head).

Weight mapping (SB3's NatureCNN is ``cnn.0/2/4`` convs + ``linear.0``):

* PPO / A2C, shared extractor (also pre-1.7 files without ``pi_/vf_features_extractor``):
  ``features_extractor.{cnn.0,cnn.2,cnn.4,linear.0}`` -> ``features.{0,2,4,7}``,
  ``action_net`` -> ``actor``, ``value_net`` -> ``critic`` (:class:`NatureActorCritic`).
* PPO / A2C, ``share_features_extractor=False``: ``pi_features_extractor`` -> ``features``,
  ``vf_features_extractor`` -> ``critic_features`` (:class:`NatureActorCriticSeparate`).
* DQN: ``q_net.features_extractor`` -> ``features``, ``q_net.q_net.0`` -> ``q``
  (:class:`NatureQNetwork`); the target network ``q_net_target`` is ignored.

SB3 divides images by 255 inside ``preprocess_obs`` (when ``normalize_images``, the
default), so its nets see [0, 1] like rlviz's; with ``normalize_images=False`` the first
conv's weights are multiplied by 255 so that rlviz's [0, 1] input gives the same outputs.

RL Zoo zips do not name their game: pass ``game=`` (``--game``), unless the zip's file
name holds an Atari env id such as ``ppo-PongNoFrameskip-v4.zip``.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.formats.checks import MAX_WEIGHTS_BYTES, check_head
from rlviz.agents.formats.cleanrl import atari_env_spec, copy_weights, read_state_dict
from rlviz.agents.networks import (
    NatureActorCritic,
    NatureActorCriticSeparate,
    NatureQNetwork,
)
from rlviz.util.errors import RlvizError

MAX_MEMBER_BYTES = {"policy.pth": MAX_WEIGHTS_BYTES, "data": 16 << 20, "_stable_baselines3_version": 1 << 10}
MAX_ZIP_BYTES = 1 << 30  # RL Zoo zips with optimizer state are tens of MB
NATURE_CNN = {"cnn.0": "0", "cnn.2": "2", "cnn.4": "4", "linear.0": "7"}
ENV_ID_IN_NAME = re.compile(r"(?:^|[^A-Za-z])([A-Z][A-Za-z]+?)(?:NoFrameskip)?-v[045]\b")


def _trunk(sb3_prefix: str, rlviz_prefix: str) -> dict[str, str]:
    return {f"{sb3_prefix}.{k}": f"{rlviz_prefix}.{v}" for k, v in NATURE_CNN.items()}


def _read_zip(path: Path) -> dict[str, bytes]:
    """The members rlviz uses, as bytes; a torch.save archive is flagged with key ``torch``."""
    import os
    import stat

    try:
        info = os.stat(path)
    except OSError as exc:
        raise RlvizError(f"cannot read {path} ({exc.strerror or exc}); check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise RlvizError(f"{path} is not a regular file (a FIFO or device); pass an SB3 .zip file")
    if info.st_size > MAX_ZIP_BYTES:
        raise RlvizError(f"{path} is {info.st_size:,} bytes, more than the {MAX_ZIP_BYTES:,} an SB3 model may have")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if "policy.pth" not in infos:
                if any(name == "data.pkl" or name.endswith("/data.pkl") for name in infos):
                    return {"torch": b""}
                raise RlvizError(
                    f"{path} is a zip without policy.pth, so it is not a Stable-Baselines3 model; "
                    "pass a file written by model.save()"
                )
            out = {}
            for name in ("policy.pth", "data", "_stable_baselines3_version"):
                if name in infos:
                    if infos[name].file_size > MAX_MEMBER_BYTES[name]:
                        raise RlvizError(f"{path}: {name} is implausibly large ({infos[name].file_size} bytes); not a model file")
                    out[name] = archive.read(name)
            return out
    except RlvizError:
        raise
    except OSError as exc:
        raise RlvizError(f"cannot read {path} ({exc.strerror or exc}); check the path") from None
    except Exception:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError, ... all mean "damaged"
        raise RlvizError(f"{path} is corrupt or truncated (not a readable zip); download or save it again") from None


def _plain_data(raw: bytes | None, path: Path) -> dict[str, Any]:
    """``data`` as JSON. Cloudpickled fields stay undecoded: callers read only plain items."""
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RlvizError(f"{path}: its data member is not valid JSON, so the file is damaged; save it again") from None
    if not isinstance(data, dict):
        raise RlvizError(f"{path}: its data member is not a JSON object, so it is not an SB3 model")
    return data


def _plain(value: Any, key: str, default: Any = None) -> Any:
    """A first-level plain item of a JSON field (SB3 copies them next to ``:serialized:``)."""
    if isinstance(value, dict) and key in value and not isinstance(value[key], dict):
        return value[key]
    return default


def _game_from_name(path: Path) -> str | None:
    match = ENV_ID_IN_NAME.search(path.name)
    return match.group(1) if match else None


def _algorithm(data: dict[str, Any], is_dqn: bool) -> str:
    if is_dqn:
        return "DQN"
    if "clip_range" in data or "n_epochs" in data:
        return "PPO"
    if "n_steps" in data:
        return "A2C"
    return "PPO/A2C"


def _same(state: dict[str, torch.Tensor], a: str, b: str) -> bool:
    keys = [k for k in state if k.startswith(a + ".")]
    return all(b + k[len(a) :] in state and torch.equal(state[k], state[b + k[len(a) :]]) for k in keys)


def _actor_critic_layers(state: dict[str, torch.Tensor], share: Any) -> tuple[dict[str, str], dict[str, torch.Tensor], bool]:
    """Pick the mapping for PPO/A2C weights; drop the duplicate extractor copies SB3 stores."""
    heads = {"action_net": "actor", "value_net": "critic"}
    has_split = any(k.startswith("vf_features_extractor.") for k in state)
    separate = has_split and (share is False or (share is None and not _same(state, "vf_features_extractor", "pi_features_extractor")))
    if separate:
        layers = {**_trunk("pi_features_extractor", "features"), **_trunk("vf_features_extractor", "critic_features"), **heads}
        drop = "features_extractor."  # SB3 aliases it to pi_features_extractor
    else:
        layers = {**_trunk("features_extractor", "features"), **heads}
        drop = ("pi_features_extractor.", "vf_features_extractor.")  # type: ignore[assignment]
        if not any(k.startswith("features_extractor.") for k in state):
            layers = {**_trunk("pi_features_extractor", "features"), **heads}
            drop = "vf_features_extractor."
    kept = {k: v for k, v in state.items() if not k.startswith(drop)}
    return layers, kept, separate


def load_sb3(path: str | Path, game: str | None = None, *, device: str | torch.device = "cpu") -> Agent:
    """Load an SB3 / RL Zoo PPO, A2C or DQN ``CnnPolicy`` zip as an :class:`Agent`."""
    p = Path(path)
    members = _read_zip(p)
    if "torch" in members:  # a torch.save archive (CleanRL) is a zip too
        from rlviz.agents.formats.cleanrl import load_cleanrl

        return load_cleanrl(p, game=game, device=device)
    source = f"{p}:policy.pth"
    state = read_state_dict(members["policy.pth"], source)
    data = _plain_data(members.get("data"), p)
    kwargs = data.get("policy_kwargs")  # read through _plain, which takes only a dict's plain items
    extractor = _plain(kwargs, "features_extractor_class")
    if isinstance(extractor, str) and "NatureCNN" not in extractor:
        raise RlvizError(f"{p} uses features extractor {extractor}; rlviz reads SB3's default NatureCNN CnnPolicy only")
    if any(k.startswith("mlp_extractor.") for k in state):
        raise RlvizError(f"{p} has hidden layers after the CNN (net_arch / mlp_extractor); rlviz reads the default CnnPolicy only")

    is_dqn = any(k.startswith("q_net.") for k in state)
    if is_dqn:
        state = {k: v for k, v in state.items() if not k.startswith("q_net_target.")}
        layers = {**_trunk("q_net.features_extractor", "features"), "q_net.q_net.0": "q"}
        first, head = "q_net.features_extractor.cnn.0.weight", "q_net.q_net.0.weight"
    elif "action_net.weight" in state:
        layers, state, separate = _actor_critic_layers(state, _plain(kwargs, "share_features_extractor"))
        trunk = "pi_features_extractor" if separate or "features_extractor.cnn.0.weight" not in state else "features_extractor"
        first, head = f"{trunk}.cnn.0.weight", "action_net.weight"
    else:
        raise RlvizError(
            f"{source} has neither action_net (PPO/A2C) nor q_net (DQN) weights (keys: {', '.join(sorted(state)[:8])}); "
            "rlviz reads PPO, A2C and DQN CnnPolicy models"
        )
    for key, ndim in ((first, 4), (head, 2)):
        if key not in state or state[key].ndim != ndim:
            raise RlvizError(f"{source} lacks a {ndim}-D {key}; it is not a Nature-CNN CnnPolicy")
    in_channels, n_actions = int(state[first].shape[1]), int(state[head].shape[0])
    check_head(n_actions, in_channels, source)
    obs_shape = _plain(data.get("observation_space"), "_shape")
    if isinstance(obs_shape, list) and len(obs_shape) == 3 and in_channels not in (obs_shape[0], obs_shape[-1]):
        raise RlvizError(f"{p}: observation space {tuple(obs_shape)} does not fit a first conv with {in_channels} channels")

    if is_dqn:
        net: nn.Module = NatureQNetwork(n_actions, in_channels)
        arch_name = "nature-q"
    elif separate:
        net = NatureActorCriticSeparate(n_actions, in_channels)
        arch_name = "nature-actor-critic-separate"
    else:
        net = NatureActorCritic(n_actions, in_channels)
        arch_name = "nature-actor-critic"
    copy_weights(net, state, layers, source)
    normalize = _plain(kwargs, "normalize_images", True)
    if normalize is False:  # SB3 fed raw 0..255 floats: fold the missing *255 into conv0
        with torch.no_grad():
            for name, module in net.named_modules():
                if name in ("features.0", "critic_features.0"):
                    module.weight.mul_(255.0)

    if game is None:
        game = _game_from_name(p)
        if game is None:
            raise RlvizError(f"{p} does not say which game it was trained on; pass game= (CLI: --game), e.g. --game Pong")
    spec, names = atari_env_spec(game, n_actions, in_channels, "sb3")
    version = members.get("_stable_baselines3_version", b"").decode("utf-8", "replace").strip()
    metadata = {
        "name": p.stem,
        "source": {"format": "sb3", "algorithm": _algorithm(data, is_dqn), "sb3_version": version, "file": p.name},
    }
    return Agent(
        net,
        env_spec=spec,
        action_names=names,
        kind="q" if is_dqn else "actor-critic",
        architecture={"name": arch_name, "n_actions": n_actions, "in_channels": in_channels},
        metadata=metadata,
        device=device,
    )
