"""The environment pipeline: shapes, names, specs, and equality with the training env."""

from __future__ import annotations

import numpy as np
import pytest

from rlviz.play.envs import EnvSpec, action_names, canonical_game, make_env
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
