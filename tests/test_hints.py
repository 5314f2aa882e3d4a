"""Hint pixels: the expert's (or a random) action written into the documented strip."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlviz.play.hints import (
    HINT_ROWS,
    HintPixels,
    hint_blocks,
    hint_fraction,
    hint_mask,
    read_hint,
    write_hints,
)
from rlviz.util.errors import RlvizError


class NoiseEnv(gym.Env):
    """Stand-in for make_env's output: uint8 (4, 84, 84) noise, 6 actions, a grey RGB frame."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
        self.action_space = gym.spaces.Discrete(6)
        self.rng = np.random.default_rng(0)
        self.last = None

    def _obs(self) -> np.ndarray:
        self.last = self.rng.integers(1, 255, size=(4, 84, 84), dtype=np.uint8)
        return self.last.copy()

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 0.0, False, False, {}

    def render(self):
        return np.full((210, 160, 3), 100, np.uint8)


def expected_strip(action: int, n_actions: int = 6) -> np.ndarray:
    strip = np.zeros((HINT_ROWS, 84), np.uint8)
    width = 84 // n_actions
    strip[:, action * width : (action + 1) * width] = 255
    return strip


def test_hint_wrapper_writes_the_experts_action_in_the_bottom_strip():
    seen = []

    def expert(obs: np.ndarray) -> int:
        seen.append(obs.copy())
        return int(obs[-1, 0, 0]) % 6

    env = HintPixels(NoiseEnv(), expert=expert)
    obs, info = env.reset(seed=1)
    for _ in range(20):
        clean = env.env.last
        assert np.array_equal(seen[-1], clean)  # the expert sees the observation without hints
        action = int(clean[-1, 0, 0]) % 6
        assert info["hint_action"] == action == env.hint
        for frame in obs:  # every stacked frame carries the hint in rows 80-83
            assert np.array_equal(frame[80:84], expected_strip(action))
        assert np.array_equal(obs[:, :80], clean[:, :80])  # the rest is untouched
        assert read_hint(obs, 6) == action
        obs, _, _, _, info = env.step(0)


def test_control_hints_are_uniformly_random_and_replay_with_the_seed():
    env = HintPixels(NoiseEnv(), seed=7)
    assert env.control

    def episode(seed: int) -> list[int]:
        _, info = env.reset(seed=seed)
        hints = [info["hint_action"]]
        for _ in range(299):
            obs, _, _, _, info = env.step(0)
            assert np.array_equal(obs[:, 80:84], np.broadcast_to(expected_strip(info["hint_action"]), (4, 4, 84)))
            hints.append(info["hint_action"])
        return hints

    first, again, other = episode(3), episode(3), episode(4)
    assert first == again and first != other
    counts = np.bincount(first, minlength=6)
    assert counts.min() > 25  # 300 draws over 6 actions: about 50 each


def test_render_paints_the_hint_where_the_network_sees_it():
    env = HintPixels(NoiseEnv(), expert=lambda obs: 2)
    env.reset(seed=0)
    rgb = env.render()
    # obs rows 80-83 -> RGB rows 200-209; action 2's columns 28-41 -> RGB columns 53-78
    assert (rgb[200:210, 54:78] == 255).all()
    assert (rgb[200:210, :52] == 0).all() and (rgb[200:210, 80:] == 0).all()
    assert (rgb[:199] == 100).all()


def test_write_hints_handles_batches_and_refuses_bad_actions():
    obs = np.full((3, 4, 84, 84), 77, np.uint8)
    out = write_hints(obs, [0, 5, 3], 6)
    for i, a in enumerate([0, 5, 3]):
        assert np.array_equal(out[i, 2, 80:], expected_strip(a))
    assert (obs == 77).all()  # the input is not modified
    with pytest.raises(RlvizError, match="out of range"):
        write_hints(obs[0], 6, 6)
    assert hint_blocks(18)[17] == (80, 84, 68, 72)


def test_hint_fraction_measures_map_mass_in_the_strip():
    maps = np.stack([hint_mask(6).astype(np.float32), np.ones((84, 84), np.float32), np.zeros((84, 84))])
    frac = hint_fraction(maps)
    assert frac[0] == pytest.approx(1.0) and frac[1] == pytest.approx(4 / 84) and frac[2] == 0.0


def test_hint_wrapper_on_real_pong():
    from rlviz.play.envs import make_env

    env = HintPixels(make_env("Pong", render_mode="rgb_array"), expert=lambda obs: 4)
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 84, 84) and info["hint_action"] == 4
    assert (obs[:, 80:84, 56:70] == 255).all() and (obs[:, 80:84, :56] == 0).all()
    assert env.render().shape == (210, 160, 3)
    env.close()
