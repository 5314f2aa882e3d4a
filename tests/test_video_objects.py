"""Objects in the videos: the lines under the maps, the object captions, the named interaction
cells and the end card's "where it looked" follow from the maps (issue #18, point 6)."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from rlviz.assess.objects import VIDEO_DEFAULT, method_maps
from rlviz.explain.objects import (
    SceneObject,
    compute_background,
    find_objects,
    top_objects,
)
from rlviz.play.rollout import env_for, replay_frames
from rlviz.present.object_figures import strip_text
from rlviz.present.video import api
from rlviz.present.video import object_words as ow
from rlviz.present.video.play_pass import record


def square(name: str, top: int, left: int, size: int = 4) -> SceneObject:
    masks = np.zeros((4, 84, 84), bool)
    masks[:, top : top + size, left : left + size] = True
    return SceneObject(name, masks)


def test_lines_say_the_top_objects_and_nothing_without_objects():
    values = np.zeros((84, 84))
    values[10:14, 10:14] = 3.0  # 48 of the mass on "ball"
    values[50:54, 60:64] = 1.0  # 16 on "object 2"
    values[80, 80] = 36.0  # 36 on no object
    objects = [square("ball", 10, 10), square("object 2", 50, 60)]
    top = ow.top_of(ow.frame_shares(values, objects))
    assert top == top_objects(values, objects, k=3, minimum=0.0)
    assert [n for n, _ in top] == ["ball", "object 2"] and np.allclose([s for _, s in top], [0.48, 0.16])
    assert ow.looks_line(top) == "looks at: ball 48%, object 2 16%" == f"looks at: {strip_text(top)}"
    assert ow.looks_line(ow.top_of(ow.frame_shares(values, []))) == ""  # a frame with no objects says nothing
    assert ow.looks_line(ow.top_of(ow.frame_shares(np.zeros((84, 84)), objects))) == ""  # a map without mass too
    assert ow.where_it_looked([{}, None]) == ""
    assert ow.phrase("object 3") == "object 3" and ow.phrase("ball") == "the ball"


def test_end_card_sentence_is_the_mean_share_over_the_steps():
    steps = [{"ball": 0.6, "paddle": 0.1}, {"ball": 0.2, "paddle": 0.5}, None, {"paddle": 0.3}]
    # means over the 3 recorded steps: ball 0.8/3 = 27%, paddle 0.9/3 = 30%
    assert ow.where_it_looked(steps) == "Where it looked, on average: paddle 30%, ball 27%."
    assert ow.where_it_looked(steps[3:], "lrp") == "What weighed in its moves, on average: paddle 30%."


def test_object_captions_claim_only_runs_where_one_object_leads():
    ball, paddle = [("ball", 0.7), ("paddle", 0.2)], [("paddle", 0.55)]
    tops = [ball] * 3 + [[("ball", 0.4), ("paddle", 0.3)]] + [ball] * 4 + [paddle] * 2 + [None] + [[]] + [[("ball", 0.1)]] * 3
    out = ow.object_captions(tops, share=0.2, lead=2.0, run=3)
    assert out[:3] == ["Of the objects, it watches the ball most"] * 3
    assert out[3] == ""  # 0.4 is not twice 0.3: no clear leader
    assert out[4:8] == [out[0]] * 4
    assert out[8:] == [""] * 7  # a run of 2 is too short; no record, no object or under 20%: no claim
    assert ow.object_captions([[("object 2", 0.5)]] * 2, "lrp", run=2) == [
        "Of the objects, object 2 weighs most in its move"] * 2
    assert ow.merge_captions(["You scored", "", ""], ["x", "y", ""]) == ["You scored", "y", ""]


def test_a_cell_is_named_for_the_object_it_mostly_holds():
    labels = np.zeros((84, 84), np.int32)
    labels[0:6, 0:6] = 1  # 36 px of "ball"
    labels[0:6, 6:8] = 2  # 12 px of "paddle": the ball holds 36/48 = 3/4 of the cell's object pixels
    names = ["ball", "paddle"]
    assert ow.cell_object((0, 0, 8, 8), labels, names) == "ball"
    assert ow.cell_object((3, 0, 8, 8), labels, names) is None  # 18 ball, 12 paddle: 60% < 2/3
    assert ow.cell_object((20, 20, 40, 40), labels, names) is None  # no object at all
    assert ow.pair_line([(None, "ball"), ("ball", "paddle")]) == "2: ball + paddle"
    assert ow.pair_line([("ball", "ball")]) == "1: two cells on the ball"
    assert ow.pair_line([(None, None)]) == ""


def test_end_card_names_the_objects_the_drawn_pairs_joined_most_often():
    per_step = [
        [("ball", "opponent's paddle"), (None, "ball")],
        [("opponent's paddle", "ball"), ("ball", "opponent's paddle")],  # one frame counts once, in either order
        [("agent's paddle", "agent's paddle")],
        [],  # no pair drawn: still a frame
        None,  # no record: not a frame
    ]
    assert ow.linked_objects(per_step) == (("ball", "opponent's paddle"), 2 / 4)
    assert ow.linked_sentence(per_step) == "Boxes joined most often: ball + opponent's paddle (50% of frames)."
    assert ow.linked_sentence([[("object 2", "object 2")]]) == "Boxes joined most often: two cells on object 2 (100% of frames)."
    assert ow.linked_objects([[(None, "ball")], [], None]) is None and ow.linked_sentence([None]) == ""
    tie = [[("ball", "paddle")], [("paddle", "wall")]]
    assert ow.linked_objects(tie)[0] == ("ball", "paddle")  # equal counts: the pair seen first


def test_end_card_interactions_line_comes_from_the_pairs_on_objects(pong_agent, monkeypatch):
    from rlviz.play.rollout import Step
    from rlviz.present import cards
    from rlviz.present.video import render_pass
    from rlviz.present.video.records import ExplainedStep
    from rlviz.util.gridstore import GridStore

    steps = [Step(t, None, 0, 0.0, 0.0, np.zeros(6), 0.0, False, 0) for t in range(4)]
    named = [[("ball", "opponent's paddle")], [("ball", "agent's paddle")], [("ball", "opponent's paddle")], []]
    records = {t: ExplainedStep(s, pair_objects=named[t]) for t, s in enumerate(steps)}
    lines, _ = render_pass.takeaways(pong_agent, steps, records, explain=("interactions",))
    assert "Boxes joined most often: ball + opponent's paddle (50% of frames)." in lines
    assert not any(line.startswith("Its weights link") for line in lines)
    store = GridStore()
    for r in records.values():  # where it looked too, and its picture: 3 + 10 + 6 words are required
        r.object_shares = {"saliency": {"opponent's paddle": 0.3, "agent's paddle": 0.1}}
        r.grids, r.grid_index = store, store.append(np.ones((2, 17, 17), np.float32))
    linked = "Boxes joined most often: ball + opponent's paddle (50% of frames)."  # 10 words
    looked = "Where it looked, on average: opponent's paddle 30%, agent's paddle 10%."  # 11: one of the two fits
    lines, _ = render_pass.takeaways(pong_agent, steps, records, explain=("saliency", "interactions"))
    assert lines[1:] == ["Moves: stay 100%.", linked]  # the panel's line is kept first in a video with the panel
    assert cards.card_words([cards.END_TITLE, cards.THUMB_LABEL, *lines]) <= cards.MAX_CARD_WORDS
    lines, _ = render_pass.takeaways(pong_agent, steps, records, explain=("saliency",))  # no panel: where it looked
    assert lines[1:] == [looked, "Moves: stay 100%."]
    for r in records.values():  # no pair named: the card falls back to the weights' strongest pair, in screen words
        r.pair_objects = [(None, None)]
    lines, _ = render_pass.takeaways(pong_agent, steps, records, explain=("interactions",))
    assert not any(line.startswith("Boxes joined") for line in lines)
    assert any(line.startswith("Its weights link") for line in lines)


@pytest.fixture
def few_steps_background(pong_agent, monkeypatch) -> np.ndarray:
    """The background from 8 steps of the agent's play, computed once (not cached): what the video reads."""
    bg = compute_background(pong_agent, steps=8, progress=False)
    monkeypatch.setattr(api, "video_background", lambda agent, progress: bg)
    return bg


