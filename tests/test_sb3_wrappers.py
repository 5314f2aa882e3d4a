"""rlviz's SB3 / CleanRL wrappers against SB3's own, on a scripted stand-in for the emulator.

The real emulator rarely ends an episode, loses a life or truncates within a short test, so
these tests drive the wrappers with :class:`ScriptedAtari`: an env with the ALE's interface
(frameskip 1, ``unwrapped.ale.lives()``, ``get_action_meanings()``, ``np_random``) whose
episodes end, lose lives and truncate when a script says. Every frame is different random
noise and every reward a different number, so a wrong frame, a wrong max, a dropped reward or
a reset too many shows up. The oracle is SB3's ``AtariWrapper`` (its wrappers for CleanRL)
wrapped around a second copy of the same script; both see the same actions, and the emulator
calls each side makes are compared too.
"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import gymnasium as gym
import numpy as np
import pytest

from rlviz.play.sb3_wrappers import (
    EpisodicLife,
    FireReset,
    FrameStack,
    MaxAndSkip,
    NoopReset,
    ResizeThenGray,
    WarpFrame,
    atari_wrapper,
    cleanrl_wrapper,
)
from rlviz.play.envs import FireOnReset
from rlviz.play.spec import EnvSpec

atari_wrappers = pytest.importorskip("stable_baselines3.common.atari_wrappers")

SIX = ("NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE")


class ScriptedAtari(gym.Env):
    """ALE-like env: episode k lasts ``lengths[k % len]`` steps; one life is lost every
    ``life_every`` steps (from ``lives``); an episode listed in ``truncate`` ends truncated.
    Frame n (n counts every frame made, resets included) is noise seeded with n; the reward
    of step n is n. ``calls`` records "reset" and every action the emulator received."""

    metadata = {"render_modes": []}

    def __init__(self, lengths=(40,), meanings=SIX, lives=3, life_every=6, truncate=(), shape=(42, 32, 3)):
        self.lengths, self.meanings, self.start_lives = lengths, list(meanings), lives
        self.life_every, self.truncate = life_every, set(truncate)
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(len(meanings))
        self.ale = SimpleNamespace(lives=self._lives)
        self.calls: list = []
        self.made = 0
        self.episode = -1
        self.t = 0

    def get_action_meanings(self):
        return self.meanings

    def _lives(self) -> int:
        return max(self.start_lives - self.t // self.life_every, 0)

    def _frame(self) -> np.ndarray:
        self.made += 1
        return np.random.default_rng(self.made).integers(0, 256, self.observation_space.shape, dtype=np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.calls.append("reset")
        self.episode += 1
        self.t = 0
        return self._frame(), {"episode": self.episode, "t": 0}

    def step(self, action):
        self.calls.append(int(action))
        self.t += 1
        ended = self.t >= self.lengths[self.episode % len(self.lengths)]
        truncated = ended and self.episode in self.truncate
        obs = self._frame()
        return obs, float(self.made), ended and not truncated, truncated, {"episode": self.episode, "t": self.t}


class Squeeze(gym.ObservationWrapper):
    """SB3's WarpFrame gives (H, W, 1); VecTransposeImage + VecFrameStack stack the 2-D frames."""

    def __init__(self, env):
        super().__init__(env)
        h, w, _ = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (h, w), np.uint8)

    def observation(self, frame):
        return frame[..., 0] if frame.ndim == 3 else frame


class Cv2Gray(gym.ObservationWrapper):
    """gymnasium 0.29's GrayScaleObservation, which CleanRL pins."""

    def __init__(self, env):
        super().__init__(env)
        h, w, _ = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (h, w), np.uint8)

    def observation(self, frame):
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def sb3_reference(env: gym.Env, spec: EnvSpec) -> gym.Env:
    """SB3's AtariWrapper (rewards unclipped) + a zero-padded stack of its 2-D frames."""
    env = atari_wrappers.AtariWrapper(
        env, noop_max=spec.noop_max, frame_skip=spec.frame_skip, screen_size=spec.screen_size,
        terminal_on_life_loss=spec.terminal_on_life_loss, clip_reward=False,
    )
    return gym.wrappers.FrameStackObservation(Squeeze(env), spec.frame_stack, padding_type="zero")


