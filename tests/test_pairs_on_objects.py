"""The interactions panel draws a pair only where both boxes sit on something (not empty court)."""

from __future__ import annotations

import numpy as np

from rlviz.explain.interactions_cnn import PolicyInteraction, scale_box
from rlviz.explain.pairs_on_objects import pairs_on_objects


def pair(name: str, *obs_patches) -> PolicyInteraction:
    """A pair whose boxes are the given 8x8 observation patches (stored, as the pipeline does, in RGB coordinates)."""
    rgb = tuple(scale_box(b, (84, 84), (210, 160)) for b in obs_patches)
    return PolicyInteraction((0, 1), 1.0, (name, name), (), (), rgb)


A, B, EMPTY = (8, 8, 16, 16), (60, 40, 68, 48), (36, 64, 44, 72)  # EMPTY is > 8 px from the others


def scene() -> tuple[np.ndarray, np.ndarray]:
    background = np.full((84, 84), 90, np.uint8)  # the court
    obs = np.repeat(background[None], 4, axis=0).copy()
    obs[-1, 10:12, 10:12] = 236  # a ball in A's box, in the newest frame only
    obs[:, 42:46, 62:64] = 150  # a paddle in B's box, in every frame
    obs[0, 66:68, 38:40] = 95  # a difference too faint to be an object (5 gray levels) in the empty box
    return obs, background


def test_a_pair_on_an_empty_cell_is_dropped_and_a_pair_on_objects_stays():
    obs, background = scene()
    pairs = [pair("on-empty", A, EMPTY), pair("on-objects", A, B), pair("empty-first", EMPTY, B)]
    kept = pairs_on_objects(pairs, obs, background)
    assert [p.labels[0] for p in kept] == ["on-objects"]


def test_pairs_keep_their_order_and_at_most_keep_are_returned():
    obs, background = scene()
    pairs = [pair(str(k), A, B) for k in range(5)]
    assert [p.labels[0] for p in pairs_on_objects(pairs, obs, background, keep=3)] == ["0", "1", "2"]


def test_an_object_just_outside_the_box_still_counts_but_one_far_away_does_not():
    background = np.zeros((84, 84), np.uint8)
    obs = np.zeros((4, 84, 84), np.uint8)
    obs[:, 10:12, 22] = 200  # 6 px right of A's box (x1 = 16, exclusive): within the 6 px band
    obs[:, 42:44, 62] = 200  # in B's box
    assert len(pairs_on_objects([pair("near", A, B)], obs, background)) == 1
    obs[:, 10:12, 22] = 0
    obs[:, 10:12, 30] = 200  # 14 px right of it, beyond the band
    assert pairs_on_objects([pair("far", A, B)], obs, background) == []


def test_the_video_keeps_only_pairs_on_objects(pong_agent):
    """explain_pass wiring: a background equal to the frame leaves no pair; a black one keeps the strongest three."""
    from rlviz.play.rollout import Step
    from rlviz.present.video.explain_pass import _explain_batch
    from rlviz.util.gridstore import GridStore

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (84, 84), dtype=np.uint8)
    obs = np.repeat(frame[None], 4, axis=0)[None]
    step = Step(step=0, obs=None, action=2, reward=0.0, score=0.0, logits=np.zeros(6), value=0.0, done=False, checksum=0)
    same = _explain_batch(pong_agent, [step], obs, ("interactions",), "all", GridStore(), background=frame)
    black = _explain_batch(pong_agent, [step], obs, ("interactions",), "all", GridStore(),
                           background=np.zeros((84, 84), np.uint8))
    plain = _explain_batch(pong_agent, [step], obs, ("interactions",), "all", GridStore())
    assert same[0].pairs == []
    assert [p.features for p in black[0].pairs] == [p.features for p in plain[0].pairs] and len(plain[0].pairs) == 3