def replayed_obs(agent, seed: int, n: int) -> list[np.ndarray]:
    env = env_for(agent)
    try:
        steps, _ = record(agent, env, seed=seed, frames=n, progress=False)
        return [obs for _, obs in replay_frames(env, steps, seed=seed, render=False)]
    finally:
        env.close()


def test_timeline_strip_and_end_card_agree_with_top_objects_on_the_same_maps(pong_agent, tmp_path, few_steps_background,
                                                                              monkeypatch):
    """Recomputed independently: each shown step's LRP map and objects give the timeline's top
    objects (rlviz.top_objects), and the end card's sentence is their mean over the steps. (An
    untrained net's shares are under 2%: the cut of the lines is lowered to see them.)"""
    monkeypatch.setattr(ow, "SHOWN_MINIMUM", 1e-4)
    result = api.make_video(pong_agent, tmp_path / "v.mp4", frames=16, explain="lrp", size=(640, 360), progress=False)
    bg = few_steps_background
    obs = replayed_obs(pong_agent, 0, 16)
    shown = [s for s in result.timeline["steps"] if s["shown"]]
    assert len(shown) == 16 and all("objects" in s for s in shown)
    assert result.timeline["relevance_method"] == VIDEO_DEFAULT
    with_objects = 0
    for k, step in enumerate(shown):
        objects = find_objects(obs[k], bg, "Pong")
        relevance = method_maps(pong_agent, obs[k][None], VIDEO_DEFAULT, bg)[0]  # the panel's map (docs/objects.md)
        want = [(n, s) for n, s in top_objects(relevance, objects, k=ow.TOP_K) if s >= ow.SHOWN_MINIMUM]
        got = [tuple(x) for x in step["objects"]["lrp"]["top"]]
        assert [n for n, _ in got] == [n for n, _ in want] and np.allclose([s for _, s in got], [s for _, s in want])
        with_objects += bool(got)
    assert with_objects > 0  # the test saw object lines, not only empty ones
    end = next(c for c in result.timeline["cards"] if c["kind"] == "end")
    sentence = ow.where_it_looked([s["objects"]["lrp"]["shares"] for s in shown], "lrp")
    assert sentence and sentence in end["lines"]
    assert not any("on average:" in line and line != sentence for line in end["lines"])