def cleanrl_reference(env: gym.Env, spec: EnvSpec) -> gym.Env:
    """CleanRL's make_env (ppo_atari.py) without its reward clipping."""
    if spec.noop_max > 0:
        env = atari_wrappers.NoopResetEnv(env, noop_max=spec.noop_max)
    env = atari_wrappers.MaxAndSkipEnv(env, skip=spec.frame_skip)
    if spec.terminal_on_life_loss:
        env = atari_wrappers.EpisodicLifeEnv(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = atari_wrappers.FireResetEnv(env)
    env = Cv2Gray(gym.wrappers.ResizeObservation(env, (spec.screen_size, spec.screen_size)))
    return gym.wrappers.FrameStackObservation(env, spec.frame_stack, padding_type="reset")


def play_both(ours: gym.Env, ref: gym.Env, steps: int, seed: int, n_actions: int) -> int:
    """Step both envs with the same random actions, resetting when an episode ends; assert
    every observation, reward, end flag and info agree. Returns the number of episodes."""
    obs, info = ours.reset(seed=seed)
    r_obs, r_info = ref.reset(seed=seed)
    episodes = 1
    actions = np.random.default_rng(seed).integers(0, n_actions, steps)
    for t, action in enumerate(actions):
        assert np.array_equal(np.asarray(obs), np.asarray(r_obs)), f"observation {t} differs"
        assert info == r_info, f"info {t} differs"
        obs, reward, terminated, truncated, info = ours.step(int(action))
        r_obs, r_reward, r_terminated, r_truncated, r_info = ref.step(int(action))
        assert (reward, terminated, truncated) == (r_reward, r_terminated, r_truncated), f"step {t}"
        if terminated or truncated:
            assert np.array_equal(np.asarray(obs), np.asarray(r_obs)), f"last observation {t} differs"
            obs, info = ours.reset()
            r_obs, r_info = ref.reset()
            episodes += 1
    assert np.array_equal(np.asarray(obs), np.asarray(r_obs))
    return episodes


CASES = {
    # noop starts, 4-frame skip, lives ignored, FIRE game; episodes of 1 and 2 frames end inside
    # the noops and the fire reset; episode 3 truncates
    "defaults": (EnvSpec(pipeline="sb3", fire_reset=True), dict(lengths=(60, 1, 2, 25, 3, 9), truncate={3})),
    # no noops, 2-frame skip, a lost life ends the episode, three actions with FIRE, small stack
    "life_loss_skip2": (
        EnvSpec(pipeline="sb3", noop_max=0, frame_skip=2, terminal_on_life_loss=True, fire_reset=True,
                screen_size=20, frame_stack=3),
        dict(lengths=(31, 1, 13, 5), meanings=("NOOP", "FIRE", "RIGHT"), life_every=5, truncate={2}),
    ),
    # few noops, no skip, life loss, a game without FIRE, stack of 2
    "no_skip_no_fire": (
        EnvSpec(pipeline="sb3", noop_max=3, frame_skip=1, terminal_on_life_loss=True, fire_reset=True,
                frame_stack=2),
        dict(lengths=(17, 2, 8), meanings=("NOOP", "UP", "DOWN"), life_every=4),
    ),
    # 3-frame skip: the max is over frames 2 and 3 of each step
    "skip3_life_loss": (
        EnvSpec(pipeline="sb3", noop_max=2, frame_skip=3, terminal_on_life_loss=True, fire_reset=True),
        dict(lengths=(23, 4, 40), life_every=7, truncate={1}),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sb3_pipeline_equals_sb3_atari_wrapper_through_ends_lives_and_truncations(case):
    spec, script = CASES[case]
    ours_base, ref_base = ScriptedAtari(**script), ScriptedAtari(**script)
    ours = atari_wrapper(ours_base, spec)
    episodes = play_both(ours, sb3_reference(ref_base, spec), 80, 5, len(ours_base.meanings))
    assert episodes >= 4  # the script really ended episodes
    assert ours_base.calls == ref_base.calls  # the same emulator calls, resets included
    assert ours.observation_space == gym.spaces.Box(0, 255, spec.obs_shape, np.uint8)


@pytest.mark.parametrize("case", ["defaults", "life_loss_skip2", "skip3_life_loss"])
def test_cleanrl_pipeline_equals_cleanrl_wrappers_through_ends_lives_and_truncations(case):
    spec, script = CASES[case]
    spec = EnvSpec(**{**spec.to_dict(), "pipeline": "cleanrl"})
    ours_base, ref_base = ScriptedAtari(**script), ScriptedAtari(**script)
    ours = cleanrl_wrapper(ours_base, spec)
    episodes = play_both(ours, cleanrl_reference(ref_base, spec), 80, 2, len(ours_base.meanings))
    assert episodes >= 4
    assert ours_base.calls == ref_base.calls
    assert ours.observation_space == gym.spaces.Box(0, 255, spec.obs_shape, np.uint8)


@pytest.mark.parametrize("skip", [2, 3, 4])
def test_max_and_skip_sums_the_rewards_and_maxes_the_last_two_frames(skip):
    """Step n of the script has reward n; the frames are kept to take their max by hand."""
    base = ScriptedAtari(lengths=(100,))
    frames = []
    env = MaxAndSkip(base, skip)
    env.reset(seed=0)
    step = base.step

    def recording_step(action):
        out = step(action)
        frames.append(out[0])
        return out

    base.step = recording_step
    obs, reward, terminated, truncated, _ = env.step(3)
    assert base.calls == ["reset"] + [3] * skip
    assert np.array_equal(obs, np.maximum(frames[-2], frames[-1]))
    assert reward == sum(range(2, 2 + skip))  # frame 1 was the reset's; steps made frames 2..skip+1
    assert not terminated and not truncated


def test_max_and_skip_stops_at_an_episode_end_inside_the_skip():
    base = ScriptedAtari(lengths=(2,))
    env = MaxAndSkip(base, 4)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(1)
    assert base.calls == ["reset", 1, 1] and terminated and reward == 2 + 3 and info["t"] == 2


def test_noop_reset_takes_between_one_and_noop_max_noops_drawn_from_the_env_rng():
    counts = set()
    for seed in range(40):
        base = ScriptedAtari(lengths=(100,))
        NoopReset(base, noop_max=3).reset(seed=seed)
        noops = len(base.calls) - 1
        assert base.calls == ["reset"] + [0] * noops
        expected = int(np.random.default_rng(seed).integers(1, 4))  # gymnasium seeds np_random so
        assert noops == expected
        counts.add(noops)
    assert counts == {1, 2, 3}


def test_noop_reset_returns_the_last_noop_frame_and_info():
    base = ScriptedAtari(lengths=(100,))
    obs, info = NoopReset(base, noop_max=1).reset(seed=0)
    assert base.calls == ["reset", 0]
    assert info == {"episode": 0, "t": 1}
    assert np.array_equal(obs, np.random.default_rng(2).integers(0, 256, (42, 32, 3), dtype=np.uint8))


def test_episodic_life_ends_on_a_lost_life_and_continues_the_same_game_on_reset():
    base = ScriptedAtari(lengths=(100,), lives=3, life_every=3)
    env = EpisodicLife(base)
    env.reset(seed=0)
    ends = [env.step(0)[2] for _ in range(3)]
    assert ends == [False, False, True]  # the third step loses a life
    env.reset()
    assert base.calls == ["reset", 0, 0, 0, 0]  # no emulator reset: one NOOP instead
    assert base.episode == 0


def test_fire_reset_presses_fire_then_action_2_and_returns_an_empty_info():
    base = ScriptedAtari(lengths=(100,))
    obs, info = FireReset(base).reset(seed=0)
    assert base.calls == ["reset", 1, 2] and info == {}
    assert np.array_equal(obs, np.random.default_rng(3).integers(0, 256, (42, 32, 3), dtype=np.uint8))


@pytest.mark.parametrize("pipeline", [atari_wrapper, cleanrl_wrapper])
def test_fire_reset_false_never_presses_fire_and_noop_max_zero_takes_no_noops(pipeline):
    base = ScriptedAtari(lengths=(100,))
    pipeline(base, EnvSpec(fire_reset=False, noop_max=0)).reset(seed=0)
    assert base.calls == ["reset"]


def test_a_two_action_game_is_not_fire_reset_even_when_asked():
    """SB3's FireResetEnv needs at least three actions; rlviz skips it rather than fail."""
    base = ScriptedAtari(lengths=(100,), meanings=("NOOP", "FIRE"))
    atari_wrapper(base, EnvSpec(fire_reset=True, noop_max=0)).reset(seed=0)
    assert base.calls == ["reset"]


def test_frame_stack_refuses_an_unknown_padding():
    with pytest.raises(ValueError, match=r"^padding must be 'zero' or 'repeat', got 'edge'$"):
        FrameStack(ScriptedAtari(shape=(5, 6)), 4, padding="edge")


@pytest.mark.parametrize("padding", ["zero", "repeat"])
def test_frame_stack_pads_at_every_reset_and_shifts_one_frame_per_step(padding):
    base = ScriptedAtari(lengths=(100,), shape=(5, 6))
    env = FrameStack(base, 3, padding=padding)
    assert env.observation_space == gym.spaces.Box(0, 255, (3, 5, 6), np.uint8)
    for _ in range(2):  # the second reset must not keep frames of the first episode
        first, _ = env.reset(seed=0)
        pad = first[-1] if padding == "repeat" else np.zeros((5, 6), np.uint8)
        assert first.shape == (3, 5, 6) and first.dtype == np.uint8
        assert np.array_equal(first[0], pad) and np.array_equal(first[1], pad)
        second = env.step(0)[0]
        assert np.array_equal(second[:2], first[1:])


def test_fire_on_reset_resets_again_when_fire_or_action_2_ends_the_episode():
    """The gymnasium pipeline's FireOnReset: episodes of one step end at FIRE and at action 2;
    the env then comes back from a fresh reset, with that reset's frame and info."""
    base = ScriptedAtari(lengths=(1, 1, 50))
    obs, info = FireOnReset(base).reset(seed=0)
    assert base.calls == ["reset", 1, "reset", 2, "reset"]
    assert info == {"episode": 2, "t": 0}
    assert np.array_equal(obs, np.random.default_rng(5).integers(0, 256, (42, 32, 3), dtype=np.uint8))
    base = ScriptedAtari(lengths=(50,))
    obs, info = FireOnReset(base).reset(seed=0)
    assert base.calls == ["reset", 1, 2] and info == {"episode": 0, "t": 2}


def test_episodic_life_resets_the_emulator_when_the_continuing_noop_ends_the_game():
    """A life is lost at step 3 (an episode for the agent); the game itself ends at step 4, so
    the NOOP that would continue it ends it, and reset starts a new game instead."""
    base = ScriptedAtari(lengths=(4, 50), lives=3, life_every=3)
    env = EpisodicLife(base)
    env.reset(seed=0)
    assert [env.step(2)[2] for _ in range(3)] == [False, False, True]
    obs, info = env.reset()
    assert base.calls == ["reset", 2, 2, 2, 0, "reset"]
    assert info == {"episode": 1, "t": 0}
    assert np.array_equal(obs, np.random.default_rng(6).integers(0, 256, (42, 32, 3), dtype=np.uint8))


@pytest.mark.parametrize("wrapper", [WarpFrame, ResizeThenGray])
def test_frame_wrappers_declare_the_uint8_square_frames_they_return(wrapper):
    env = wrapper(ScriptedAtari(), size=20)
    assert env.observation_space == gym.spaces.Box(0, 255, (20, 20), np.uint8)
    frame, _ = env.reset(seed=0)
    assert env.observation_space.contains(frame)


def test_wrappers_built_without_arguments_use_sb3s_defaults():
    """NoopReset draws 1..30 noops and MaxAndSkip repeats 4 frames, as SB3's do by default."""
    for seed in range(6):
        ours, ref = ScriptedAtari(lengths=(100,)), ScriptedAtari(lengths=(100,))
        mine, theirs = MaxAndSkip(NoopReset(ours)), atari_wrappers.MaxAndSkipEnv(atari_wrappers.NoopResetEnv(ref))
        mine.reset(seed=seed)
        theirs.reset(seed=seed)
        mine.step(3)
        theirs.step(3)
        assert ours.calls == ref.calls
    assert ours.calls[-4:] == [3, 3, 3, 3]
    assert WarpFrame(ScriptedAtari()).observation_space.shape == (84, 84)
    assert ResizeThenGray(ScriptedAtari()).observation_space.shape == (84, 84)
    assert FrameStack(WarpFrame(ScriptedAtari())).observation_space.shape == (4, 84, 84)


@pytest.mark.parametrize("pipeline", [atari_wrapper, cleanrl_wrapper])
def test_noop_max_one_takes_exactly_one_noop(pipeline):
    base = ScriptedAtari(lengths=(100,))
    pipeline(base, EnvSpec(noop_max=1)).reset(seed=0)
    assert base.calls == ["reset", 0]
