"""The report's map layers: every registered method can be one and holds exactly what
``rlviz.attribute`` returns for the rollout's frames; the layers are encoded in the videos'
colours (rlviz.present.colormaps), the critic as the videos' outlines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from report_case import STEPS, small_report

import rlviz
from rlviz.cli import main
from rlviz.explain.registry import method_names, registry
from rlviz.present import colormaps
from rlviz.present.method_panels import parse_method_panel
from rlviz.present.report import encode
from rlviz.present.report.build import parse_methods


def tile(folder, layer, step, w, h):
    img = Image.open(folder / "img" / layer / f"{step // encode.CHUNK}.png")
    x, y = encode.tile_origin(step, w, h)
    return np.asarray(img)[y : y + h, x : x + w]


def oracle_map(agent, obs, method):
    """One (N, 84, 84) map per observation, straight from the public API: per-frame maps summed
    over the stack, their magnitudes for methods ranked by magnitude."""
    maps = rlviz.attribute(agent, obs, method=method, target="action")
    if maps.ndim == 4:
        maps = np.abs(maps).sum(axis=1) if registry()[method].rank_by == "magnitude" else maps.sum(axis=1)
    return maps


@pytest.mark.parametrize("method", ["gradient", "integrated-gradients", "gradcam"])
def test_method_layer_holds_what_rlviz_attribute_returns(method):
    case = small_report()
    obs = np.stack(case.obs)
    layers = {ly["key"]: ly for ly in case.data["layers"]}
    for prefix, agent in (("", case.agent), ("b-", case.other)):
        layer = layers[prefix + method]
        assert layer["method"] == method and layer["who"] == (1 if prefix else 0)
        want = oracle_map(agent, obs, method)
        # the layer's one colour scale: the 95th percentile over frames of each frame's 99.5th percentile of |map|
        peaks = [np.percentile(np.abs(m), 99.5) for m in want]
        assert layer["scale"] == pytest.approx(np.percentile(peaks, 95, method="higher"), rel=1e-3)
        signed = parse_method_panel(method).signed  # as its video panel: Grad-CAM is never negative, a fill
        assert layer["palette"] == ("relevance" if signed else "actor")
        for k in range(STEPS):
            got = tile(case.folder, prefix + method, k, 84, 84).astype(int)
            levels = encode.relevance_levels if signed else encode.saliency_levels
            assert np.abs(got - levels(want[k], layer["scale"])).max() <= 1, (method, prefix, k)  # scale rounded to 4 digits


def test_all_means_every_registered_method_once():
    methods = parse_methods("all")
    assert methods[:2] == ("saliency", "lrp")
    # 'saliency' shows the first two, 'lrp' the default composite
    assert set(methods[2:]) == set(method_names()) - {"saliency-actor", "saliency-critic", "lrp-epsilon-gamma-box"}
    assert "lrp-epsilon-gamma-box" in parse_methods("lrp-epsilon-gamma-box")  # asked for by name, it is a layer
    assert len(set(methods)) == len(methods)
    assert parse_methods("lrp, gradient,lrp") == ("lrp", "gradient")


@pytest.mark.parametrize("argv", [["--methods", "saliency,nonsense"], ["--methods", ","]])
def test_unknown_method_is_refused_in_one_line(agent_dir, tmp_path, capsys, argv):
    code = main(["report", "--agent", str(agent_dir), "--out", str(tmp_path / "r"), "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rlviz: error:") and "unknown method" in err and "\n" not in err
    assert "integrated-gradients" in err  # it lists the choices
    out = tmp_path / "r"  # refused before anything is played or written (the output check may make the folder)
    assert not out.exists() or not any(out.iterdir())


def test_palettes_are_the_videos_colours_and_weights():
    rgb, alpha = encode.PALETTES["relevance"]
    assert tuple(rgb[3 * 255 : 3 * 256]) == colormaps.LRP_FOR_RGB and tuple(rgb[0:3]) == colormaps.LRP_AGAINST_RGB
    assert alpha[255] == round(255 * colormaps.RELEVANCE_STRENGTH) and alpha[encode.ZERO] == 0
    rgb, alpha = encode.PALETTES["actor"]
    assert tuple(rgb[:3]) == colormaps.SALIENCY_ACTOR_RGB and alpha[255] == round(255 * colormaps.ACTOR_STRENGTH)
    # a level on the page, drawn over a gray backdrop, is the video's blend of that pixel
    values = np.linspace(0, 1, 84 * 84, dtype=np.float32).reshape(84, 84)
    base = colormaps.dimmed_gray(np.full((84, 84, 3), 120, np.uint8), *colormaps.SALIENCY_BACKDROP)
    rgba = np.asarray(encode.palette_image(encode.saliency_levels(values, 1.0), "actor").convert("RGBA")).astype(float)
    a = rgba[..., 3:] / 255
    page = base * (1 - a) + rgba[..., :3] * a
    video = colormaps.blend(base, np.sqrt(values), colormaps.SALIENCY_ACTOR_RGB, colormaps.ACTOR_STRENGTH)
    assert np.abs(page - video).max() <= 2.5  # 256 levels against the video's continuous weight


def test_critic_layer_is_the_videos_outlines():
    case = small_report()
    layer = next(ly for ly in case.data["layers"] if ly["key"] == "sal-critic")
    assert layer["palette"] == "critic" and layer["tile"] == list(encode.MAP_SIZE)
    from rlviz.explain.perturbation import perturbation_saliency

    k = 5
    critic = perturbation_saliency(case.agent, case.obs[k][None]).critic[0]
    w, h = encode.MAP_SIZE
    rgba = tile(case.folder, "sal-critic", k, w, h).astype(float)
    base = colormaps.dimmed_gray(np.repeat(np.repeat(case.rgb[k], 2, 0), 2, 1), *colormaps.SALIENCY_BACKDROP)
    a = rgba[..., 3:] / 255
    page = base * (1 - a) + rgba[..., :3] * a
    video = colormaps.saliency_overlay(np.repeat(np.repeat(case.rgb[k], 2, 0), 2, 1), None, critic, 1.0, layer["scale"])
    assert (rgba[..., 3] > 0).mean() > 0.002  # there are lines to compare
    off = np.abs(page - video).max(axis=-1) > 4  # scale rounded to 4 digits, alpha to 8 bits
    assert off.mean() < 0.002  # and a contour pixel may flip where the map is within rounding of a level


def test_a_layer_is_coloured_as_its_video_panel(pong_agent):
    """Grad-CAM and meaningful perturbation are never negative: a red/violet layer would say
    'for the move' everywhere. The page colours each method as its video panel does."""
    from rlviz.present.method_panels import parse_method_panel
    from rlviz.present.report.build import _layers

    names = ("gradcam", "meaningful-perturbation", "integrated-gradients", "gradient")
    for layer in _layers(pong_agent, None, ("saliency", *names), all_actions=False):
        if layer.method in names:
            want = "relevance" if parse_method_panel(layer.method).signed else "actor"
            assert layer.palette == want, layer.method
