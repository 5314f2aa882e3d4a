"""Videos: layout geometry, files that decode, and videos that survive Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rlviz.present.layout import MIN_TEXT, compute_layout
from rlviz.present.video import make_video
from rlviz.present.writer import VideoWriter, read_video
from rlviz.util.errors import RlvizError


@pytest.mark.parametrize("size", [(1280, 720), (960, 540), (1920, 1080)])
@pytest.mark.parametrize("panels", [("saliency",), ("saliency", "lrp")])
def test_layout_keeps_every_box_inside_the_frame_without_overlap(size, panels):
    lay = compute_layout(*size, panels=panels)
    assert all(r.inside(*size) for r in lay.rects())
    boxes = list(lay.panels.values())
    for a in boxes:
        assert a.x + a.w <= lay.strip.x  # game panels never run under the side strip
        assert abs(a.w / a.h - 160 / 210) < 0.02
    for a, b in zip(boxes, boxes[1:]):
        assert a.x + a.w <= b.x


FULL_ACTIONS = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT", "UPFIRE",
                "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE"]


def drawn_text(monkeypatch) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Collects the box of every text drawn from now on."""
    from rlviz.present.text import TextLayer

    boxes: list[tuple[str, tuple[int, int, int, int]]] = []
    draw = TextLayer.draw
    monkeypatch.setattr(TextLayer, "draw", lambda self, frame: (boxes.extend(self.boxes()), draw(self, frame))[1])
    return boxes


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def drawn_sizes(monkeypatch) -> list[tuple[str, tuple[int, int, int, int], int]]:
    """(text, box, font size) of every text drawn from now on."""
    from rlviz.present.text import TextLayer

    items: list = []
    draw = TextLayer.draw

    def record(self, frame):
        items.extend((text, box, item[2]) for (text, box), item in zip(self.boxes(), self.items))
        return draw(self, frame)

    monkeypatch.setattr(TextLayer, "draw", record)
    return items


@pytest.mark.parametrize("size", [(640, 360), (960, 540), (1280, 720), (1920, 1080)])
@pytest.mark.parametrize("panels", [("saliency",), ("saliency", "lrp"), ("saliency", "lrp", "interactions")])
def test_no_two_texts_overlap_and_none_is_small(size, panels, monkeypatch):
    """Every text of a busy frame (the static parts included) has its own place, and none is
    under 14 px at 720p (scaled with the frame's height)."""
    from rlviz.present.layout import FrameRenderer, FrameView, Scales

    items = drawn_sizes(monkeypatch)
    if size == (640, 360) and len(panels) == 3:  # 106 px panels: refused (test_a_size_too_small_for_its_text_is_refused)
        return
    lay = compute_layout(*size, panels=panels)
    renderer = FrameRenderer(lay, ["stay", "serve", "UP", "DOWN", "UP+serve", "DOWN+serve"],
                             title="SpaceInvaders: agent 'spaceinvaders'",  # the longest title of the bundled agents
                             subtitle="PPO, 2.8M training steps, mean score +518.5", game="Pong", lives=True,
                             value_range=(-1.5, 2.0))
    rng = np.random.default_rng(0)
    rewards = np.zeros(200)
    rewards[[40, 120]] = 1.0, -1.0
    view = FrameView(rgb=np.zeros((210, 160, 3), np.uint8), step=199, action=2, probs=rng.dirichlet(np.ones(6)),
                     value=-1.23, score=-12, actor=rng.random((84, 84)), critic=rng.random((84, 84)),
                     relevance=rng.standard_normal((84, 84)), pairs=[], value_history=list(rng.random(200)),
                     reward_history=list(rewards), lives_history=[3] * 150 + [2] * 50, points=(10, 21),
                     caption="Its value estimate drops sharply: it expects to lose a point", lives=2,
                     object_lines={"saliency": "looks at: opponent's paddle 62%, agent's paddle 21%, ball 9%",
                                   "lrp": "relevance on: opponent's paddle 62%, agent's paddle 21%, ball 9%",
                                   "interactions": "1: opponent's paddle + agent's paddle"})
    static = list(items)  # the titles, legends and headings, drawn once
    assert static
    for n in (200, 110):  # a full chart, and one whose "now" is not yet at the right edge
        items[:] = static
        view.step, view.value_history = n - 1, view.value_history[:n]
        view.reward_history, view.lives_history = view.reward_history[:n], view.lives_history[:n]
        renderer.render(view, Scales(actor=1.23e-4, critic=123.4, relevance=1.23e-5))
        check_texts(items, size, panels)


