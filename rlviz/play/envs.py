"""Atari environments with a recorded preprocessing pipeline.

An agent must be replayed through exactly the pipeline it was trained with, so every choice
(frame skip, stack, size, sticky actions, noop starts) lives in an :class:`EnvSpec` that is
saved with the agent. Two pipelines exist and are not bit-identical (DESIGN.md §3):

* ``"gymnasium"``: ``ALE/<Game>-v5`` with frameskip 1, ``AtariPreprocessing`` (skip 4 with a
  max over the last two frames, grayscale, whole-frame INTER_AREA resize to 84x84, noop
  starts) and ``FrameStackObservation`` (zero padding, newest frame last). ale-py's
  ``AtariVectorEnv`` produces the same observations, which is what the trainer uses.
* ``"sb3"``: Stable-Baselines3's ``AtariWrapper`` order (noop reset, max-and-skip, fire
  reset, warp frame), for agents trained with SB3 / RL Zoo.
* ``"cleanrl"``: CleanRL's variant of it (resize before grayscale; the first frame repeated
  to fill the stack), for CleanRL agents.

Example:
    >>> env = make_env("Pong", seed=0)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype
    ((4, 84, 84), dtype('uint8'))
    >>> env.render().shape
    (210, 160, 3)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlviz.play import sb3_wrappers
from rlviz.play.spec import PIPELINES, EnvSpec, _snake, canonical_game
from rlviz.util.errors import RlvizError

__all__ = ["PIPELINES", "EnvSpec", "FireOnReset", "_snake", "action_names", "as_uint8_stack", "canonical_game", "make_env"]

def _register_ale() -> None:
    import ale_py

    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on every env
    gym.register_envs(ale_py)


class FireOnReset(gym.Wrapper):
    """Press FIRE after every reset, for games that wait for it (SB3's FireResetEnv)."""

    def reset(self, **kwargs):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


Wrap = Callable[[gym.Env], gym.Env] | None  # a wrapper of the emulator env itself, e.g. a game edit


def _base_env(spec: EnvSpec, render_mode: str | None, wrap: Wrap = None) -> gym.Env:
    _register_ale()
    env = gym.make(
        f"ALE/{spec.game}-v5",
        frameskip=1,
        repeat_action_probability=spec.sticky_action_prob,
        full_action_space=spec.full_action_space,
        max_num_frames_per_episode=spec.max_episode_frames,
        render_mode=render_mode,
    )
    return wrap(env) if wrap is not None else env


def _gymnasium_pipeline(spec: EnvSpec, render_mode: str | None, wrap: Wrap = None) -> gym.Env:
    env = _base_env(spec, render_mode, wrap)
    env = gym.wrappers.AtariPreprocessing(
        env,
        noop_max=spec.noop_max,
        frame_skip=spec.frame_skip,
        screen_size=spec.screen_size,
        terminal_on_life_loss=spec.terminal_on_life_loss,
        grayscale_obs=True,
        scale_obs=False,
    )
    if spec.fire_reset:
        env = FireOnReset(env)
    return gym.wrappers.FrameStackObservation(env, spec.frame_stack, padding_type="zero")


def _sb3_pipeline(spec: EnvSpec, render_mode: str | None, wrap: Wrap = None) -> gym.Env:
    return sb3_wrappers.atari_wrapper(_base_env(spec, render_mode, wrap), spec)


def _cleanrl_pipeline(spec: EnvSpec, render_mode: str | None, wrap: Wrap = None) -> gym.Env:
    return sb3_wrappers.cleanrl_wrapper(_base_env(spec, render_mode, wrap), spec)


_BUILDERS = {"gymnasium": _gymnasium_pipeline, "sb3": _sb3_pipeline, "cleanrl": _cleanrl_pipeline}


def make_env(
    game: str | EnvSpec = "Pong",
    *,
    seed: int | None = None,
    spec: EnvSpec | None = None,
    render_mode: str | None = "rgb_array",
    wrap_base: Wrap = None,
    **overrides: Any,
) -> gym.Env:
    """Build an Atari env whose observations are uint8 (4, 84, 84), newest frame last.

    ``game`` is a short name or full id; ``spec`` (or keyword overrides of its fields)
    chooses the pipeline. ``env.render()`` returns the 210x160x3 RGB frame. The env's
    spec is available as ``env.rlviz_spec``. ``wrap_base`` wraps the emulator env itself
    (frameskip 1, under the pipeline), e.g. with a game edit that must act on every frame.
    """
    if isinstance(game, EnvSpec):
        spec = game
    else:
        base = spec or EnvSpec()
        spec = dataclasses.replace(base, game=canonical_game(game))
    if overrides:
        known = {f.name for f in dataclasses.fields(EnvSpec)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RlvizError(f"unknown env option(s) {unknown}; known: {sorted(known)}")
        spec = dataclasses.replace(spec, **overrides)
    env = _BUILDERS[spec.pipeline](spec, render_mode, wrap_base)
    env.rlviz_spec = spec  # type: ignore[attr-defined]
    if seed is not None:
        env.action_space.seed(seed)
    return env


def action_names(env: gym.Env) -> list[str]:
    """The env's action meanings, e.g. ['NOOP', 'FIRE', 'RIGHT', ...]."""
    return list(env.unwrapped.get_action_meanings())


def as_uint8_stack(obs: Any) -> np.ndarray:
    """Observation from the env as a contiguous uint8 array (LazyFrames-safe)."""
    return np.ascontiguousarray(np.asarray(obs, dtype=np.uint8))
