"""--compare B --same-frames: agent B explained on agent A's observations, its would-be move shown."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.play.envs import EnvSpec
from rlviz.play.rollout import env_for, replay_frames
from rlviz.present.compare_layout import CompareRenderer
from rlviz.present.video import make_comparison_video
from rlviz.present.video.api import same_frame_steps
from rlviz.present.video.play_pass import record
from rlviz.util.errors import RlvizError
from tests.conftest import PONG_ACTIONS


def other_pong_agent(seed: int, spec: EnvSpec | None = None) -> Agent:
    torch.manual_seed(seed)
    return Agent(NatureActorCritic(6), env_spec=spec or EnvSpec("Pong"), action_names=PONG_ACTIONS,
                 architecture={"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4},
                 metadata={"name": f"other-{seed}"})


def test_same_frame_steps_are_b_on_a_observations(pong_agent):
    b = other_pong_agent(7)
    env = env_for(pong_agent)
    try:
        steps, _ = record(pong_agent, env, seed=3, frames=6, progress=False)
        got = same_frame_steps(b, env, steps, seed=3, batch=4)
        obs = np.stack([o for _, o in replay_frames(env, steps, seed=3, render=False)])
    finally:
        env.close()
    logits, values = b(obs)  # an independent forward pass of B on A's observations
    np.testing.assert_allclose(np.stack([s.logits for s in got]), logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([s.value for s in got], values.numpy(), rtol=1e-5, atol=1e-6)
    assert [s.action for s in got] == [s.action for s in steps]  # replaying them gives A's frames
    assert [s.checksum for s in got] == [s.checksum for s in steps]


def test_same_frames_video_shows_one_situation_and_b_s_own_move(pong_agent, tmp_path, monkeypatch):
    b = other_pong_agent(7)
    seen = []
    render = CompareRenderer.render

    def spy(self, views, scales, finished):
        seen.append([None if v is None else (v.rgb.copy(), v.step, v.action, np.asarray(v.probs).copy()) for v in views])
        return render(self, views, scales, finished)

    monkeypatch.setattr(CompareRenderer, "render", spy)
    make_comparison_video([pong_agent, b], tmp_path / "s.mp4", frames=5, seed=3, explain="saliency", size=(640, 360),
                          progress=False, title_cards=False, same_frames=True)
    assert len(seen) == 5
    differs = 0
    for a, bb in seen:
        np.testing.assert_array_equal(a[0], bb[0])  # the same frame on both sides
        assert a[1] == bb[1]
        assert bb[2] == int(np.argmax(bb[3]))  # B's likeliest move, not the one A played
        differs += not np.allclose(a[3], bb[3])
    assert differs == 5  # and B's own probabilities


def test_same_frames_refuses_agents_with_different_env_settings(pong_agent, tmp_path):
    b = other_pong_agent(7, EnvSpec("Pong", frame_skip=3))
    with pytest.raises(RlvizError, match="same env settings"):
        make_comparison_video([pong_agent, b], tmp_path / "s.mp4", frames=3, progress=False, same_frames=True)
