"""What-if with objects: remove:OBJECT paints exactly that object with the background in every
stacked frame, each method's object shares with and without an edit (against shares computed by
hand), the summary and JSON carry them, and the headline says what the interval shows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from object_case import BALL, COURT, pong_scene, row_mode_background

from rlviz.assess.paired import paired_difference
from rlviz.assess.whatif import WhatIfResult, what_if
from rlviz.assess.whatif_objects import object_share_shift, parse_whatif_edit
from rlviz.explain.objects import find_objects
from rlviz.play.envs import as_uint8_stack
from rlviz.play.rollout import env_for
from rlviz.util.errors import RlvizError


def test_remove_paints_the_named_object_with_the_background_in_every_frame(pong_agent):
    obs, bg = pong_scene()
    edit = parse_whatif_edit("remove:ball", pong_agent, background=bg)
    assert edit.kind == "view" and "the ball is removed" in edit.says and edit.focus_mask() is None
    out = edit.blank.apply(obs)
    ball = obs == BALL
    assert ball.sum() == 4 * 4  # one 2x2 ball in each of the 4 frames
    assert (out[ball] == COURT).all()  # gone from every stacked frame, painted with the background
    assert (out[~ball] == obs[~ball]).all()  # only its pixels (and the 1-px grown rim, court already) change
    assert [o.name for o in find_objects(out, bg, "Pong")] == ["agent's paddle"]
    padded = obs.copy()
    padded[0] = 0  # after a reset the stack starts with blank frames: they differ from the background but hold no object
    out = edit.blank.apply(padded)
    assert (out[0] == 0).all() and (out[1:][ball[1:]] == COURT).all()


def test_remove_refuses_an_unknown_object_in_one_line_before_playing(pong_agent, agent_dir, capsys):
    with pytest.raises(RlvizError, match="unknown object 'ghost' for Pong; its objects: ball, opponent's paddle"):
        parse_whatif_edit("remove:ghost", pong_agent, background=np.zeros((84, 84), np.uint8))
    from rlviz.cli import main

    assert main(["whatif", "--agent", str(agent_dir), "--view-edit", "remove:ghost"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown object 'ghost'" in err


def test_object_share_shift_matches_shares_computed_by_hand(pong_agent):
    obs, bg = pong_scene()
    ball, paddle = (obs == BALL).any(axis=0), (obs == 148).any(axis=0)
    without = np.zeros((1, 84, 84), np.float32)
    without[0][ball] = 3.0 / ball.sum()  # 3 units on the ball, 1 on the paddle, 1 on the court
    without[0][paddle] = 1.0 / paddle.sum()
    without[0, 0, 0] = 1.0
    with_edit = np.zeros((1, 84, 84), np.float32)
    with_edit[0][paddle] = 1.0 / paddle.sum()  # all on the paddle
    maps = ({"m": without}, {"m": with_edit})
    for same in (True, False):
        shift = object_share_shift(pong_agent, obs[None], obs[None], bg, same_observations=same, methods=("m",), maps=maps)["m"]
        assert shift["without"] == pytest.approx({"ball": 0.6, "agent's paddle": 0.2})
        assert shift["with"] == pytest.approx({"ball": 0.0, "agent's paddle": 1.0})
        assert shift["on_objects_without"] == pytest.approx(0.8) and shift["frames"] == 1
    # a game edit finds each side's own objects: an edited frame without the ball has no ball share
    empty = np.repeat(bg[None, None], 4, axis=1)
    shift = object_share_shift(pong_agent, obs[None], empty, bg, same_observations=False, methods=("m",),
                               maps=({"m": without}, {"m": without}))["m"]
    assert shift["with"] == {"ball": 0.0, "agent's paddle": 0.0} and shift["on_objects_with"] == 0.0


def test_whatif_measures_each_methods_object_shares_on_the_same_observations(pong_agent, tmp_path):
    env = env_for(pong_agent, render_mode=None)
    obs, _ = env.reset(seed=0)
    for _ in range(60):  # the ball is in play by now
        obs, *_ = env.step(0)
    env.close()
    bg = row_mode_background(as_uint8_stack(obs)[-1])
    result = what_if(pong_agent, "remove:agent's paddle", episodes=1, max_steps=9, saliency_frames=2, background=bg,
                     progress=False, json_path=tmp_path / "w.json")
    shares = result.object_shares
    assert set(shares) == {"saliency-actor", "saliency-critic", "lrp-epsilon-gamma-box", "lrp-epsilon-gamma-reference"}
    for s in shares.values():
        assert s["frames"] == 2 and "agent's paddle" in s["without"]
        assert 0 <= s["on_objects_with"] <= 1 and 0 <= s["on_objects_without"] <= 1
    saved = json.loads((tmp_path / "w.json").read_text())
    assert saved["object_shares"]["saliency-actor"]["without"] == pytest.approx(shares["saliency-actor"]["without"])
    s = shares["saliency-actor"]
    name = max(s["without"], key=lambda x: max(s["without"][x], s["with"][x]))  # the summary lists the top objects
    words = f"{name} {s['without'][name]:.0%} -> {s['with'][name]:.0%}"
    assert words in result.summary() and "the same observations" in result.summary()


def _result(original: list[float], edited: list[float]) -> WhatIfResult:
    n = len(original)
    return WhatIfResult(agent="a", game="Pong", edit="opponent-frozen", kind="game", says="s", seeds=list(range(n)),
                        max_steps=None, original_returns=original, edited_returns=edited, original_lengths=[1] * n,
                        edited_lengths=[1] * n, stats=paired_difference(original, edited), moves_changed=None,
                        first_screen_difference=None, first_move_difference=None, focus="f")


def test_headline_says_what_the_interval_shows():
    sure = _result([18.0, 19.0, 20.0], [-18.0, -17.0, -19.5])
    assert sure.stats.ci_excludes_zero
    assert "(the 95% confidence interval of the paired difference excludes 0)" in sure.headline()
    unsure = _result([1.0, -3.0, 2.0], [2.0, -1.0, -2.0])
    assert not unsure.stats.ci_excludes_zero
    assert "(the 95% confidence interval of the paired difference includes 0)" in unsure.headline()


def test_blank_padding_frames_hold_no_objects():
    obs, bg = pong_scene()
    obs[:2] = 0  # the first two stacked frames after a reset are blank
    objects = find_objects(obs, bg, "Pong")
    assert not any(o.masks[:2].any() for o in objects)
    assert [o.name for o in objects] == ["ball", "agent's paddle"]  # found in the frames that are there


def test_summary_lists_each_methods_top_objects_or_one_method_in_one_paragraph():
    r = _result([1.0], [0.0])
    r.object_shares = {m: {"frames": 4, "without": {"ball": 0.5, "opponent's paddle": 0.62, "agent's score": 0.01},
                           "with": {"ball": 0.4, "opponent's paddle": 0.58, "agent's score": 0.55},
                           "on_objects_without": 0.9, "on_objects_with": 0.95}
                       for m in ("saliency-actor", "lrp-epsilon-gamma-box")}
    full = r.summary().splitlines()
    # ranked by the larger of the two shares: the score (1% -> 55%) comes before the ball (50% -> 40%)
    assert "  actor saliency: opponent's paddle 62% -> 58%, agent's score 1% -> 55%, ball 50% -> 40% (all objects 90% -> 95%)" in full
    assert any(line.startswith("  LRP (epsilon-gamma-box): opponent's paddle 62% -> 58%") for line in full)
    short = r.summary(methods=("saliency-actor",)).splitlines()
    assert short[-1] == ("Share of its actor saliency on the objects, without -> with the edit (4 frames): opponent's paddle "
                         "62% -> 58%, agent's score 1% -> 55%, ball 50% -> 40% (all objects 90% -> 95%).")
    assert not any("LRP" in line for line in short)
