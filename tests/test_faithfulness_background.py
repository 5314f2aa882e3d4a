"""Pixel flipping with regions replaced by the agent's background (the empty playfield), and
the maps relative to that background reached by name (``rlviz faithfulness --replace background``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rlviz.assess.faithfulness as faithfulness
from rlviz.assess.faithfulness import (
    BACKGROUND_METHODS,
    REPLACEMENTS,
    available_methods,
    compute_maps,
    get_method,
    pixel_flipping,
    region_scores,
)
from rlviz.assess.objects import method_maps
from rlviz.explain.deeplift import deeplift
from rlviz.explain.integrated_gradients import integrated_gradients
from rlviz.explain.lrp import lrp
from rlviz.util.errors import RlvizError
from test_faithfulness import LinearPolicy, agent_for, objects_obs


def _background(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(84, 84), dtype=np.uint8)


def test_background_replacement_matches_the_closed_form_on_a_linear_model() -> None:
    net = LinearPolicy(seed=2)
    agent, obs, bg = agent_for(net), objects_obs(2, seed=4), _background()
    region = 21  # 16 regions
    ranking = np.random.default_rng(9).random((2, 84, 84)).astype(np.float32)
    report = pixel_flipping(agent, obs, methods=[], maps={"m": ranking}, region=region, replacement="background",
                            background=bg)
    x = torch.from_numpy(obs).double() / 255.0
    b = torch.from_numpy(bg).double()[None, None] / 255.0  # the same frame in every stack slot
    w = net.w.detach().double()
    # for a linear f, painting region r with the background changes f by d_r = sum_{p in r} w_p (x_p - bg_p)
    d = region_scores(((x - b) * w).sum(1).numpy(), region)
    order = np.argsort(-region_scores(ranking, region), axis=1)
    removed = np.concatenate([np.zeros((2, 1)), np.cumsum(np.take_along_axis(d, order, 1), 1)], 1)
    f0 = (x * w).sum((1, 2, 3)).numpy() + float(net.b.detach())
    assert np.allclose(report.deletion["m"], f0[:, None] - removed, atol=2e-4)
    assert np.allclose(report.insertion["m"], f0[:, None] - removed[:, -1:] + removed, atol=2e-4)
    # the fully deleted frame is the background itself
    f_bg = float((b.expand_as(x[:1]) * w).sum()) + float(net.b.detach())
    assert np.allclose(report.deletion["m"][:, -1], f_bg, atol=2e-4)
    assert report.replacement == REPLACEMENTS["background"] and report.to_dict()["replacement"] == report.replacement


def test_blur_stays_the_default_and_differs_from_the_background() -> None:
    agent, obs, bg = agent_for(LinearPolicy(seed=3)), objects_obs(1, seed=5), _background()
    maps = {"m": np.random.default_rng(1).random((1, 84, 84)).astype(np.float32)}
    blur = pixel_flipping(agent, obs, methods=[], maps=maps, region=21)
    removed = pixel_flipping(agent, obs, methods=[], maps=maps, region=21, replacement="background", background=bg)
    assert blur.replacement == REPLACEMENTS["blur"] and "blur" in blur.replacement
    assert not np.allclose(blur.deletion["m"], removed.deletion["m"])
    assert np.allclose(blur.deletion["m"][:, 0], removed.deletion["m"][:, 0])  # the same clean frame


def test_without_a_background_the_agents_own_is_used(monkeypatch) -> None:
    agent, obs, bg = agent_for(LinearPolicy()), objects_obs(1), _background(3)
    asked = []
    monkeypatch.setattr(faithfulness, "agent_background", lambda a: asked.append(a) or bg)
    maps = {"m": np.random.default_rng(2).random((1, 84, 84)).astype(np.float32)}
    own = pixel_flipping(agent, obs, methods=[], maps=maps, region=21, replacement="background")
    given = pixel_flipping(agent, obs, methods=[], maps=maps, region=21, replacement="background", background=bg)
    assert asked == [agent]
    assert np.array_equal(own.deletion["m"], given.deletion["m"])


def test_an_unknown_replacement_or_a_background_of_another_size_is_refused() -> None:
    agent, obs = agent_for(LinearPolicy()), objects_obs(1)
    with pytest.raises(RlvizError, match="replacement must be one of blur, background, got 'noise'"):
        pixel_flipping(agent, obs, methods=["random"], replacement="noise")
    with pytest.raises(RlvizError, match=r"one frame of shape \(84, 84\), got \(4, 84, 84\)"):
        pixel_flipping(agent, obs, methods=["random"], replacement="background",
                       background=np.zeros((4, 84, 84), np.uint8))


def test_background_methods_are_their_base_method_with_the_agents_background(pong_agent, random_obs, monkeypatch) -> None:
    bg = _background(11)
    monkeypatch.setattr(faithfulness, "agent_background", lambda a: bg)
    obs = random_obs[:2]
    expected = {
        "deeplift-background": deeplift(pong_agent, obs, "action", baseline=bg).sum(1),
        "integrated-gradients-background": integrated_gradients(pong_agent, obs, "action", baseline=bg).sum(1),
        "lrp-epsilon-gamma-reference": lrp(pong_agent, obs, composite="epsilon-gamma-reference", reference=bg).sum(1),
    }
    assert set(expected) == set(BACKGROUND_METHODS)
    for name, want in expected.items():
        got = compute_maps(pong_agent, obs, name, "action")
        assert got.shape == (2, 84, 84)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
        assert get_method(name).signed and get_method(name).uses_target
    # the video's relevance panel (rlviz.assess.objects.method_maps) is the same map
    for name in ("deeplift-background", "lrp-epsilon-gamma-reference"):
        np.testing.assert_allclose(compute_maps(pong_agent, obs, name), method_maps(pong_agent, obs, name, bg),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    # the value is explained against the background too: a different map
    assert not np.allclose(compute_maps(pong_agent, obs, "deeplift-background", "value"), expected["deeplift-background"])


def test_background_methods_are_reached_by_name_only_and_named_in_the_error() -> None:
    assert not set(BACKGROUND_METHODS) & set(available_methods())  # the default list computes no background
    with pytest.raises(RlvizError) as err:
        get_method("deeplift-backdrop")
    message = str(err.value)
    assert "unknown explanation method 'deeplift-backdrop'" in message
    assert all(name in message for name in BACKGROUND_METHODS)


def test_cli_faithfulness_replaces_regions_by_the_background(agent_dir, tmp_path, capsys, monkeypatch) -> None:
    from rlviz.cli import main

    bg = _background(5)
    asked = []
    monkeypatch.setattr(faithfulness, "agent_background", lambda a: asked.append(a.name) or bg)
    out = tmp_path / "f.json"
    code = main(["faithfulness", "--agent", str(agent_dir), "--frames", "2", "--region", "21", "--methods",
                 "deeplift-background,gradient-x-input", "--replace", "background", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "regions replaced by the agent's background (the empty playfield)" in printed
    assert "(deletion + insertion AOPC) / 2 of the logit, regions painted with the empty playfield" in printed
    report = json.loads(out.read_text())
    logit = report["outputs"]["logit"]
    assert logit["replacement"] == REPLACEMENTS["background"]
    assert set(logit["aopc"]) == {"deeplift-background", "gradient-x-input", "random"}
    assert asked and set(asked) == {"untrained-pong"}
    with pytest.raises(SystemExit) as refused:  # argparse names the two choices
        main(["faithfulness", "--agent", str(agent_dir), "--replace", "noise"])
    assert refused.value.code == 2 and "choose from 'blur', 'background'" in capsys.readouterr().err


def test_the_figure_says_what_a_removed_region_became(monkeypatch) -> None:
    from rlviz.present import faithfulness_figures as figures

    agent, obs, bg = agent_for(LinearPolicy()), objects_obs(1), _background()
    maps = {"m": np.random.default_rng(4).random((1, 84, 84)).astype(np.float32)}
    for replacement, words in (("blur", "the frame blurred with sigma 3"), ("background", "the empty playfield")):
        written: list[str] = []
        monkeypatch.setattr(figures, "_text", lambda img, text, *a, **k: written.append(text))
        report = pixel_flipping(agent, obs, methods=[], maps=maps, region=21, replacement=replacement, background=bg)
        figures.draw_flipping_curves(report)
        assert any(words in t for t in written), written
        other = "empty playfield" if replacement == "blur" else "blurred"
        assert not any(other in t for t in written)
