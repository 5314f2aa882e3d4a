"""``rlviz import``: turn any agent file rlviz reads into a native agent folder, with its pipeline.

A network only plays as well as it was trained when it sees the same pipeline: the same
frame skip, sticky-action probability and no-op starts. Files from other packages rarely say
which they used, so :func:`with_pipeline` sets them (the same options work on every command
that loads an agent), and :func:`import_agent` records them in ``agent.json`` next to the
weights, the game's ALE action names and where the agent came from.

Example:
    >>> agent = import_agent("dqn.pt", "agents/si", game="SpaceInvaders", frame_skip=5, sticky_actions=0.25)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from rlviz.agents.agent import Agent
from rlviz.agents.loading import load_agent
from rlviz.play.envs import action_names, make_env
from rlviz.util.errors import RlvizError

INPUT_SCALES = (1.0, 255.0)
INPUT_LAYERS = ("features.0", "critic_features.0")  # the convs that read the observation


def _fold_input_scale(agent: Agent, scale: float) -> None:
    """Make a network trained on pixel values 0..``scale`` take rlviz's [0, 1] floats.

    The first conv is linear in its input, so conv(scale * x) = (scale * W) x + b: the scale
    is folded into its weights and the network stays a plain rlviz network (LRP and the
    rest see the same layers)."""
    if scale not in INPUT_SCALES:
        raise RlvizError(f"--input-scale must be 255 (network reads pixel values 0..255) or 1 (reads [0, 1]), got {scale:g}")
    if scale == 1.0:
        return
    if agent.metadata.get("input_scale_folded"):
        raise RlvizError(f"{agent.name} already had input scale {agent.metadata['input_scale_folded']:g} folded in; drop --input-scale")
    convs = [m for name, m in agent.net.named_modules() if name in INPUT_LAYERS]
    if not convs:
        raise RlvizError("--input-scale needs a network rlviz built (its first conv is features.0); load the agent from a file")
    with torch.no_grad():
        for conv in convs:
            conv.weight.mul_(scale)
    agent.metadata["input_scale_folded"] = scale


def with_pipeline(
    agent: Agent,
    *,
    pipeline: str | None = None,
    frame_skip: int | None = None,
    sticky_actions: float | None = None,
    noop_max: int | None = None,
    full_action_space: bool | None = None,
    input_scale: float | None = None,
) -> Agent:
    """Set how the agent's env is built (``None`` keeps the recorded value); returns ``agent``."""
    changes: dict[str, Any] = {}
    if pipeline is not None:
        changes["pipeline"] = pipeline
    if frame_skip is not None:
        if frame_skip < 1:
            raise RlvizError(f"--frame-skip must be at least 1, got {frame_skip}")
        changes["frame_skip"] = int(frame_skip)
    if sticky_actions is not None:
        if not 0.0 <= sticky_actions < 1.0:
            raise RlvizError(f"--sticky-actions is a probability in [0, 1), got {sticky_actions:g} (ALE v5 uses 0.25)")
        changes["sticky_action_prob"] = float(sticky_actions)
    if noop_max is not None:
        if noop_max < 0:
            raise RlvizError(f"--noop-max must be 0 or more, got {noop_max}")
        changes["noop_max"] = int(noop_max)
    if full_action_space is not None and full_action_space != agent.env_spec.full_action_space:
        changes["full_action_space"] = bool(full_action_space)
    if changes:
        spec = dataclasses.replace(agent.env_spec, **changes)
        if "full_action_space" in changes:
            env = make_env(spec, render_mode=None)
            names = action_names(env)
            env.close()
            if len(names) != agent.n_actions:
                raise RlvizError(
                    f"the agent has {agent.n_actions} actions but {spec.game} has {len(names)} with "
                    f"full_action_space={spec.full_action_space}; drop --full-action-space"
                )
            agent.action_names = names
            changes["fire_reset"] = "FIRE" in names
            spec = dataclasses.replace(spec, fire_reset="FIRE" in names)
        agent.env_spec = spec
        agent.metadata.setdefault("pipeline_overrides", {}).update({k: v for k, v in changes.items() if k != "fire_reset"})
    if input_scale is not None:
        _fold_input_scale(agent, float(input_scale))
    return agent


def import_agent(
    src: str | Path,
    out: str | Path,
    *,
    game: str | None = None,
    name: str | None = None,
    arch: str | None = None,
    device: str | torch.device = "cpu",
    **pipeline: Any,
) -> Agent:
    """Load ``src`` (any format :func:`load_agent` reads), apply the pipeline options
    (:func:`with_pipeline`), and save it as a native folder ``out``; returns the agent."""
    source = Path(src)
    if Path(out).resolve() == source.resolve():
        raise RlvizError(f"--out {out} is the source itself; write the imported agent to a new folder")
    agent = with_pipeline(load_agent(source, game=game, device=device, arch=arch), **pipeline)
    info = dict(agent.metadata.get("source") or {"format": "rlviz agent folder", "file": source.name})
    info["imported_by"] = "rlviz import"
    if agent.metadata.get("input_scale_folded"):
        info["input_scale"] = agent.metadata["input_scale_folded"]
    agent.metadata["source"] = info
    agent.metadata["name"] = name or Path(out).name
    agent.save(out)
    return agent
