"""Key moments and captions come from the value and reward traces where they should."""

from __future__ import annotations

import numpy as np

from rlviz.moments import captions, key_moments, value_changes


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
