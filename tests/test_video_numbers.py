"""A video's numbers and words: one tally for every card and the strip, the --json timeline,
time to read each card, and names people understand."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest
from test_video import drawn_text

from rlviz.play.rollout import Step
from rlviz.present import cards
from rlviz.present.game_words import action_labels, plural, score_text
from rlviz.present.video.timeline import tally


def fake_steps(rewards: list[float], lives: list[int] | None = None, episodes: list[int] | None = None) -> list[Step]:
    out, score = [], 0.0
    for k, r in enumerate(rewards):
        if k and episodes and episodes[k] != episodes[k - 1]:
            score = 0.0
        score += r
        out.append(Step(k, None, 0, r, score, np.zeros(6, np.float32), 0.0, False, 0,
                        episodes[k] if episodes else 0, lives[k] if lives else 0))
    return out


def test_tally_words_are_grammatical_for_one_and_many():
    assert plural(1, "reward") == "1 reward" and plural(2, "reward") == "2 rewards"
    assert plural(1, "life") == "1 life" and plural(0, "life") == "0 lives"
    pong = tally(fake_steps([0, 1, 0, -1, 1, 1]), "Pong")
    assert pong.summary() == "Final score +2 in 6 moves: 3 points won, 1 lost."
    one = tally(fake_steps([0, 4, 0, 0], lives=[5, 5, 4, 4]), "Breakout")
    assert one.summary() == "Final score +4 in 4 moves: 1 reward won, 1 life lost."
    games = tally(fake_steps([1, 0, -1, 1], episodes=[0, 0, 1, 1]), "Pong")
    assert games.scores == [1.0, 0.0] and games.score == 0.0 and "2 games: +1, +0" in games.summary()


def test_pong_names_its_moves_and_shows_both_players_points():
    assert action_labels("Pong", ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]) == [
        "stay", "serve", "UP", "DOWN", "UP+serve", "DOWN+serve"]
    assert action_labels("Breakout", ["NOOP", "FIRE", "RIGHT", "LEFT"])[1] == "launch"
    assert action_labels("Qbert", ["NOOP", "UP"]) == ["stay", "UP"]
    assert score_text("Pong", 4, 5, 1) == "points: agent 5, opponent 1"
    assert score_text("SpaceInvaders", 485, 485, 0) == "score: 485"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_title_card_is_short_enough_to_read(n):
    for methods in combinations(("saliency", "lrp", "interactions"), n):
        lines = cards.title_lines(game="SpaceInvaders", agent="spaceinvaders-early", training="PPO for 10 million steps",
                                  methods=methods, score=-1234)
        assert cards.card_words(lines) <= cards.MAX_CARD_WORDS, (methods, lines)
        assert cards.card_seconds(lines) >= max(2.5, cards.card_words(lines) / 3)
    assert cards.card_seconds(["one two three"]) == 2.5


def scripted_rewards(monkeypatch, rewards: dict[int, float]) -> None:
    """Play as usual, then pretend the agent got ``rewards`` (step -> reward): the cards must
    tell exactly these. Replays check observations, not rewards, so the video still renders."""
    from rlviz.present.video import api

    record = api.record

    def with_rewards(*args, **kwargs):
        steps, cut = record(*args, **kwargs)
        score = 0.0
        for s in steps:
            s.reward = rewards.get(s.step, 0.0)
            score += s.reward
            s.score = score
        return steps, cut

    monkeypatch.setattr(api, "record", with_rewards)


def test_title_card_strip_end_card_and_timeline_tell_the_same_numbers(pong_agent, tmp_path, monkeypatch):
    from rlviz.present.video import make_video

    scripted_rewards(monkeypatch, {10: -1.0, 25: 1.0, 40: 1.0, 58: 1.0})
    boxes = drawn_text(monkeypatch)
    out = tmp_path / "v.json"
    # highlights: the clips end before the last point (step 58); the cards must still count it
    result = make_video(pong_agent, tmp_path / "v.mp4", frames=60, highlights=1, fps=10, size=(640, 360),
                        progress=False, timeline=out)
    data = json.loads(out.read_text())
    assert data == json.loads(json.dumps(result.timeline))
    t = data["tally"]
    assert (t["score"], t["won"], t["lost"], t["moves"]) == (2.0, 3, 1, 60)
    assert result.score == t["score"] == data["steps"][-1]["score"]
    kinds = [c["kind"] for c in data["cards"]]
    assert kinds[0] == "title" and kinds[-1] == "end" and "key-moment" in kinds
    title, end = data["cards"][0]["lines"], data["cards"][-1]["lines"]
    assert "Final score: +2." in title
    assert "Final score +2 in 60 moves: 3 points won, 1 lost." in end
    drawn = [text for text, _ in boxes]
    assert "Final score: +2." in drawn and "3 points won, 1 lost" in " ".join(" ".join(drawn).split())  # lines wrap
    assert not any("+1 " in text or text.endswith("+1.") for text in drawn if "score" in text.lower())
    for k in data["steps"]:  # the strip's numbers are the timeline's
        assert set(k) >= {"step", "score", "reward", "lives", "value", "action", "action_name", "action_label", "caption", "shown"}
    shown = [k for k in data["steps"] if k["shown"]]
    last = shown[-1]
    assert f"points: agent {sum(r['reward'] > 0 for r in data['steps'][: last['step'] + 1])}," in " ".join(drawn)
    for m in data["key_moments"]:
        assert set(m) == {"kind", "step", "text"}


def test_every_card_stays_long_enough_to_read(pong_agent, tmp_path, monkeypatch):
    from rlviz.present.video import make_video
    from rlviz.present.writer import read_video

    scripted_rewards(monkeypatch, {30: 1.0})
    out = tmp_path / "v.json"
    fps = 10
    result = make_video(pong_agent, tmp_path / "v.mp4", frames=40, highlights=1, fps=fps, size=(640, 360),
                        progress=False, timeline=out)
    data = json.loads(out.read_text())
    for card in data["cards"]:
        assert card["seconds"] >= 2.5 and card["seconds"] >= card["words"] / 3 - 1e-9, card
        assert card["words"] <= cards.MAX_CARD_WORDS, card
    game_frames = sum(3 if any(abs(k["step"] - m["step"]) <= 4 for m in data["key_moments"]) else 1
                      for k in data["steps"] if k["shown"])
    card_frames = sum(round(c["seconds"] * fps) for c in data["cards"])
    assert len(read_video(result.path)) == game_frames + card_frames


def test_video_json_from_the_command_line(agent_dir, tmp_path):
    from rlviz.cli import main

    out = tmp_path / "t.json"
    assert main(["video", "--agent", str(agent_dir), "--frames", "6", "--size", "640x360", "--quiet",
                 "--out", str(tmp_path / "v.mp4"), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["steps"]) == 6 and [c["kind"] for c in data["cards"]] == ["title", "end"]
    assert data["steps"][0]["action_label"] in action_labels("Pong", ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"])


def test_a_comparison_opens_with_a_title_card_and_ends_with_the_scores(pong_agent, tmp_path):
    from rlviz.present.video import make_comparison_video
    from rlviz.present.writer import read_video

    result = make_comparison_video([pong_agent, pong_agent], tmp_path / "c.mp4", frames=3, fps=10, size=(640, 360),
                                   progress=False, labels=["left one", "right one"])
    shown = result.timeline["cards"]
    assert [c["kind"] for c in shown] == ["title", "end"]
    assert "Left: left one." in shown[0]["lines"] and any(line.startswith("right one: Final score") for line in shown[1]["lines"])
    assert all(c["seconds"] >= max(2.5, c["words"] / 3) for c in shown)
    assert len(read_video(result.path)) == 3 + sum(round(c["seconds"] * 10) for c in shown)


def test_the_value_chart_has_labelled_axes_a_zero_line_and_one_range_for_the_video(monkeypatch):
    from rlviz.present.layout import (
        FrameRenderer,
        FrameView,
        Scales,
        compute_layout,
        nice_ticks,
        value_range,
    )

    lo, hi = value_range([0.5, 2.0])
    assert lo < 0 and hi > 2.0  # zero and every value are on the chart
    assert nice_ticks(-1.2, 3.1) == [-1.0, 0.0, 1.0, 2.0, 3.0]
    boxes = drawn_text(monkeypatch)
    lay = compute_layout(1280, 720, panels=("saliency",))
    renderer = FrameRenderer(lay, ["stay", "serve", "UP", "DOWN"], title="t", game="Breakout", lives=True,
                             value_range=(-1.5, 3.5))
    frames = []
    for history in (np.linspace(-1, 3, 200), np.full(200, 0.5)):  # very different windows, same value now
        history[-1] = 0.5
        boxes.clear()
        view = FrameView(rgb=np.zeros((210, 160, 3), np.uint8), step=199, action=0, probs=np.full(4, 0.25),
                         value=0.5, score=3, value_history=history, reward_history=np.zeros(200),
                         lives_history=[5] * 100 + [4] * 100, lives=4)
        frames.append(renderer.render(view, Scales()))
        drawn = [t for t, _ in boxes]
        assert {"-1", "0", "1", "2", "3", "now", "100", "150"} <= set(drawn), drawn
        assert "| life lost" in drawn
    left, top, right, bottom = renderer._chart_geometry()
    # one y range: the y axis (ticks, zero line) is drawn identically whatever the window holds,
    # and the current value sits at the same height
    assert np.array_equal(frames[0][top:bottom, left - 40 : left - 3], frames[1][top:bottom, left - 40 : left - 3])
    dot = [np.flatnonzero((f[top:bottom, right - 30 : right + 1] >= 245).all(-1).any(1)) for f in frames]
    assert dot[0].size and np.array_equal(dot[0], dot[1])


def test_a_title_card_never_says_minus_zero():
    """A score of -0.0 (a float sum can give one) is told as +0, as the end card tells it."""
    from rlviz.present.cards import title_lines

    lines = title_lines(game="Pong", agent="pong", training="", methods=("saliency",), score=-0.0)
    assert lines[-1] == "Final score: +0."
