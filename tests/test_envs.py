"""The environment pipeline: shapes, names, specs, and equality with the training env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlviz.play.envs import EnvSpec, action_names, as_uint8_stack, canonical_game, make_env
from rlviz.util.errors import RlvizError


def test_observations_are_uint8_stacks_newest_last_and_render_is_rgb():
    env = make_env("Pong", seed=0)
    obs, _ = env.reset(seed=0)
    obs = np.asarray(obs)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.render().shape == (210, 160, 3)
    first = obs[-1].copy()
    obs, *_ = env.step(0)
    assert np.array_equal(np.asarray(obs)[-2], first)  # the old newest frame moved back by one
    env.close()


@pytest.mark.parametrize(
    "name,expected",
    [("Pong", "Pong"), ("pong", "Pong"), ("ALE/Pong-v5", "Pong"), ("PongNoFrameskip-v4", "Pong"),
     ("SpaceInvaders", "SpaceInvaders"), ("space_invaders", "SpaceInvaders"), ("Breakout", "Breakout")],
)
def test_short_names_and_full_ids_are_accepted(name, expected):
    assert canonical_game(name) == expected


def test_unknown_game_lists_closest_names():
    with pytest.raises(RlvizError, match="closest valid names: .*Pong"):
        canonical_game("Pongg")


def test_env_spec_round_trips_and_rejects_unknown_fields():
    spec = EnvSpec("Breakout", noop_max=7, sticky_action_prob=0.25, fire_reset=True)
    assert EnvSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(RlvizError, match="unknown fields"):
        EnvSpec.from_dict({**spec.to_dict(), "frameskip": 3})


def test_env_records_its_spec_and_overrides():
    env = make_env("Breakout", noop_max=0)
    assert env.rlviz_spec.game == "Breakout" and env.rlviz_spec.noop_max == 0
    assert action_names(env)[:2] == ["NOOP", "FIRE"]
    with pytest.raises(RlvizError, match="unknown env option"):
        make_env("Pong", frameskip=2)


@pytest.mark.parametrize("game", ["Pong", "Breakout"])
def test_gymnasium_pipeline_matches_the_training_vector_env_bit_for_bit(game):
    """The trainer steps ale-py's AtariVectorEnv; playback uses make_env. They must agree."""
    from ale_py.vector_env import AtariVectorEnv

    from rlviz.play.envs import _snake

    vec = AtariVectorEnv(_snake(game), 1, noop_max=0, use_fire_reset=False, reward_clipping=False,
                         repeat_action_probability=0.0, autoreset_mode="SameStep")
    env = make_env(game, noop_max=0, render_mode=None)
    vobs, _ = vec.reset(seed=3)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    identical = [np.array_equal(vobs[0], np.asarray(obs))]
    for _ in range(60):
        a = int(rng.integers(env.action_space.n))
        vobs, *_ = vec.step(np.array([a]))
        obs, *_ = env.step(a)
        identical.append(np.array_equal(vobs[0], np.asarray(obs)))
    vec.close()
    env.close()
    assert all(identical), f"{identical.count(False)} of {len(identical)} observations differ"


class EmulatorCalls(gym.Wrapper):
    """Records "reset" and every action the emulator (frameskip 1) receives."""

    def __init__(self, env):
        super().__init__(env)
        self.calls = []

    def reset(self, **kwargs):
        self.calls.append("reset")
        return self.env.reset(**kwargs)

    def step(self, action):
        self.calls.append(int(action))
        return self.env.step(action)


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3", "cleanrl"])
def test_every_pipeline_honours_skip_size_stack_action_set_and_episode_length(pipeline):
    env = make_env("Breakout", pipeline=pipeline, frame_skip=3, screen_size=40, frame_stack=2, noop_max=0,
                   full_action_space=True, max_episode_frames=30, render_mode=None)
    obs, _ = env.reset(seed=0)
    ale = env.unwrapped.ale
    assert np.asarray(obs).shape == (2, 40, 40) and env.observation_space.shape == (2, 40, 40)
    assert env.action_space.n == 18 and env.unwrapped.render_mode is None
    frames, ends = [ale.getEpisodeFrameNumber()], []
    for _ in range(10):
        _, _, terminated, truncated, _ = env.step(0)
        frames.append(ale.getEpisodeFrameNumber())
        ends.append((terminated, truncated))
    assert frames == list(range(0, 31, 3))  # no noops, 3 emulator frames a step
    assert ends == [(False, False)] * 9 + [(False, True)]  # cut at the 30th frame
    env.close()


