"""CleanRL agents: ``ppo_atari`` ``Agent`` and ``dqn_atari`` ``QNetwork`` state dicts.

CleanRL saves ``torch.save(model.state_dict(), "<exp>.cleanrl_model")``. We read it with
``torch.load(..., weights_only=True)`` (only tensors and plain containers; anything else is
refused before it can run) and copy the weights onto rlviz's Nature networks:

* ``ppo_atari``: ``network.0/2/4/7`` (conv, conv, conv, linear) -> ``features.0/2/4/7``,
  ``actor`` -> ``actor``, ``critic`` -> ``critic`` (:class:`NatureActorCritic`).
* ``dqn_atari``: ``network.0/2/4/7`` -> ``features.0/2/4/7``, ``network.9`` -> ``q``
  (:class:`NatureQNetwork`).

CleanRL's nets divide by 255 inside (``self.network(x / 255.0)``) and rlviz nets take
x / 255 from outside, so the weights copy unchanged: rlviz(x / 255) == CleanRL(x).

CleanRL plays ``<Game>NoFrameskip-v4`` through SB3's NoopReset(30) / MaxAndSkip(4) /
FireReset wrappers, then an RGB resize before grayscale and a stack that repeats the first
frame. The loader records the ``"cleanrl"`` pipeline when :mod:`rlviz.play.envs` offers it
(see :func:`rlviz.play.sb3_wrappers.cleanrl_wrapper`), and otherwise ``"sb3"``, which differs
from CleanRL by one gray level on ~0.4% of pixels and in the first three stacked frames.

The small helpers here (:func:`read_state_dict`, :func:`copy_weights`, :func:`atari_env_spec`)
are shared with :mod:`rlviz.agents.formats.sb3`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.formats.checkpoint import load_weights_only
from rlviz.agents.formats.checks import (
    MAX_WEIGHTS_BYTES,
    check_finite,
    check_head,
)
from rlviz.agents.networks import NatureActorCritic, NatureQNetwork
from rlviz.play.envs import EnvSpec, action_names, canonical_game, make_env
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import read_limited

# CleanRL module prefix -> rlviz module prefix
PPO_LAYERS = {
    "network.0": "features.0",
    "network.2": "features.2",
    "network.4": "features.4",
    "network.7": "features.7",
    "actor": "actor",
    "critic": "critic",
}
DQN_LAYERS = {
    "network.0": "features.0",
    "network.2": "features.2",
    "network.4": "features.4",
    "network.7": "features.7",
    "network.9": "q",
}
MAX_LISTED = 8


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f" (+{len(keys) - MAX_LISTED} more)" if len(keys) > MAX_LISTED else "")


def read_state_dict(raw: bytes, source: str) -> dict[str, torch.Tensor]:
    """Bytes of a ``torch.save`` file -> {name: tensor}, never running pickled code.

    Read by :func:`rlviz.agents.formats.checkpoint.load_weights_only` (``weights_only=True``:
    only tensors and plain containers; a pickled object or payload is refused with an
    RlvizError), then checked to be a flat {name: tensor} dict.
    """
    obj = load_weights_only(raw, source)
    if not isinstance(obj, dict) or not obj:
        raise RlvizError(f"{source} does not hold a state dict; save it with torch.save(model.state_dict(), path)")
    not_tensors = sorted(str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor))
    if not_tensors:
        raise RlvizError(f"{source} is not a plain state dict (non-tensor entries: {_listing(not_tensors)}); save model.state_dict()")
    return obj


def copy_weights(net: nn.Module, state: dict[str, torch.Tensor], layers: dict[str, str], source: str) -> nn.Module:
    """Load ``state`` into ``net``, renaming module prefixes with ``layers``; strict on keys and shapes."""
    renamed: dict[str, torch.Tensor] = {}
    unknown = []
    for key, tensor in state.items():
        prefix, _, param = key.rpartition(".")
        if prefix in layers:
            renamed[f"{layers[prefix]}.{param}"] = tensor
        else:
            unknown.append(key)
    expected = net.state_dict()
    unknown += [k for k in renamed if k not in expected]
    if unknown:
        raise RlvizError(f"{source} has keys rlviz does not know: {_listing(sorted(unknown))}; expected layers {', '.join(layers)}")
    missing = sorted(k for k in expected if k not in renamed)
    if missing:
        raise RlvizError(f"{source} lacks weights for {_listing(missing)}")
    for key, tensor in renamed.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            source_key = next(k for k, v in state.items() if v is tensor)
            raise RlvizError(
                f"{source}: {source_key} has shape {tuple(tensor.shape)}, expected {tuple(expected[key].shape)} "
                "(rlviz reads Nature-CNN agents on 84x84 frames)"
            )
    check_finite(renamed, source)
    net.load_state_dict({k: v.float() for k, v in renamed.items()})
    return net


def atari_env_spec(game: str, n_actions: int, in_channels: int, pipeline: str) -> tuple[EnvSpec, list[str]]:
    """The env spec and action names for an agent with ``n_actions`` outputs trained on ``game``.

    Uses the game's minimal action set, or the full 18 actions when the agent has 18;
    presses FIRE on reset when the game has FIRE (as SB3's AtariWrapper and CleanRL do).
    """
    name = canonical_game(game)
    minimal = 0
    for full in (False, True):
        env = make_env(name, spec=EnvSpec(full_action_space=full), render_mode=None)
        names = action_names(env)
        env.close()
        minimal = minimal or len(names)
        if len(names) == n_actions:
            spec = EnvSpec(
                game=name,
                pipeline=pipeline,
                frame_stack=in_channels,
                noop_max=30,
                sticky_action_prob=0.0,
                full_action_space=full,
                fire_reset="FIRE" in names,
                terminal_on_life_loss=False,
            )
            return spec, names
    raise RlvizError(
        f"the agent has {n_actions} actions but {name} has {minimal} (or 18 with the full action "
        "set); pass the game it was trained on with game= / --game"
    )


def _shape(state: dict[str, torch.Tensor], key: str, ndim: int, source: str) -> tuple[int, ...]:
    shape = tuple(state[key].shape)
    if len(shape) != ndim or min(shape) < 1:
        raise RlvizError(f"{source}: {key} has shape {shape}, expected a {ndim}-D weight")
    return shape


def load_cleanrl(
    path: str | Path, game: str | None = None, *, device: str | torch.device = "cpu", arch: str | None = None,
) -> Agent:
    """Load a CleanRL ``ppo_atari`` / ``dqn_atari`` state dict as an :class:`Agent`.

    ``game`` is required: CleanRL's file does not say which game it was trained on.
    """
    p = Path(path)
    raw = read_limited(p, MAX_WEIGHTS_BYTES, what="weights file")
    # gzip-compressed or wrapped ({"model_weights": ...}) files too (issue #24)
    from rlviz.agents.formats.checkpoint import read_checkpoint

    state, wrapper = read_checkpoint(raw, str(p))
    if game is None:
        raise RlvizError(f"{p} does not say which game it was trained on; pass game= (CLI: --game), e.g. --game Breakout")
    if arch is not None or not ("network.0.weight" in state and ("actor.weight" in state or "network.9.weight" in state)):
        # not CleanRL's key names: recognise the network by its tensors' shapes
        from rlviz.agents.formats.raw import load_raw_state

        return load_raw_state(state, str(p), game, env_spec_for=atari_env_spec, arch=arch, wrapper=wrapper, device=device)
    # past the test above the file holds network.0 and a head; anything else went to shape recognition
    if "actor.weight" in state:
        kind, layers, head = "ppo_atari", PPO_LAYERS, "actor.weight"
    else:
        kind, layers, head = "dqn_atari", DQN_LAYERS, "network.9.weight"
    n_actions = _shape(state, head, 2, str(p))[0]
    in_channels = _shape(state, "network.0.weight", 4, str(p))[1]
    check_head(n_actions, in_channels, str(p))
    spec, names = atari_env_spec(game, n_actions, in_channels, "cleanrl")
    if kind == "ppo_atari":
        net: nn.Module = NatureActorCritic(n_actions, in_channels)
        arch_name = "nature-actor-critic"
    else:
        net = NatureQNetwork(n_actions, in_channels)
        arch_name = "nature-q"
    copy_weights(net, state, layers, str(p))
    metadata: dict[str, Any] = {"name": p.stem, "source": {"format": "cleanrl", "script": kind, "file": p.name}}
    return Agent(
        net,
        env_spec=spec,
        action_names=names,
        kind="actor-critic" if kind == "ppo_atari" else "q",
        architecture={"name": arch_name, "n_actions": n_actions, "in_channels": in_channels},
        metadata=metadata,
        device=device,
    )
