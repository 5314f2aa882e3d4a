"""rlviz's "sb3" pipeline gives SB3's AtariWrapper + VecFrameStack observations bit for bit.

Alignment: both sides reset with the same seed and noop_max=30. SB3's NoopResetEnv draws
the noop count from ``env.unwrapped.np_random`` and so does rlviz's NoopReset, so the same
seed gives the same noops; then both envs get the same fixed action sequence. SB3 side:
``PongNoFrameskip-v4`` (what SB3 / RL Zoo train on), rewards unclipped and no life-loss
termination (Pong has no lives, so neither changes observations). rlviz side:
``ALE/Pong-v5`` with frameskip=1 and no sticky actions, via ``make_env``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlviz.play.envs import EnvSpec, make_env
from rlviz.play.sb3_wrappers import (
    FrameStack,
    ResizeThenGray,
    WarpFrame,
    cleanrl_wrapper,
)

sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3.common import atari_wrappers  # noqa: E402
from stable_baselines3.common.vec_env import (  # noqa: E402
    DummyVecEnv,
    VecFrameStack,
    VecTransposeImage,
)

STEPS = 300


def _actions(n: int) -> list[int]:
    return [int(a) for a in np.random.default_rng(1).integers(0, 6, n)]


def _sb3_env():
    def thunk():
        import ale_py

        gym.register_envs(ale_py)
        env = gym.make("PongNoFrameskip-v4")
        return atari_wrappers.AtariWrapper(env, terminal_on_life_loss=False, clip_reward=False)

    return VecTransposeImage(VecFrameStack(DummyVecEnv([thunk]), 4))


@pytest.mark.parametrize("seed", [0, 7])
def test_sb3_pipeline_observations_equal_sb3_bit_for_bit(seed):
    ref_env = _sb3_env()
    ref_env.seed(seed)
    ref = ref_env.reset()[0]
    env = make_env("Pong", spec=EnvSpec(pipeline="sb3", noop_max=30, fire_reset=True), render_mode=None)
    obs, _ = env.reset(seed=seed)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert not obs[:3].any()  # zero padding at reset, newest frame last
    for t, action in enumerate(_actions(STEPS)):
        assert np.array_equal(obs, ref), f"observation {t} differs"
        ref = ref_env.step(np.array([action]))[0][0]
        obs = env.step(action)[0]
    assert np.array_equal(obs, ref)
    env.close()
    ref_env.close()


def test_cleanrl_wrapper_equals_cleanrl_env_stack():
    """CleanRL: SB3's noop/skip/fire wrappers, RGB resize, cv2 gray, stack repeating frame 1."""
    import ale_py
    import cv2

    gym.register_envs(ale_py)

    class Cv2Gray(gym.ObservationWrapper):  # gymnasium 0.29's GrayScaleObservation, as CleanRL pins
        def __init__(self, env):
            super().__init__(env)
            self.observation_space = gym.spaces.Box(0, 255, (84, 84), np.uint8)

        def observation(self, frame):
            return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)

    ref_env = gym.make("PongNoFrameskip-v4")
    ref_env = atari_wrappers.NoopResetEnv(ref_env, noop_max=30)
    ref_env = atari_wrappers.MaxAndSkipEnv(ref_env, skip=4)
    ref_env = atari_wrappers.FireResetEnv(ref_env)
    ref_env = Cv2Gray(gym.wrappers.ResizeObservation(ref_env, (84, 84)))
    ref_env = gym.wrappers.FrameStackObservation(ref_env, 4, padding_type="reset")
    base = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    env = cleanrl_wrapper(base, EnvSpec("Pong", pipeline="sb3", fire_reset=True))
    ref, _ = ref_env.reset(seed=3)
    obs, _ = env.reset(seed=3)
    for action in _actions(100):
        assert np.array_equal(obs, np.asarray(ref))
        ref = ref_env.step(action)[0]
        obs = env.step(action)[0]


def test_warp_frame_grays_before_resizing_and_cleanrl_resizes_first():
    frame = np.random.default_rng(0).integers(0, 256, (210, 160, 3), dtype=np.uint8)
    env = gym.make("ALE/Pong-v5", frameskip=1)
    warp, resize_first = WarpFrame(env), ResizeThenGray(env)
    import cv2

    gray = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (84, 84), interpolation=cv2.INTER_AREA)
    assert np.array_equal(warp.observation(frame), gray)
    assert resize_first.observation(frame).shape == (84, 84)
    assert FrameStack(warp, 4).observation_space.shape == (4, 84, 84)