def test_noop_starts_take_one_to_noop_max_frames_drawn_alike_by_every_pipeline():
    starts = {}
    for pipeline in ("gymnasium", "sb3", "cleanrl"):
        env = make_env("Pong", pipeline=pipeline, noop_max=3, render_mode=None)
        starts[pipeline] = []
        for seed in [0] + [None] * 9:  # one seeded reset, then the env's RNG goes on
            env.reset(seed=seed)
            starts[pipeline].append(env.unwrapped.ale.getEpisodeFrameNumber())
        env.close()
    # all three draw the count from the env's np_random, seeded by reset(seed=...)
    assert starts["sb3"] == starts["gymnasium"] == starts["cleanrl"]
    assert set(starts["sb3"]) == {1, 2, 3}


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3", "cleanrl"])
def test_fire_reset_presses_fire_then_action_2_once_per_agent_step(pipeline):
    recorders = []
    env = make_env("Breakout", pipeline=pipeline, fire_reset=True, noop_max=0, frame_skip=2, render_mode=None,
                   wrap_base=lambda e: recorders.append(EmulatorCalls(e)) or recorders[-1])
    env.reset(seed=0)
    assert recorders[0].calls == ["reset", 1, 1, 2, 2]
    env.close()


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3", "cleanrl"])
def test_without_fire_reset_a_reset_is_one_emulator_reset(pipeline):
    recorders = []
    env = make_env("Breakout", pipeline=pipeline, noop_max=0, render_mode=None,
                   wrap_base=lambda e: recorders.append(EmulatorCalls(e)) or recorders[-1])
    env.reset(seed=0)
    assert recorders[0].calls == ["reset"]
    env.close()


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3"])
def test_terminal_on_life_loss_ends_the_episode_at_the_first_lost_life(pipeline):
    ends = {}
    for on in (False, True):
        env = make_env("Breakout", pipeline=pipeline, terminal_on_life_loss=on, noop_max=0, render_mode=None)
        env.reset(seed=0)
        env.step(1)  # launch the ball, then let it fall
        for t in range(60):
            _, _, terminated, _, _ = env.step(0)
            if terminated or env.unwrapped.ale.lives() < 5:
                ends[on] = (t, terminated, env.unwrapped.ale.lives())
                break
        env.close()
    assert ends[True][1:] == (True, 4)  # ended by the lost life, the game goes on
    assert ends[False][1:] == (False, 4) and ends[False][0] == ends[True][0]


def test_sticky_actions_reach_the_emulator():
    env = make_env("Pong", sticky_action_prob=0.25, render_mode=None)
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == 0.25
    env.close()


def test_a_spec_given_whole_or_as_a_base_is_kept_with_the_game_name_made_canonical():
    spec = EnvSpec("Breakout", pipeline="sb3", noop_max=0)
    assert make_env(spec, render_mode=None).rlviz_spec == spec
    assert make_env(spec, frame_stack=2, render_mode=None).rlviz_spec == EnvSpec(
        "Breakout", pipeline="sb3", noop_max=0, frame_stack=2)
    assert make_env("space_invaders", spec=spec, render_mode=None).rlviz_spec == EnvSpec(
        "SpaceInvaders", pipeline="sb3", noop_max=0)
    assert make_env("pong", render_mode=None).rlviz_spec == EnvSpec("Pong")


def test_the_seed_seeds_the_action_space():
    reference = gym.spaces.Discrete(6, seed=5)
    env = make_env("Pong", seed=5, render_mode=None)
    assert [env.action_space.sample() for _ in range(20)] == [reference.sample() for _ in range(20)]


def test_unknown_options_are_named_sorted_beside_the_known_ones():
    with pytest.raises(RlvizError, match=r"^unknown env option\(s\) \['frameskip', 'noops'\]; known: \['fire_reset', "):
        make_env("Pong", noops=2, frameskip=2, noop_max=0)


def test_action_names_are_the_games_action_meanings():
    assert action_names(make_env("Breakout", render_mode=None)) == ["NOOP", "FIRE", "RIGHT", "LEFT"]


def test_as_uint8_stack_gives_a_contiguous_uint8_copy_of_frames_in_any_form():
    frames = [np.arange(12, dtype=np.int64).reshape(3, 4).T for _ in range(2)]  # not contiguous
    stack = as_uint8_stack(frames)
    assert stack.dtype == np.uint8 and stack.flags.c_contiguous and stack.shape == (2, 4, 3)
    assert np.array_equal(stack, np.stack(frames))


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3", "cleanrl"])
def test_every_pipeline_renders_the_rgb_frame_by_default(pipeline):
    env = make_env("Pong", pipeline=pipeline, noop_max=0)
    env.reset(seed=0)
    assert env.render().shape == (210, 160, 3)
    env.close()


def test_the_default_game_is_pong():
    assert make_env(render_mode=None).rlviz_spec == EnvSpec("Pong")
