"""Key moments and captions come from the value and reward traces where they should."""

from __future__ import annotations

import numpy as np
import pytest

from rlviz.present.moments import (
    SETTLE,
    captions,
    key_moments,
    lives_lost,
    surprise,
    td_errors,
    value_changes,
)


def synthetic_trace(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    values = 0.05 * rng.standard_normal(n)
    values[150:] -= 2.0  # a sharp drop at step 150
    values[300:] += 1.0  # a rise at step 300
    rewards = np.zeros(n)
    rewards[220] = -1.0
    return values, rewards


def test_value_change_is_zero_for_the_zero_padded_start():
    values, _ = synthetic_trace()
    assert np.all(value_changes(values)[:16] == 0)


def test_key_moments_are_found_at_the_largest_changes_and_rewards():
    values, rewards = synthetic_trace()
    found = key_moments(values, rewards, k=3, min_gap=30)
    steps = [m.step for m in found]
    assert steps == sorted(steps)
    assert {m.kind for m in found} == {"value-drop", "reward", "value-rise"}
    drop = next(m for m in found if m.kind == "value-drop")
    rise = next(m for m in found if m.kind == "value-rise")
    assert 150 <= drop.step < 158 and 300 <= rise.step < 308
    assert any(m.step == 220 for m in found)


def test_key_moments_keep_their_distance():
    values, rewards = synthetic_trace()
    found = key_moments(values, rewards, k=10, min_gap=60)
    steps = [m.step for m in found]
    assert all(b - a >= 60 for a, b in zip(steps, steps[1:]))


def test_policy_changes_are_candidates():
    values = np.zeros(100)
    logits = np.zeros((100, 3))
    logits[:, 0] = 5.0
    logits[60:, 0], logits[60:, 2] = 0.0, 5.0  # the agent changes its mind at step 60
    found = key_moments(values, np.zeros(100), logits, k=1)
    assert found[0].kind == "policy-change" and found[0].step == 60


def test_captions_name_rewards_and_sharp_drops_and_fade():
    values, rewards = synthetic_trace()
    track = captions(values, rewards, hold=20)
    assert len(track) == len(values)
    assert "lose" in track[152] and "lost a point" in track[221]
    assert track[100] == "" and track[260] == ""


def test_equal_moments_spread_over_a_long_game_by_default():
    # a winning Pong agent: 20 points of equal weight, one every 250 steps of a 5,000-step game
    values = np.zeros(5000)
    rewards = np.zeros(5000)
    rewards[100::250] = 1.0
    found = key_moments(values, rewards, k=3)
    steps = [m.step for m in found]
    assert len(steps) == 3
    assert all(b - a >= 5000 // 6 for a, b in zip(steps, steps[1:]))  # not the first three points
    assert steps[0] == 100 and steps[-1] == 4850  # the first and the last point, then one between
    assert 1500 < steps[1] < 3500
    # an explicit gap still wins over the default: no third point is 3,000 steps from both
    assert [m.step for m in key_moments(values, rewards, k=3, min_gap=3000)] == [100, 4850]


def test_a_drop_caption_ends_when_the_value_climbs_again():
    rng = np.random.default_rng(1)
    values = 0.02 * rng.standard_normal(300)
    values[100:] -= 2.0  # a sharp drop at step 100 ...
    values[112:] += 1.5  # ... and the value climbs back from step 112
    track = captions(values, np.zeros(300), hold=40)
    changes = value_changes(values)
    assert "drops" in track[101]
    climbing = [t for t in range(101, 141) if changes[t] >= 1.0]
    assert climbing and all("drops" not in track[t] for t in climbing)
    # without the climb the caption stays its full hold
    flat = np.where(np.arange(300) < 100, 0.0, -2.0)
    held = captions(flat, np.zeros(300), hold=40)
    assert "drops" in held[139] and held[140] == ""


def test_lives_lost_where_the_count_falls_within_an_episode():
    lives = [5, 5, 4, 4, 4, 3, 5, 5, 4]  # a new episode starts at index 6 with 5 lives again
    assert np.flatnonzero(lives_lost(lives, starts=(0, 6))).tolist() == [2, 5, 8]
    assert not lives_lost([0] * 10).any()  # Pong: no lives, nothing lost
    # a new episode that starts with fewer lives than the last step of the previous one
    assert np.flatnonzero(lives_lost([3, 3, 1, 1], starts=(0, 2))).tolist() == []


def breakout_like_trace(n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequent middle-row bricks (+4), one top-row brick (+7) and two lost lives."""
    rng = np.random.default_rng(2)
    values = np.sin(np.arange(n) * 2 * np.pi / 200) + 0.02 * rng.standard_normal(n)  # gentle ups and downs
    rewards = np.zeros(n)
    rewards[50::20] = 4.0
    rewards[330] = 7.0
    lives = np.full(n, 5)
    lives[200:] = 4
    lives[450:] = 3
    return values, rewards, lives


def test_lost_lives_outrank_routine_rewards_and_big_rewards_outrank_small_ones():
    values, rewards, lives = breakout_like_trace()
    found = key_moments(values, rewards, None, lives, k=3, min_gap=40)
    assert [(m.kind, m.step) for m in found] == [("life-lost", 200), ("reward", 330), ("life-lost", 450)]
    assert found[0].text == "The agent lost a life (4 left)"
    # without lives, the +7 brick comes first and the rest are +4 bricks
    plain = key_moments(values, rewards, k=3, min_gap=40)
    assert {m.kind for m in plain} == {"reward"} and 330 in [m.step for m in plain]
    assert max(plain, key=lambda m: m.size).step == 330


def test_highlights_mix_kinds_instead_of_repeating_the_largest_one():
    # SpaceInvaders-like: three lost lives, routine +10 hits, one +200 mothership, one sharp rise
    n = 900
    values = np.zeros(n)
    values[600:] += 3.0  # the value estimate jumps at step 600
    rewards = np.zeros(n)
    rewards[40::30] = 10.0
    rewards[420] = 200.0
    lives = np.full(n, 3)
    lives[150:], lives[300:], lives[750:] = 2, 1, 0
    found = key_moments(values, rewards, None, lives, k=3, min_gap=40)
    assert [m.kind for m in found] == ["life-lost", "reward", "value-rise"]
    assert found[0].step == 150 and found[1].step == 420 and 600 <= found[2].step < 600 + 8
    # with room for more, the other lives come back in: a kind is discounted, never dropped
    more = key_moments(values, rewards, None, lives, k=5, min_gap=40)
    assert [m.step for m in more if m.kind == "life-lost"] == [150, 300, 750]


def test_captions_tell_lost_lives_and_word_drops_by_the_game():
    values, rewards, lives = breakout_like_trace()
    values[440:] -= 3.0  # the value falls just before the second life is lost
    track = captions(values, np.zeros_like(rewards), lives, hold=20)
    assert track[200] == "The agent lost a life (4 left)" and track[219] != "" and track[220] == ""
    assert "expects to lose a life" in track[441]
    assert track[450] == "The agent lost a life (3 left)"  # a lost life replaces the drop caption
    ended = captions(values[:460], np.zeros(460), np.r_[lives[:450], np.zeros(10, int)], hold=20)
    assert ended[450] == "The agent lost its last life: game over"
    pong = captions(values, np.zeros_like(rewards), np.zeros_like(lives), hold=20)
    assert "expects to lose a point" in pong[441] and "life" not in " ".join(pong)


def pong_point_trace() -> tuple[np.ndarray, np.ndarray]:
    """A rally the agent sees coming: its value climbs towards +1, it scores at step 200 and
    the value falls back to its resting level over the next 5 steps (as the bundled Pong
    agent's does); at step 300 it sees a point coming against it, loses it at 320 and the
    value resets at once."""
    rng = np.random.default_rng(3)
    values = 0.2 + 0.03 * rng.standard_normal(400)
    values[170:201] = np.linspace(0.2, 0.95, 31)
    values[201:206] = np.linspace(0.7, 0.25, 5)
    values[300:321] = -0.9
    rewards = np.zeros(400)
    rewards[200], rewards[320] = 1.0, -1.0
    return values, rewards


def test_a_value_reset_after_a_reward_is_no_news_but_a_drop_before_a_lost_point_is():
    values, rewards = pong_point_trace()
    track = captions(values, rewards, hold=20)
    after_point = " ".join(track[201:240])
    assert "drops" not in after_point and "jumps" not in after_point
    assert "lose a point" in track[302]  # the real drop, before the point is lost
    assert track[320] == "The agent lost a point (-1)"
    assert "jumps" not in " ".join(track[321:360])  # the reset after the lost point
    found = key_moments(values, rewards, k=6, min_gap=5)
    value_steps = [m.step for m in found if m.kind.startswith("value")]
    assert not [t for t in value_steps if any(0 < t - b <= SETTLE for b in (200, 320))]
    assert any(300 <= t < 300 + 8 for t in value_steps)


def test_surprise_is_the_windowed_td_error_cut_at_lost_lives_and_episode_ends():
    values = np.array([0.0, 1.0, 3.0, 3.0, 2.0, 5.0])
    rewards = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    lives = np.array([3, 3, 3, 2, 2, 2])  # a life is lost during step 3
    delta = td_errors(values, rewards, lives, gamma=0.5)
    # r + gamma V' - V; no V' after the lost life (step 3); the last step has no V' yet
    assert np.allclose(delta, [0.5, 0.5, -0.5, -3.0, 0.5, 0.0])
    ended = td_errors(values, rewards, gamma=0.5, starts=(0, 4))  # an episode ends at step 3
    assert ended[3] == -3.0 and ended[2] == -0.5
    s = surprise(values, rewards, None, window=2, starts=(0,), settle=0)
    assert s[4] == pytest.approx(values[4] - values[2] + rewards[2] + rewards[3])


def test_no_key_moment_of_the_bundled_pong_agent_is_a_reset_after_a_reward():
    """The bundled agent from the highlights' seed: it loses a point at step 245 and wins one
    at 293; the value jumps back to its resting level right after each."""
    from pathlib import Path

    from rlviz.agents.loading import load_agent
    from rlviz.play.rollout import env_for, play

    pong_agent = load_agent(Path(__file__).resolve().parents[1] / "agents" / "pong")
    env = env_for(pong_agent, render_mode=None)
    steps = list(play(pong_agent, env, seed=1, max_steps=330))
    values = np.array([s.value for s in steps])
    rewards = np.array([s.reward for s in steps])
    scored = np.flatnonzero(rewards)
    assert len(scored) >= 2  # the rollout holds both a lost and a won point
    found = key_moments(values, rewards, np.stack([s.logits for s in steps]), k=4, min_gap=10)
    track = captions(values, rewards, hold=30)
    for m in found:
        if m.kind.startswith("value"):
            assert not any(0 < m.step - b <= SETTLE for b in scored), (m, scored)
    for b in scored:  # after each point: the reward's own caption, never a value caption
        assert not any(("drops" in c or "jumps" in c) for c in track[b + 1 : b + SETTLE + 1])


def test_a_caption_never_runs_into_the_next_episode():
    # a point lost at step 90 of a 100-step episode; the next episode starts at step 100
    n = 200
    rewards = np.zeros(n)
    rewards[90] = -1.0
    track = captions(np.zeros(n), rewards, hold=30, starts=(0, 100))
    assert track[90] == track[99] == "The agent lost a point (-1)"
    assert track[100:].count("") == 100  # cut at the reset, not held to step 119
    # the same trace as one episode keeps the caption for its whole hold
    assert captions(np.zeros(n), rewards, hold=30)[119] == "The agent lost a point (-1)"


def test_a_reset_is_not_a_change_of_mind():
    # the greedy action flips exactly where episode 2 starts: a new game, not a decision
    logits = np.zeros((120, 3))
    logits[:60, 0] = 5.0
    logits[60:, 2] = 5.0
    values, rewards = np.zeros(120), np.zeros(120)
    assert [(m.kind, m.step) for m in key_moments(values, rewards, logits, k=1)] == [("policy-change", 60)]
    assert key_moments(values, rewards, logits, k=1, starts=(0, 60)) == []


def test_moment_sizes_and_texts_follow_the_documented_formulas():
    """Sizes: a reward 2 + |r| / largest |r|; a value change |change| / std(values); a policy
    change 1.5 x the total-variation distance of the action probabilities; texts verbatim."""
    n = 200
    values = np.zeros(n)
    values[60:] = 3.0  # a rise of 3 at step 60 ...
    values[140:] = 1.0  # ... and a drop of 2 at step 140
    rewards = np.zeros(n)
    rewards[100], rewards[180] = 4.0, -1.0
    logits = np.zeros((n, 3))
    logits[:, 0] = np.log(8.0)  # p = (0.8, 0.1, 0.1)
    logits[120:, 0], logits[120:, 2] = 0.0, np.log(8.0)  # at step 120: p = (0.1, 0.1, 0.8)
    found = key_moments(values, rewards, logits, k=10, min_gap=1)
    by_kind = {}
    for m in found:
        by_kind.setdefault(m.kind, []).append(m)
    std = np.std(values)
    rise = max(by_kind["value-rise"], key=lambda m: m.size)
    drop = max(by_kind["value-drop"], key=lambda m: m.size)
    assert rise.size == pytest.approx(3.0 / std) and 60 <= rise.step < 68
    assert drop.size == pytest.approx(2.0 / std) and 140 <= drop.step < 148
    assert rise.text == "The agent's value estimate rises: it expects to score"
    assert drop.text == "The agent's value estimate drops: it sees trouble coming"
    rewarded = {m.step: m for m in by_kind["reward"]}
    assert rewarded[100].size == pytest.approx(3.0) and rewarded[180].size == pytest.approx(2.25)
    assert rewarded[100].text == "The agent scored (+4)" and rewarded[180].text == "The agent lost a point (-1)"
    (change,) = by_kind["policy-change"]
    assert change.step == 120 and change.size == pytest.approx(1.5 * 0.7)
    assert change.text == "The agent suddenly changes its mind"


def test_default_gap_is_a_2k_th_of_a_long_rollout():
    # 1,201 steps, k = 3: the gap is 1201 // 6 = 200 steps (not 45)
    rewards = np.zeros(1201)
    rewards[[100, 299, 300, 500]] = [1.0, 1.0, 1.0, 1.0]
    steps = [m.step for m in key_moments(np.zeros(1201), rewards, k=3)]
    assert steps == [100, 300, 500]  # 299 is 199 steps from 100: too close; 300 is exactly 200 away
    # a short rollout keeps at least 45 steps between moments
    short = np.zeros(100)
    short[[10, 54, 55]] = 1.0
    assert [m.step for m in key_moments(np.zeros(100), short, k=3)] == [10, 55]


def test_texts_for_small_rewards_and_the_last_lives():
    from rlviz.present.moments import life_text, reward_text

    assert reward_text(0.5) == "The agent scored (+0.5)" and reward_text(-0.5) == "The agent lost a point (-0.5)"
    assert life_text(1) == "The agent lost a life (1 left)"
    assert life_text(0) == "The agent lost its last life: game over"


def test_lives_and_value_changes_on_short_and_unusual_traces():
    assert lives_lost([3]).tolist() == [False]
    assert lives_lost([3, 2]).tolist() == [False, True]
    assert lives_lost([3, 3, 2], starts=(0, 3)).tolist() == [False, False, True]  # a start past the end is ignored
    # starts that do not include 0 still silence the first 2 * window steps of the rollout
    values = np.r_[np.zeros(4), np.full(46, 1.0)]
    changes = value_changes(values, window=2, starts=(20,))
    assert np.all(changes[:4] == 0) and changes[4:6].tolist() == [1.0, 1.0] and np.all(changes[20:24] == 0)
    assert value_changes(np.arange(3.0), window=3).tolist() == [0.0, 0.0, 0.0]
    ints = value_changes(np.arange(50, dtype=np.int64), window=2)
    assert ints.dtype == np.float64 and ints[30] == 2.0
    assert lives_lost([3, 3, 2]).dtype == bool


def test_empty_and_two_step_rollouts():
    assert key_moments([], []) == [] and captions([], []) == []
    logits = np.array([[5.0, 0.0], [0.0, 5.0]])
    assert [(m.kind, m.step) for m in key_moments(np.zeros(2), np.zeros(2), logits, k=1, min_gap=1)] == [("policy-change", 1)]


def test_small_rewards_and_rises_are_sized_like_large_ones():
    rewards = np.zeros(300)
    rewards[[100, 200]] = [0.5, 0.25]
    sizes = {m.step: m.size for m in key_moments(np.zeros(300), rewards, k=2, min_gap=1)}
    assert sizes == {100: pytest.approx(3.0), 200: pytest.approx(2.5)}  # 2 + |r| / 0.5
    small = np.where(np.arange(300) < 150, 0.0, 0.5)  # a rise of 0.5
    (rise,) = key_moments(small, np.zeros(300), k=1)
    assert rise.kind == "value-rise" and 150 <= rise.step < 158


def test_policy_changes_are_measured_on_stable_probabilities():
    # logits far apart in scale: a softmax that does not subtract each row's own maximum over- or
    # underflows here
    logits = np.zeros((100, 3))
    logits[:50] = [0.0, 0.0, 5.0]
    logits[50:] = [900.0, 0.0, 0.0]
    (change,) = key_moments(np.zeros(100), np.zeros(100), logits, k=1, min_gap=1)
    p = np.exp([0.0, 0.0, 5.0]) / np.exp([0.0, 0.0, 5.0]).sum()
    assert change.step == 50 and change.size == pytest.approx(1.5 * 0.5 * (abs(p[0] - 1.0) + p[1] + p[2]))
    # the first step of a rollout that starts mid-episode is not compared with the last one
    flip = np.zeros((100, 3))
    flip[:, 0] = 5.0
    flip[-1] = [0.0, 5.0, 0.0]
    assert [m.step for m in key_moments(np.zeros(100), np.zeros(100), flip, k=3, starts=(50,))] == [99]


def test_a_drop_caption_is_cut_when_the_value_turns_back_by_half_a_sharp_change():
    """The only sharp changes: a drop of 0.1 at step 40 (the threshold is 0.1) and a climb of x
    at step 50: the caption ends there when x >= 0.05 and is held its 30 steps when x < 0.05."""

    def track(x: float) -> list[str]:
        values = np.r_[np.zeros(40), np.full(10, -0.1), np.full(50, -0.1 + x)]
        return captions(values, np.zeros(100), hold=30)

    cut, held = track(0.05), track(0.04)
    assert "drops" in cut[40] and "drops" in cut[49] and cut[50] == ""
    assert "drops" in held[69] and held[70] == ""


def test_captions_with_lives_across_episodes_and_rollouts_that_start_mid_episode():
    lives = [3, 3, 3, 1, 1, 1]  # a new episode at step 3 starts with fewer lives: not a loss
    assert captions(np.zeros(6), np.zeros(6), lives, starts=(0, 3)) == [""] * 6
    rewards = np.zeros(6)
    assert [m.kind for m in key_moments(np.zeros(6), rewards, None, lives, k=2, starts=(0, 3))] == []
    one_life = np.r_[np.ones(40, int), np.zeros(10, int)]
    values = np.r_[np.zeros(30), np.full(20, -3.0)]
    assert "expects to lose a life" in captions(values, np.zeros(50), one_life, hold=5)[31]
    rewards = np.zeros(100)
    rewards[10] = 1.0
    assert captions(np.zeros(100), rewards, hold=5, starts=(50,))[10] == "The agent scored (+1)"


def test_defaults_hold_a_caption_30_steps_and_pick_3_moments():
    rewards = np.zeros(400)
    rewards[[50, 150, 250, 350]] = 1.0
    track = captions(np.zeros(400), rewards)
    assert track[79] == "The agent scored (+1)" and track[80] == ""
    assert len(key_moments(np.zeros(400), rewards)) == 3


def test_a_rise_caption_is_worded_and_cut_like_a_drop_caption():
    def track(x: float) -> list[str]:  # a rise of 0.1 at step 40, then a fall of x at step 50
        values = np.r_[np.zeros(40), np.full(10, 0.1), np.full(50, 0.1 - x)]
        return captions(values, np.zeros(100), hold=30)

    cut, held = track(0.05), track(0.04)
    assert cut[40] == "Its value estimate jumps: it expects to score" and cut[50] == ""
    assert held[69] == "Its value estimate jumps: it expects to score" and held[70] == ""


def test_the_default_gap_keeps_a_close_third_moment_out():
    rewards = np.zeros(1201)
    rewards[[100, 250, 500]] = 1.0  # 250 is 150 steps from 100: closer than 1201 // 6 = 200
    assert [m.step for m in key_moments(np.zeros(1201), rewards, k=3)] == [100, 500]


def test_a_policy_change_is_measured_against_the_step_before_not_the_first():
    logits = np.zeros((200, 3))
    logits[:, 0] = 3.0
    logits[100:, 0], logits[100:, 1] = 0.0, 3.0  # a first change at step 100 ...
    logits[150:, 1], logits[150:, 2] = 1.0, 3.0  # ... and a second, smaller one at step 150
    found = {m.step: m.size for m in key_moments(np.zeros(200), np.zeros(200), logits, k=2, min_gap=1)}

    def softmax(z):
        e = np.exp(np.asarray(z) - max(z))
        return e / e.sum()

    tv = 0.5 * np.abs(softmax([0.0, 1.0, 3.0]) - softmax([0.0, 3.0, 0.0])).sum()
    assert sorted(found) == [100, 150] and found[150] == pytest.approx(1.5 * tv)


def test_the_drop_at_a_lost_life_is_not_captioned_again_after_the_life_caption() -> None:
    """The value falls from 5 to 1 as a life is lost (step 60): the return is cut there, so once
    the 5-step life caption ends the fall is not told again as 'drops sharply' (kills captions
    judging value changes without the lives)."""
    values = np.r_[np.full(60, 5.0), np.full(60, 1.0)]
    lives = np.r_[np.full(60, 3), np.full(60, 2)]
    caps = captions(values, np.zeros(120), lives, hold=5)
    assert caps[60:65] == ["The agent lost a life (2 left)"] * 5
    assert all(c == "" for t, c in enumerate(caps) if not 60 <= t < 65)


def test_captions_judge_value_changes_with_the_gamma_they_are_given() -> None:
    """A constant value V with gamma 0.5: every TD error is (0.5 - 1) V, a steady drop; with the
    default gamma 1 a constant value is no change at all (kills gamma not passed on)."""
    values = np.full(60, 5.0)
    assert all(c == "" for c in captions(values, np.zeros(60)))
    caps = captions(values, np.zeros(60), gamma=0.5, hold=5)
    assert any("drops sharply" in c for c in caps)