def test_a_caption_about_objects_follows_from_the_data(pong_agent, tmp_path, few_steps_background, monkeypatch):
    """Every object caption names the step's top object with the share the timeline holds, at
    or above the threshold (lowered here so that an untrained net's short video has some)."""
    monkeypatch.setattr(api, "object_captions", functools.partial(ow.object_captions, share=0.005, lead=1.0, run=2))
    result = api.make_video(pong_agent, tmp_path / "v.mp4", frames=16, explain="lrp", size=(640, 360), progress=False,
                            captions=True, title_cards=False)
    claims = 0
    for step in result.timeline["steps"]:
        m = re.fullmatch(r"Of the objects, (?:the )?(.+) weighs most in its move", step["caption"])
        if m is None:
            continue
        claims += 1
        top = step["objects"]["lrp"]["top"]
        name, share = top[0]
        assert m.group(1) == name and share >= 0.005
        assert len(top) == 1 or share >= top[1][1]
    assert claims > 0


def test_still_draws_the_object_line_of_its_map(pong_agent, tmp_path, few_steps_background, monkeypatch):
    from test_video import drawn_text

    boxes = drawn_text(monkeypatch)
    api.render_still(pong_agent, tmp_path / "s.png", step=20, explain="lrp", size=(960, 540))
    obs = replayed_obs(pong_agent, 0, 21)[20]
    objects = find_objects(obs, few_steps_background, "Pong")
    relevance = method_maps(pong_agent, obs[None], VIDEO_DEFAULT, few_steps_background)[0]
    top = [(n, s) for n, s in top_objects(relevance, objects, k=3) if s >= ow.SHOWN_MINIMUM]
    from rlviz.present.layout import compute_layout

    rect = compute_layout(960, 540, panels=("lrp",)).objects["lrp"]
    rows = [t for t, (x0, y0, x1, y1) in boxes if rect.x <= x0 and x1 <= rect.x + rect.w and rect.y <= y0 and y1 <= rect.y + rect.h]
    assert " ".join(rows) == (ow.looks_line(top, "lrp") if top else "")
