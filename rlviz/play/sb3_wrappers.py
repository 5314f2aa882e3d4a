"""Stable-Baselines3's Atari preprocessing, rebuilt as small gymnasium wrappers.

Agents trained with SB3 / RL Zoo (and CleanRL, which borrows SB3's wrappers) saw observations
made by ``AtariWrapper`` + ``VecFrameStack`` + ``VecTransposeImage``. To replay them we must
produce the same uint8 frames bit for bit, so this module repeats that order without
importing SB3 (a test-only dependency):

    ALE (frameskip=1) -> NoopReset -> MaxAndSkip -> [EpisodicLife] -> [FireReset]
        -> WarpFrame (gray, then resize) -> FrameStack (zero padding, newest last)

Playback differs from training on purpose in two reward/termination details that do not
touch observations: rewards are not clipped, and a lost life does not end the episode
(``EnvSpec.terminal_on_life_loss=False``). The noop count is drawn from
``env.unwrapped.np_random`` exactly as SB3 does, so the same ``reset(seed=...)`` gives the
same noops.

CleanRL's ``ppo_atari`` / ``dqn_atari`` use SB3's NoopReset/MaxAndSkip/FireReset but then
gymnasium 0.29's ``ResizeObservation`` (RGB resize) before ``GrayScaleObservation`` and
``FrameStack`` (first frame repeated): :func:`cleanrl_wrapper` reproduces that variant.

Example:
    >>> env = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    >>> env = atari_wrapper(env, EnvSpec("Pong", pipeline="sb3", fire_reset=True))
    >>> env.reset(seed=0)[0].shape
    (4, 84, 84)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

from rlviz.play.spec import EnvSpec

NOOP, FIRE = 0, 1


class NoopReset(gym.Wrapper):
    """Take 1..noop_max NOOPs after reset; the count comes from the env's own RNG (as SB3).

    >>> env = NoopReset(gym.make("ALE/Pong-v5", frameskip=1), noop_max=30)
    """

    def __init__(self, env: gym.Env, noop_max: int = 30) -> None:
        super().__init__(env)
        self.noop_max = noop_max

    def reset(self, **kwargs: Any):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        noops = int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1))
        for _ in range(noops):
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class MaxAndSkip(gym.Wrapper):
    """Repeat an action ``skip`` times, sum rewards, return the max of the last two frames.

    Like SB3, the two-frame buffer persists between steps: if an episode ends early inside
    the skip, the older slot keeps the frame of an earlier step.

    >>> env = MaxAndSkip(gym.make("ALE/Pong-v5", frameskip=1), skip=4)
    """

    def __init__(self, env: gym.Env, skip: int = 4) -> None:
        super().__init__(env)
        space = env.observation_space
        self._frames = np.zeros((2, *space.shape), dtype=space.dtype)
        self._skip = skip

    def step(self, action: int):  # type: ignore[override]
        total = 0.0
        terminated = truncated = False
        info: dict[str, Any] = {}
        for i in range(self._skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            if i == self._skip - 2:
                self._frames[0] = obs
            if i == self._skip - 1:
                self._frames[1] = obs
            total += float(reward)
            if terminated or truncated:
                break
        return self._frames.max(axis=0), total, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """End the episode on a lost life; reset then only steps a NOOP unless the game is over.

    Training-time behaviour (SB3's default); off for playback.

    >>> env = EpisodicLife(MaxAndSkip(gym.make("ALE/Breakout-v5", frameskip=1)))
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True

    def step(self, action: int):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any):  # type: ignore[override]
        if self.was_real_done:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(NOOP)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self.lives = self.env.unwrapped.ale.lives()
        return obs, info


class FireReset(gym.Wrapper):
    """After reset press FIRE, then action 2, for games that wait for FIRE (as SB3).

    Returns an empty info dict, as SB3 does.

    >>> env = FireReset(MaxAndSkip(gym.make("ALE/Breakout-v5", frameskip=1)))
    """

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, _ = self.env.step(FIRE)
        if terminated or truncated:
            self.env.reset(**kwargs)
        obs, _, terminated, truncated, _ = self.env.step(2)
        if terminated or truncated:
            self.env.reset(**kwargs)
        return obs, {}


