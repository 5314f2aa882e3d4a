"""Any registered method as a video panel: its map is rlviz.attribute's, its colours the video's
palette, its legend names it, and a wrong name or option is one line."""

from __future__ import annotations

import numpy as np
import pytest
from test_video import check_texts, drawn_sizes, drawn_text

from rlviz.explain.registry import attribute, method_names
from rlviz.present import colormaps
from rlviz.present.layout import FrameRenderer, FrameView, Scales, compute_layout
from rlviz.present.video import make_video
from rlviz.util.errors import RlvizError

PANELS = ("deeplift:target=contrast", "gradient", "gradcam@contrast")


def test_method_panel_maps_equal_rlviz_attribute_on_the_replayed_observations(pong_agent):
    """The oracle: rlviz.attribute on the very observations the video shows, reduced as pixel
    flipping ranks them (signed: summed over the stack; unsigned: |.| summed), in batches
    with gaps, as highlights explain them."""
    from rlviz.play.rollout import env_for, replay_frames
    from rlviz.present.video.explain_pass import explain_steps
    from rlviz.present.video.play_pass import record
    from rlviz.present.video.render_pass import views as render_views

    env = env_for(pong_agent)
    try:
        steps, _ = record(pong_agent, env, seed=2, frames=8, progress=False)
        chosen = [1, 3, 4, 7]
        explained, _ = explain_steps(pong_agent, env, steps, chosen, ("lrp", "lrp-epsilon-gamma-box", *PANELS), seed=2,
                                     batch=3, progress=False)
        views = dict(render_views(pong_agent, env, steps, dict(zip(chosen, explained)), seed=2, captions=None, batch=3))
        observations = np.stack([obs for _, obs in replay_frames(env, steps, seed=2, render=False)])[chosen]
    finally:
        env.close()
    expected = {
        "deeplift:target=contrast": attribute(pong_agent, observations, "deeplift", "contrast").sum(axis=1),
        "gradient": np.abs(attribute(pong_agent, observations, "gradient")).sum(axis=1),
        "gradcam@contrast": attribute(pong_agent, observations, "gradcam", "contrast"),
    }
    assert sorted(views) == chosen
    for k in chosen:  # the built-in LRP panel and the same composite as a method panel: one map
        np.testing.assert_allclose(views[k].method_maps["lrp-epsilon-gamma-box"], views[k].relevance, rtol=1e-5, atol=1e-7)
    for n, k in enumerate(chosen):
        for name, maps in expected.items():
            np.testing.assert_allclose(views[k].method_maps[name], maps[n], rtol=1e-4, atol=1e-6 * np.abs(maps).max())
        assert explained[n].method_scales["gradient"] == pytest.approx(np.percentile(expected["gradient"][n], 99.5))


@pytest.mark.parametrize("bad", ["saliency,integrated-gradient", "smooth-grad"])
def test_an_unknown_method_is_one_line_listing_every_method(pong_agent, tmp_path, bad):
    with pytest.raises(RlvizError) as err:
        make_video(pong_agent, tmp_path / "x.mp4", explain=bad, progress=False)
    message = str(err.value)
    assert "\n" not in message
    assert all(name in message for name in ("saliency", "lrp", "interactions", *method_names()))


@pytest.mark.parametrize("bad, says", [
    ("deeplift:steps=4", "has no option steps"),
    ("saliency-actor:target=contrast", "has no target"),
    ("gradient:target=sideways", "target must be"),
    ("gradient:contrast", "OPTION=VALUE"),
    ("gradient,gradient", "named twice"),
])
def test_bad_method_options_are_refused_before_any_work(pong_agent, tmp_path, bad, says):
    from rlviz.present.video import render_still

    with pytest.raises(RlvizError, match=says):
        render_still(pong_agent, tmp_path / "x.png", explain=bad)
    assert not (tmp_path / "x.png").exists()


def test_a_comparison_refuses_method_panels_in_one_line(pong_agent, tmp_path):
    from rlviz.present.video import make_comparison_video

    with pytest.raises(RlvizError, match="make a video of each agent for gradcam"):
        make_comparison_video([pong_agent, pong_agent], tmp_path / "c.mp4", explain="saliency,gradcam", progress=False)


