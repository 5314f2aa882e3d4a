"""Key moments and captions come from the value and reward traces where they should."""

from __future__ import annotations

import numpy as np

from rlviz.present.moments import captions, key_moments, lives_lost, value_changes


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
