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


def test_saliency_overlay_tints_critic_then_actor(frame):
    rng = np.random.default_rng(3)
    actor, critic = rng.random((84, 84)) * 2.0, rng.random((84, 84)) * 0.5
    h, w = frame.shape[:2]
    a_alpha = np.sqrt(np.clip(upscaled(actor, h, w) / 1.5, 0, 1))
    c_alpha = np.sqrt(np.clip(upscaled(critic, h, w) / 0.25, 0, 1))
    expected = reference_blend(reference_blend(frame, c_alpha, cm.CRITIC_RGB), a_alpha, cm.ACTOR_RGB)
    got = cm.saliency_overlay(frame, actor, critic, 1.5, 0.25)
    assert np.abs(got - expected).max() <= 1.01  # two roundings, the first one attenuated


def test_relevance_overlay_colours_by_sign_over_dimmed_gray(frame):
    rel = np.random.default_rng(4).standard_normal((84, 84))
    h, w = frame.shape[:2]
    v = np.clip(upscaled(rel, h, w) / 0.8, -1, 1)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.45 + 20
    colour = np.where(v[..., None] >= 0, np.asarray(cm.POSITIVE_RGB, float), np.asarray(cm.NEGATIVE_RGB, float))
    a = np.sqrt(np.abs(v))[..., None] * 0.95
    expected = gray[..., None] * (1 - a) + colour * a
    got = cm.relevance_overlay(frame, rel, 0.8)
    assert np.abs(got - expected).max() <= 1.01  # the dimmed gray and the mix are rounded
    assert (got[v > 0.5][:, 0] > got[v > 0.5][:, 2]).all()  # strongly positive: red over blue
    assert (got[v < -0.5][:, 2] > got[v < -0.5][:, 0]).all()


@pytest.mark.parametrize("scale", [0.0, np.nan])
def test_a_zero_or_undefined_scale_leaves_the_frame_untinted(frame, scale):
    ones = np.ones((84, 84))
    np.testing.assert_array_equal(cm.saliency_overlay(frame, ones, ones, scale, scale), frame)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float64) * 0.45 + 20
    assert np.abs(cm.relevance_overlay(frame, ones, scale) - gray[..., None]).max() <= 0.51