def _view(maps: dict[str, np.ndarray]) -> FrameView:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (210, 160, 3), dtype=np.uint8)
    return FrameView(rgb=rgb, step=9, action=2, probs=np.full(6, 1 / 6), value=0.3, score=1, method_maps=maps,
                     value_history=list(rng.random(10)), reward_history=[0.0] * 10)


def test_panels_use_the_video_palette_and_the_legend_names_the_method(monkeypatch):
    """A signed map is drawn exactly as the LRP panel draws relevance (red for, violet against),
    an unsigned one as the actor's saliency fill; each legend shows its method's name, its
    colour ends and the value at full colour."""
    texts = drawn_text(monkeypatch)
    lay = compute_layout(1280, 720, panels=PANELS)
    renderer = FrameRenderer(lay, ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"], title="t", game="Pong")
    rng = np.random.default_rng(0)
    maps = {name: rng.standard_normal((84, 84)).astype(np.float32) for name in PANELS}
    maps["gradient"] = np.abs(maps["gradient"])
    scales = Scales(methods={"deeplift:target=contrast": 2.0, "gradient": 0.5, "gradcam@contrast": 3.0})
    view = _view(maps)
    frame = renderer.render(view, scales)
    for name, rect in lay.panels.items():
        game = __import__("cv2").resize(view.rgb, (rect.w, rect.h), interpolation=0)  # INTER_NEAREST, as render
        want = (colormaps.relevance_overlay(game, maps[name], scales.methods[name]) if name.startswith("deeplift")
                else colormaps.saliency_overlay(game, np.abs(maps[name]), None, scales.methods[name], 1.0))
        np.testing.assert_array_equal(frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w], want, err_msg=name)
    for name, rect in lay.legends.items():
        method = name.split(":")[0].split("@")[0]
        inside = [t for t, (x0, y0, x1, y1) in texts if rect.x - 2 <= x0 and x1 <= rect.x + rect.w + 2 and rect.y <= y0 < rect.y + rect.h]
        assert method in inside, (name, inside)
        ends = ["against", "0", "for", "-2", "+2"] if name.startswith("deeplift") else ["0", "strongest"]
        assert all(e in inside for e in ends), (name, inside)
    titles = [t for t, _ in texts]
    assert "deeplift: why this move, not others" in titles and "gradcam: why this move, not others" in titles


@pytest.mark.parametrize("size", [(960, 540), (1280, 720)])
def test_method_panel_texts_never_overlap_and_none_is_small(size, monkeypatch):
    items = drawn_sizes(monkeypatch)
    panels = ("gradcam", "integrated-gradients:target=contrast", "saliency-critic")
    lay = compute_layout(*size, panels=panels)
    renderer = FrameRenderer(lay, ["stay", "serve", "UP", "DOWN", "UP+serve", "DOWN+serve"], title="Pong: agent 'pong'",
                             game="Pong")
    rng = np.random.default_rng(0)
    view = _view({p: rng.standard_normal((84, 84)) for p in panels})
    renderer.render(view, Scales(methods={panels[0]: 0.5, panels[1]: 1.23e-4, panels[2]: 45.6}))
    check_texts(items, size, panels)


def test_video_scales_of_a_method_panel_are_the_95th_percentile_of_frame_peaks():
    from rlviz.present.video.explain_pass import video_scales
    from rlviz.present.video.records import ExplainedStep

    peaks = [1.0 + k / 100 for k in range(99)] + [100.0]
    records = [ExplainedStep(step=None, method_scales={"gradient": v}) for v in peaks]
    assert video_scales(records).methods == {"gradient": pytest.approx(np.percentile(peaks, 95, method="higher"))}


def test_a_video_with_method_panels_decodes(pong_agent, tmp_path):
    from rlviz.present.writer import read_video

    result = make_video(pong_agent, tmp_path / "m.mp4", frames=3, explain="lrp,integrated-gradients:steps=4",
                        size=(960, 540), title_cards=False, progress=False)
    assert read_video(result.path).shape == (3, 540, 960, 3)


def test_cli_frame_with_an_unknown_method_is_one_line_and_exit_2(agent_dir, tmp_path, capsys):
    from rlviz.cli import main

    assert main(["frame", "--agent", str(agent_dir), "--explain", "integrated-gradients,deep-lift",
                 "--out", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown explanation(s) deep-lift" in err[0] and "deeplift" in err[0], err
    assert not (tmp_path / "f.png").exists()
