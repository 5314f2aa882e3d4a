"""Rollouts over several episodes: play, replay, moments and videos keep episodes apart."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlviz.play.rollout import Step, play, replay_frames
from rlviz.present import moments
from rlviz.present.writer import read_video
from rlviz.util.errors import RlvizError


class ShortEpisodes(gym.Env):
    """Deterministic 5-step episodes whose frames depend on the reset seed and the step; a
    reward of +1 at the last step."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, length: int = 5) -> None:
        self.observation_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
        self.action_space = gym.spaces.Discrete(6)
        self.length, self.seed_, self.t = length, 0, 0

    def _obs(self) -> np.ndarray:
        return np.full((4, 84, 84), (7 * self.seed_ + 11 * self.t) % 256, np.uint8)

    def reset(self, *, seed=None, options=None):
        self.seed_, self.t = (seed or 0), 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        return self._obs(), float(done), done, False, {}

    def render(self):
        return np.full((210, 160, 3), self.t * 20, np.uint8)


def test_play_runs_episodes_in_a_row_with_their_own_seeds_and_scores(pong_agent):
    steps = list(play(pong_agent, ShortEpisodes(), seed=10, max_steps=12, episodes=3))
    assert [s.episode for s in steps] == [0] * 5 + [1] * 5 + [2] * 2
    assert [s.step for s in steps] == list(range(12))
    assert [s.score for s in steps[:6]] == [0, 0, 0, 0, 1, 0]  # the score restarts with each episode
    assert int(steps[5].obs[0, 0, 0]) == 7 * 11 % 256  # episode 1 starts from reset(seed=11)
    assert len(list(play(pong_agent, ShortEpisodes(), seed=0))) == 5  # one episode by default
    with pytest.raises(RlvizError, match="episodes"):
        list(play(pong_agent, ShortEpisodes(), episodes=0))


def test_replay_crosses_episode_boundaries_and_catches_a_missing_one(pong_agent):
    steps = list(play(pong_agent, ShortEpisodes(), seed=3, max_steps=12, episodes=3))
    replayed = [obs for _, obs in replay_frames(ShortEpisodes(), steps, seed=3)]
    assert all(np.array_equal(o, s.obs) for o, s in zip(replayed, steps)) and len(replayed) == 12
    merged = [Step(**{**vars(s), "episode": 0}) for s in steps]  # pretend it was one episode
    with pytest.raises(RlvizError, match="ended early"):
        list(replay_frames(ShortEpisodes(), merged, seed=3))


def test_a_reset_is_not_a_sudden_value_change():
    values = np.r_[np.zeros(40), np.full(40, 5.0)]  # the value jumps exactly where episode 2 starts
    assert moments.value_changes(values)[40:48].max() == 5.0
    assert moments.value_changes(values, starts=(0, 40))[40:56].max() == 0.0
    rewards = np.zeros(80)
    assert "jumps" in " ".join(moments.captions(values, rewards))
    assert not any(moments.captions(values, rewards, starts=(0, 40)))
    assert [m.kind for m in moments.key_moments(values, rewards, k=1)] == ["value-rise"]
    assert moments.key_moments(values, rewards, k=1, starts=(0, 40)) == []


def test_a_video_of_several_episodes_has_every_step_and_scores_each_game(pong_agent, tmp_path, monkeypatch):
    import rlviz.present.video.api as video
    from rlviz.present.video.render_pass import takeaways

    monkeypatch.setattr(video, "env_for", lambda agent, game=None: ShortEpisodes())
    result = video.make_video(pong_agent, tmp_path / "three.mp4", frames=15, episodes=3, size=(640, 360),
                              title_cards=False, progress=False)
    assert result.frames == 15 and read_video(result.path).shape == (15, 360, 640, 3)
    steps = list(play(pong_agent, ShortEpisodes(), seed=0, max_steps=15, episodes=3))
    items, _ = takeaways(pong_agent, steps, {})
    assert items[0].startswith("Scores of its 3 games: +1, +1, +1")


class ShortEpisodesWithLives(ShortEpisodes):
    """ShortEpisodes with 3 lives, one lost at steps 2 and 4 of each episode (as ALE reports them)."""

    def step(self, action):
        obs, reward, done, truncated, _ = super().step(action)
        return obs, reward, done, truncated, {"lives": 3 - self.t // 2}


def test_play_records_lives_and_the_end_card_counts_the_lost_ones(pong_agent):
    steps = list(play(pong_agent, ShortEpisodesWithLives(), seed=0, max_steps=10, episodes=2))
    assert [s.lives for s in steps] == [3, 2, 2, 1, 1] * 2
    from rlviz.present.video.render_pass import takeaways

    items, _ = takeaways(pong_agent, steps, {})
    assert "4 lives lost" in items[0]
    assert [s.lives for s in play(pong_agent, ShortEpisodes(), seed=0)] == [0] * 5  # no lives in info
