"""The overlays against their formulas, written out in float64 numpy (an independent oracle)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rlviz.present import colormaps as cm


@pytest.fixture
def frame() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (530, 402, 3), dtype=np.uint8)


def reference_blend(image, alpha, colour, strength=0.85):
    a = np.clip(alpha.astype(np.float64), 0, 1)[..., None] * strength
    return image * (1 - a) + np.asarray(colour, np.float64) * a


def upscaled(values, h, w):  # the same pure scale of an 84x84 map as the renderer's
    return cv2.resize(values.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64)


def test_blend_is_the_linear_mix_towards_the_colour(frame):
    alpha = np.random.default_rng(2).uniform(-0.2, 1.2, frame.shape[:2])  # outside [0, 1] is clipped
    got = cm.blend(frame, alpha, cm.ACTOR_RGB)
    assert got.dtype == np.uint8 and got.shape == frame.shape
    assert np.abs(got - reference_blend(frame, alpha, cm.ACTOR_RGB)).max() <= 0.51  # rounding only


def test_saliency_overlay_fills_the_actor_over_dimmed_gray_and_outlines_the_critic(frame):
    rng = np.random.default_rng(3)
    actor = rng.random((84, 84)) * 2.0
    h, w = frame.shape[:2]
    a_alpha = np.sqrt(np.clip(upscaled(actor, h, w) / 1.5, 0, 1))
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.55 + 20
    expected = reference_blend(np.repeat(gray[..., None], 3, 2), a_alpha, cm.SALIENCY_ACTOR_RGB, 0.9)
    assert np.abs(cm.saliency_overlay(frame, actor, None, 1.5, 0.25) - expected).max() <= 1.01
    yy, xx = np.mgrid[0:84, 0:84]
    bump = 0.25 * np.exp(-((yy - 40) ** 2 + (xx - 44) ** 2) / (2 * 10.0**2))  # peaks at the full scale
    got = cm.saliency_overlay(frame, actor, bump, 1.5, 0.25)
    lines = np.abs(got.astype(int) - cm.saliency_overlay(frame, actor, None, 1.5, 0.25)).max(axis=2) > 0
    c = upscaled(bump, h, w) / 0.25
    near = np.zeros((h, w), bool)
    for level in cm.CRITIC_LEVELS:  # within 6 px of a level line (3 px wide line and its dark edge)
        inside = (c >= level).astype(np.uint8)
        near |= cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((13, 13), np.uint8)) > 0
    assert lines.sum() > 200 and near[lines].all()  # the critic draws its level lines and nothing else


def test_relevance_overlay_colours_by_sign_over_dimmed_gray(frame):
    rel = np.random.default_rng(4).standard_normal((84, 84))
    h, w = frame.shape[:2]
    v = np.clip(upscaled(rel, h, w) / 0.8, -1, 1)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.45 + 20
    colour = np.where(v[..., None] >= 0, np.asarray(cm.LRP_FOR_RGB, float), np.asarray(cm.LRP_AGAINST_RGB, float))
    a = np.sqrt(np.abs(v))[..., None] * 0.95
    expected = gray[..., None] * (1 - a) + colour * a
    got = cm.relevance_overlay(frame, rel, 0.8)
    assert np.abs(got - expected).max() <= 1.01  # the dimmed gray and the mix are rounded
    assert (got[v > 0.5][:, 0] > got[v > 0.5][:, 2]).all()  # strongly positive: red over blue
    assert (got[v < -0.5][:, 2] > got[v < -0.5][:, 0]).all()


@pytest.mark.parametrize("scale", [0.0, np.nan])
def test_a_zero_or_undefined_scale_leaves_the_frame_untinted(frame, scale):
    ones = np.ones((84, 84))
    gray55 = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.55 + 20
    assert np.abs(cm.saliency_overlay(frame, ones, ones, scale, scale) - gray55[..., None]).max() <= 0.51
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.45 + 20
    assert np.abs(cm.relevance_overlay(frame, ones, scale) - gray[..., None]).max() <= 0.51