class WarpFrame(gym.ObservationWrapper):
    """RGB frame -> grayscale (cv2 RGB2GRAY) -> whole-frame resize (INTER_AREA), 2-D uint8.

    >>> env = WarpFrame(gym.make("ALE/Pong-v5", frameskip=1), size=84)
    """

    def __init__(self, env: gym.Env, size: int = 84) -> None:
        super().__init__(env)
        self.size = size
        self.observation_space = gym.spaces.Box(0, 255, (size, size), np.uint8)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (self.size, self.size), interpolation=cv2.INTER_AREA)


class ResizeThenGray(gym.ObservationWrapper):
    """RGB frame -> resize (INTER_AREA) -> grayscale: CleanRL's order (gymnasium 0.29 wrappers).

    Differs from :class:`WarpFrame` by one gray level on about 0.4% of pixels.

    >>> env = ResizeThenGray(gym.make("ALE/Pong-v5", frameskip=1), size=84)
    """

    def __init__(self, env: gym.Env, size: int = 84) -> None:
        super().__init__(env)
        self.size = size
        self.observation_space = gym.spaces.Box(0, 255, (size, size), np.uint8)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


class FrameStack(gym.Wrapper):
    """Stack the last ``n`` 2-D frames channel-first, newest last, as uint8 (n, H, W).

    ``padding="zero"`` fills the stack with zeros at reset (SB3's VecFrameStack);
    ``padding="repeat"`` repeats the first frame (gym's FrameStack, used by CleanRL).

    >>> env = FrameStack(WarpFrame(gym.make("ALE/Pong-v5", frameskip=1)), 4)
    """

    def __init__(self, env: gym.Env, n: int = 4, padding: str = "zero") -> None:
        super().__init__(env)
        if padding not in ("zero", "repeat"):
            raise ValueError(f"padding must be 'zero' or 'repeat', got {padding!r}")
        self.n = n
        self.padding = padding
        h, w = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (n, h, w), np.uint8)
        self._frames: deque[np.ndarray] = deque(maxlen=n)

    def _stack(self) -> np.ndarray:
        return np.stack(self._frames, axis=0)

    def reset(self, **kwargs: Any):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        pad = obs if self.padding == "repeat" else np.zeros_like(obs)
        self._frames.extend([pad] * (self.n - 1) + [obs])
        return self._stack(), info

    def step(self, action: int):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(obs)
        return self._stack(), reward, terminated, truncated, info


def _has_fire(env: gym.Env) -> bool:
    meanings = env.unwrapped.get_action_meanings()
    return len(meanings) >= 3 and meanings[FIRE] == "FIRE"


def _common(env: gym.Env, spec: EnvSpec) -> gym.Env:
    """The wrappers SB3 and CleanRL share: noop reset, max-and-skip, life loss, fire reset."""
    if spec.noop_max > 0:
        env = NoopReset(env, spec.noop_max)
    if spec.frame_skip > 1:
        env = MaxAndSkip(env, spec.frame_skip)
    if spec.terminal_on_life_loss:
        env = EpisodicLife(env)
    if spec.fire_reset and _has_fire(env):
        env = FireReset(env)
    return env


def atari_wrapper(env: gym.Env, spec: EnvSpec) -> gym.Env:
    """Wrap an ALE env (frameskip=1) in SB3's AtariWrapper order + a zero-padded frame stack.

    Gives uint8 (frame_stack, screen_size, screen_size) observations equal bit for bit to
    SB3's ``AtariWrapper`` + ``VecFrameStack`` + ``VecTransposeImage`` (rewards unclipped).
    """
    env = WarpFrame(_common(env, spec), spec.screen_size)
    return FrameStack(env, spec.frame_stack, padding="zero")


def cleanrl_wrapper(env: gym.Env, spec: EnvSpec) -> gym.Env:
    """Wrap an ALE env (frameskip=1) as CleanRL's ``ppo_atari`` / ``dqn_atari`` do.

    Same as :func:`atari_wrapper` except resize-before-gray and a repeated-first-frame stack.
    """
    env = ResizeThenGray(_common(env, spec), spec.screen_size)
    return FrameStack(env, spec.frame_stack, padding="repeat")