def test_a_size_too_small_for_its_text_is_refused_in_one_line():
    """At 640x360 three panels would be 106 px wide: their legends cannot hold MIN_TEXT px text."""
    with pytest.raises(RlvizError, match=r"^at 640x360 each of 3 panels would be \d+ px wide.*fewer --explain methods$"):
        compute_layout(640, 360, panels=("saliency", "lrp", "interactions"))
    assert compute_layout(640, 360, panels=("saliency", "lrp")).panels["lrp"].w >= 150
    assert compute_layout(960, 540, panels=("saliency", "lrp", "interactions")).panels["interactions"].w >= 150


def check_texts(items, size, panels) -> None:
    smallest = max(MIN_TEXT, 14 * size[1] / 720)  # 14 px at 720p, never under MIN_TEXT at small sizes
    for text, _, fs in items:
        assert fs >= smallest - 0.5, (text, fs, size)
    boxes = [(t, b) for t, b, _ in items]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            assert not overlap(a, b), (ta, tb, a, b, size, panels)


@pytest.mark.parametrize("size", [(640, 360), (960, 540), (1280, 720)])
@pytest.mark.parametrize("n_actions", [4, 6, 18])
def test_every_text_stays_inside_its_box(size, n_actions, monkeypatch):
    from rlviz.present.layout import FrameRenderer, FrameView, Scales

    boxes = drawn_text(monkeypatch)
    lay = compute_layout(*size, panels=("saliency", "lrp") if size == (640, 360) else ("saliency", "lrp", "interactions"))
    names = FULL_ACTIONS[:n_actions]
    warning = "UNTRAINED network (random weights): the maps show what an untrained net reacts to"
    renderer = FrameRenderer(lay, names, title="spaceinvaders-early", subtitle="PPO, 10.0M steps", warning=warning)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(n_actions))
    chosen = int(np.argmin(probs))  # the least likely move, so it must be shown even when few rows fit
    view = FrameView(rgb=np.zeros((210, 160, 3), np.uint8), step=123456, action=chosen, probs=probs, value=-123.45,
                     score=-99999, actor=rng.random((84, 84)), critic=rng.random((84, 84)),
                     relevance=rng.standard_normal((84, 84)), pairs=[], value_history=list(rng.random(200)),
                     reward_history=[0.0] * 200, caption="Its value estimate drops sharply: it expects to lose a life",
                     lives=5)
    renderer.render(view, Scales(actor=1.23e-4, critic=123.4, relevance=1.23e-5))
    width, height = size
    s = lay.strip
    for text, (left, top, right, bottom) in boxes:
        assert 0 <= left and right <= width and 0 <= top and bottom <= height, (text, size)
        if left >= s.x and top >= s.y:  # drawn in the side strip: stays in it
            assert right <= s.x + s.w and bottom <= s.y + s.h, (text, size, s)
    header = [b for _, b in boxes if b[3] <= lay.header.y + lay.header.h]
    assert len(header) == 4 and not any(overlap(a, b) for i, a in enumerate(header) for b in header[i + 1:])
    strip = [b for _, b in boxes if b[0] >= s.x and b[1] >= s.y]
    assert not any(overlap(a, b) for i, a in enumerate(strip) for b in strip[i + 1:])
    labels = [t for t, _ in boxes if t in names]
    assert names[chosen] in labels and len(labels) == len(set(labels))
    if size == (1280, 720) or n_actions <= 6:
        assert len(labels) == n_actions  # every move has its bar where there is room


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
@pytest.mark.parametrize("panels", [("saliency",), ("saliency", "lrp", "interactions")])
def test_comparison_text_stays_in_its_agents_column(size, panels, monkeypatch):
    from rlviz.present.compare_layout import CompareRenderer
    from rlviz.present.layout import FrameView, Scales

    items = drawn_sizes(monkeypatch)
    names = FULL_ACTIONS[:6]
    renderer = CompareRenderer(*size, ["pong-early (1.0M steps)", "pong (6.0M steps)"], [names, names], panels, "pong-early vs pong")
    view = FrameView(rgb=np.zeros((210, 160, 3), np.uint8), step=12345, action=5, probs=np.full(6, 1 / 6), value=-12.34,
                     score=-9999, actor=np.ones((84, 84)), critic=np.ones((84, 84)), relevance=np.ones((84, 84)), pairs=[])
    renderer.render([view, view], [Scales(), Scales()], ["", "game over"])
    check_texts(items, size, panels)  # none under 14 px at 720p or MIN_TEXT px at any size, no two overlap
    boxes = [(t, b) for t, b, _ in items]
    width, height = size
    per_column = [t for t in boxes if t[1][1] > renderer.header and t[0].startswith(("chose", "value", "game over"))]
    assert len(per_column) == 5
    for text, (left, top, right, bottom) in boxes:
        assert 0 <= left and right <= width and 0 <= top and bottom <= height, text
    for text, (left, top, right, bottom) in per_column:
        x0 = renderer.columns[0 if left < width // 2 else 1]
        assert x0 <= left and right <= x0 + renderer.col_w, (text, size, panels)


def test_cards_keep_their_text_inside_the_frame(monkeypatch):
    from rlviz.present.cards import end_card, title_card, title_lines

    items = drawn_sizes(monkeypatch)
    long = "The agent looked most at the bottom left while choosing, and at the top centre while judging. " * 3
    for width, height in [(640, 360), (1280, 720)]:
        items.clear()
        title_card(width, height, title_lines(game="SpaceInvaders", agent="spaceinvaders", training="PPO, 10.0M steps",
                                              methods=("saliency", "lrp", "interactions"), score=1234))
        end_card(width, height, takeaways=[long, "Final score +1234 after 4000 moves."], rgb=np.zeros((210, 160, 3), np.uint8))
        boxes = [(t, b) for t, b, _ in items]
        assert boxes and all(0 <= l and r <= width and 0 <= t and b <= height for _, (l, t, r, b) in boxes), (width, boxes)
        assert all(fs >= max(MIN_TEXT, 14 * height / 720) - 0.5 for _, _, fs in items), (width, items)


def test_layout_refuses_odd_sizes():
    with pytest.raises(ValueError, match="even"):
        compute_layout(1279, 720)


def test_written_video_decodes_with_expected_frames_and_size(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "v.mp4", frames=12, size=(960, 540), title_cards=False, progress=False)
    frames = read_video(result.path)
    assert result.frames == 12 and frames.shape == (12, 540, 960, 3)
    assert frames.std() > 5  # not a blank video


def test_title_and_end_cards_add_their_frames(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "v.mp4", frames=4, size=(640, 360), fps=10, progress=False)
    frames = read_video(result.path)
    card_frames = [round(c["seconds"] * 10) for c in result.timeline["cards"]]
    assert len(card_frames) == 2 and min(card_frames) >= 25  # two cards of at least 2.5 s at 10 fps
    assert frames.shape[0] == 4 + sum(card_frames)


def test_a_gif_video_keeps_the_size_asked_for(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "v.gif", frames=4, size=(960, 540), title_cards=False, progress=False)
    assert read_video(result.path).shape[1:3] == (540, 960)


def test_gif_output_decodes(tmp_path):
    with VideoWriter(tmp_path / "a.gif", fps=30) as w:
        for k in range(8):
            w.write(np.full((360, 640, 3), 30 * k, np.uint8))
    frames = read_video(tmp_path / "a.gif")
    assert frames.shape[0] == 4 and frames.shape[1:3] == (360, 640)  # 30 fps -> 15 fps


def test_unwritable_output_fails_before_any_work(pong_agent, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RlvizError, match="cannot"):
        make_video(pong_agent, blocker / "v.mp4", frames=5, progress=False)
    with pytest.raises(RlvizError, match=".mp4 or .gif"):
        make_video(pong_agent, tmp_path / "v.avi", frames=5, progress=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_during_a_video_leaves_a_playable_file(agent_dir, tmp_path, sig):
    out = tmp_path / "cut.mp4"
    err = open(tmp_path / "stderr.txt", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlviz.cli", "video", "--agent", str(agent_dir), "--frames", "3000", "--episodes", "4",
         "--batch", "4", "--size", "640x360", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=err, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as a shell starts a background job
    )
    deadline = time.time() + 400  # on a loaded machine, playing alone can take minutes: a signal
    while time.time() < deadline and proc.poll() is None:  # while playing explains all steps played
        done = re.findall(r"explaining.*?\| *(\d+)/\d+", (tmp_path / "stderr.txt").read_text())
        if done and int(done[-1]) >= 8:
            break
        time.sleep(0.5)
    try:
        assert proc.poll() is None, "the video finished before it could be interrupted"
        proc.send_signal(sig)
        stdout, _ = proc.communicate(timeout=120)
    finally:  # a failed run leaves no video process behind to slow down the rest of the suite
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (tmp_path / "stderr.txt").read_text()[-2000:]
    assert str(out) in stdout and "interrupted" in stdout
    frames = read_video(out)
    assert 8 <= frames.shape[0] < 3000 and frames.shape[1:] == (360, 640, 3)


def test_comparison_starts_both_agents_from_the_same_emulator_state(pong_agent, tmp_path):
    import torch

    from rlviz.agents.agent import Agent
    from rlviz.agents.networks import NatureActorCritic
    from rlviz.play.rollout import checksum, env_for
    from rlviz.present.video import make_comparison_video

    torch.manual_seed(5)
    other = Agent(NatureActorCritic(6), env_spec=pong_agent.env_spec, action_names=pong_agent.action_names, metadata={"name": "other"})
    first = []
    for agent in (pong_agent, other):
        env = env_for(agent)  # as make_comparison_video builds it, then play() resets with the seed
        obs, _ = env.reset(seed=11)
        first.append((checksum(np.asarray(obs)), env.unwrapped.ale.getRAM().tobytes()))
        env.close()
    assert first[0] == first[1]
    result = make_comparison_video([pong_agent, other], tmp_path / "cmp.mp4", frames=6, seed=11, size=(640, 360), progress=False,
                                  title_cards=False)
    assert read_video(result.path).shape == (6, 360, 640, 3)


def test_still_frame_is_a_png_of_the_requested_size(pong_agent, tmp_path):
    import imageio.v2 as imageio

    from rlviz.present.video import render_still

    path = render_still(pong_agent, tmp_path / "still.png", step=5, size=(960, 540))
    assert imageio.imread(path).shape == (540, 960, 3)
    with pytest.raises(RlvizError, match="PNG"):
        render_still(pong_agent, tmp_path / "still.jpg", step=1)


def test_highlights_video_cuts_clips_around_key_moments(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "h.mp4", frames=120, highlights=1, fps=10, size=(640, 360),
                        title_cards=False, progress=False)
    assert len(result.moments) == 1
    assert result.frames <= 26  # 1.5 s before and 1 s after the key step at 10 fps


def test_interactions_panel_video_draws_pairs_for_each_frame(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "i.mp4", frames=5, explain="saliency,interactions", size=(960, 540),
                        title_cards=False, progress=False)
    assert read_video(result.path).shape == (5, 540, 960, 3)
    assert result.scales["actor"] > 0


def test_unknown_explanation_is_refused(pong_agent, tmp_path):
    with pytest.raises(RlvizError, match="choose from saliency, lrp, interactions"):
        make_video(pong_agent, tmp_path / "x.mp4", explain="saliency,gradcams", progress=False)


def test_lrp_panel_video_decodes_and_uses_one_relevance_scale(pong_agent, tmp_path):
    result = make_video(pong_agent, tmp_path / "l.mp4", frames=4, explain="saliency,lrp", size=(960, 540),
                        title_cards=False, progress=False)
    assert read_video(result.path).shape == (4, 540, 960, 3)
    assert np.isfinite(result.scales["relevance"]) and result.scales["relevance"] > 0


def test_colour_legend_values_match_the_data_range(pong_agent, tmp_path):
    from rlviz.present.layout import FrameRenderer, Scales
    from rlviz.present.video.explain_pass import video_scales
    from rlviz.present.video.records import ExplainedStep
    from rlviz.util.gridstore import GridStore

    store = GridStore()
    grids = [np.full((17, 17), v) for v in (0.5, 2.0)]
    records = [ExplainedStep(step=None, grids=store, grid_index=store.append(np.stack([g, 3 * g])), relevance_scale=r)
               for g, r in zip(grids, (1.5, 4.0))]
    scales = video_scales(records)
    assert (scales.actor, scales.critic, scales.relevance) == (2.0, 6.0, 4.0)  # in a short video: the largest value
    # in a long one, the 95th percentile of the frames' peaks: one outlier frame saturates
    peaks = [1.0 + k / 100 for k in range(99)] + [100.0]
    many = [ExplainedStep(step=None, grids=store, grid_index=store.append(np.stack([np.full((17, 17), v)] * 2)),
                          relevance_scale=v) for v in peaks]
    robust = video_scales(many)
    expected = np.percentile(peaks, 95, method="higher")  # 1.95
    assert robust.actor == pytest.approx(expected, rel=1e-6) and robust.relevance == pytest.approx(expected, rel=1e-6)
    renderer = FrameRenderer(compute_layout(1280, 720, panels=("saliency", "lrp")), ["NOOP", "FIRE"], title="t")
    # printed as the output changes sqrt(2 S) they stand for: sqrt(4); sqrt(2*.2*6), sqrt(2*.5*6)
    assert renderer.legend_values(scales) == {"saliency": ["scores move 2", "value moves 1.5/2.4"],
                                              "lrp": ["-4", "move score per pixel", "+4"]}
    assert renderer.legend_values(Scales(actor=0.00123)) ["saliency"][0] == "scores move .05"  # sqrt(2 * 0.00123) = 0.0496


def test_imported_agents_are_not_labelled_untrained(pong_agent):
    from rlviz.present.video.records import agent_label, training_text

    assert "UNTRAINED" in agent_label(pong_agent)[2]
    pong_agent.metadata["source"] = {"format": "sb3", "algorithm": "PPO"}
    title, subtitle, warning = agent_label(pong_agent)
    assert warning == "" and "imported from sb3" in subtitle and "sb3" in training_text(pong_agent)


def test_highlight_clips_cut_short_by_ctrl_c_still_render(pong_agent, tmp_path, monkeypatch):
    """Ctrl-C while explaining leaves key moments without explained frames; the frames that
    were explained are still written."""
    import rlviz.present.video.explain_pass as explain_pass

    real = explain_pass._explain_batch
    calls = {"n": 0}

    def interrupt_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(explain_pass, "_explain_batch", interrupt_on_second_batch)
    result = make_video(pong_agent, tmp_path / "cut.mp4", frames=200, highlights=3, fps=10, size=(640, 360),
                        title_cards=False, batch=4, progress=False)
    assert result.interrupted and result.frames >= 4
    assert read_video(result.path).shape[1:] == (360, 640, 3)


def test_ctrl_c_while_writing_keeps_the_frames_written_so_far(pong_agent, tmp_path, monkeypatch):
    """Ctrl-C in the third pass (drawing and writing) closes the file with the frames already
    written, skips the end card and reports the cut, instead of losing the video."""
    import rlviz.present.video.render_pass as render_pass

    real = render_pass.views

    def interrupted_after_three(*args, **kwargs):
        for n, item in enumerate(real(*args, **kwargs)):
            if n == 3:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(render_pass, "views", interrupted_after_three)
    try:
        result = make_video(pong_agent, tmp_path / "cut.mp4", frames=6, fps=10, size=(640, 360), title_cards=True,
                            progress=False)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while writing escaped make_video: the video is lost")
    assert result.interrupted and result.frames == 3
    (title,) = result.timeline["cards"]  # the title card only: no end card after a cut
    assert title["kind"] == "title"
    assert read_video(result.path).shape == (round(title["seconds"] * 10) + 3, 360, 640, 3)  # title card + 3 frames


def test_comparison_cut_short_on_the_second_agent_shows_the_first(pong_agent, tmp_path, monkeypatch):
    import rlviz.present.video.api as video

    real = video.explain_steps
    calls = {"n": 0}

    def interrupt_second_agent(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            return [], True
        return real(*args, **kwargs)

    monkeypatch.setattr(video, "explain_steps", interrupt_second_agent)
    result = video.make_comparison_video([pong_agent, pong_agent], tmp_path / "cmp.mp4", frames=5, size=(640, 360), progress=False)
    assert result.interrupted and result.frames == 5


def test_bad_sizes_and_steps_are_one_line_errors(pong_agent, tmp_path):
    from rlviz.present.video import make_comparison_video, render_still

    with pytest.raises(RlvizError, match="at least 640x360"):
        make_video(pong_agent, tmp_path / "s.mp4", size=(320, 200), progress=False)
    with pytest.raises(RlvizError, match="even"):
        make_comparison_video([pong_agent, pong_agent], tmp_path / "c.mp4", size=(1281, 720), progress=False)
    with pytest.raises(RlvizError, match="--step must be 0 or more"):
        render_still(pong_agent, tmp_path / "x.png", step=-1)


def test_views_batch_lrp_yet_give_each_frame_its_own_map_and_history(pong_agent):
    """The render pass computes LRP for several frames at once: every view must still carry
    the map of its own observation, and the value history up to its own step."""
    from rlviz.explain.lrp import lrp
    from rlviz.play.rollout import env_for, replay_frames
    from rlviz.present.video.explain_pass import explain_steps
    from rlviz.present.video.play_pass import record
    from rlviz.present.video.render_pass import views as render_views

    env = env_for(pong_agent)
    try:
        steps, _ = record(pong_agent, env, seed=3, frames=12, progress=False)
        chosen = [1, 2, 4, 5, 6, 9, 11]  # gaps, as in highlights, and a last batch that is not full
        explained, _ = explain_steps(pong_agent, env, steps, chosen, ("lrp",), seed=3, progress=False)
        records = dict(zip(chosen, explained))
        views = list(render_views(pong_agent, env, steps, records, seed=3, captions=None, batch=3))
        observations = [obs for _, obs in replay_frames(env, steps, seed=3, render=False)]
    finally:
        env.close()
    assert [k for k, _ in views] == chosen
    for k, view in views:
        np.testing.assert_allclose(view.relevance, lrp(pong_agent, observations[k])[0].sum(axis=0), rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(view.value_history, [s.value for s in steps[: k + 1]])
        assert view.step == steps[k].step and view.rgb.shape == (210, 160, 3)


def test_highlights_with_no_key_moment_show_every_step_played(pong_agent, tmp_path, monkeypatch):
    """A stretch too short for any key moment is shown whole, not refused as 'interrupted'."""
    import rlviz.present.video.api as api

    monkeypatch.setattr(api.moments, "key_moments", lambda *a, **k: [])
    result = make_video(pong_agent, tmp_path / "short.mp4", frames=4, highlights=2, fps=10, size=(640, 360),
                        title_cards=False, progress=False)
    assert not result.interrupted and result.frames == 4
    assert read_video(result.path).shape[0] == 4
