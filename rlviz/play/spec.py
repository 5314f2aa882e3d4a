"""The recorded preprocessing pipeline of an agent (:class:`EnvSpec`) and Atari game names.

An agent must be replayed through exactly the pipeline it was trained with, so every choice
(frame skip, stack, size, sticky actions, noop starts) lives in an :class:`EnvSpec` that is
saved with the agent. The env builders (:mod:`rlviz.play.envs`, :mod:`rlviz.play.sb3_wrappers`)
read it; this module builds nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Any

from rlviz.util.errors import RlvizError

PIPELINES = ("gymnasium", "sb3", "cleanrl")


def _rom_ids() -> list[str]:
    from ale_py import roms

    return list(roms.get_all_rom_ids())


def _camel(rom_id: str) -> str:
    return "".join(part.capitalize() for part in rom_id.split("_"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def canonical_game(name: str) -> str:
    """Return the CamelCase game name ("SpaceInvaders") for a short name or a full env id.

    Accepts "Pong", "pong", "space_invaders", "SpaceInvaders", "ALE/Pong-v5",
    "PongNoFrameskip-v4". Unknown names raise an error listing the closest valid ones.
    """
    raw = name.strip()
    base = raw.split("/")[-1]
    base = re.sub(r"-v\d+$", "", base)
    base = re.sub(r"(NoFrameskip|Deterministic)$", "", base)
    roms = _rom_ids()
    by_key = {rom.replace("_", ""): rom for rom in roms}
    key = base.replace("_", "").replace("-", "").lower()
    if key in by_key:
        return _camel(by_key[key])
    snake = _snake(base)
    if snake in roms:
        return _camel(snake)
    names = [_camel(r) for r in roms]
    close = difflib.get_close_matches(base, names, n=5, cutoff=0.5) or difflib.get_close_matches(
        base.lower(), [n.lower() for n in names], n=5, cutoff=0.5
    )
    hint = ", ".join(close) if close else "Pong, Breakout, SpaceInvaders"
    raise RlvizError(f"unknown Atari game {name!r}; closest valid names: {hint}")


@dataclass(frozen=True)
class EnvSpec:
    """Every preprocessing choice needed to rebuild an agent's observations exactly."""

    game: str = "Pong"
    pipeline: str = "gymnasium"
    frame_skip: int = 4
    frame_stack: int = 4
    screen_size: int = 84
    grayscale: bool = True
    max_pool: bool = True
    sticky_action_prob: float = 0.0
    noop_max: int = 30
    full_action_space: bool = False
    fire_reset: bool = False
    terminal_on_life_loss: bool = False
    max_episode_frames: int = 108_000

    def __post_init__(self) -> None:
        if self.pipeline not in PIPELINES:
            raise RlvizError(f"unknown pipeline {self.pipeline!r}; use one of {', '.join(PIPELINES)}")
        if not self.grayscale:
            raise RlvizError("only grayscale observations are supported (grayscale=True)")
        if not self.max_pool:
            raise RlvizError("every pipeline max-pools the last two skipped frames; max_pool=False is not supported")

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return (self.frame_stack, self.screen_size, self.screen_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EnvSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RlvizError(f"env spec has unknown fields {unknown}; known fields: {sorted(known)}")
        return cls(**data)
