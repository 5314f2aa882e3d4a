"""The interactions panel: numbered badges never overlap, and thickness visibly encodes strength."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rlviz.present.interaction_figures import (
    badge_positions,
    draw_interaction_pairs,
    line_width,
)


def test_badges_of_pairs_sharing_a_link_or_a_place_never_overlap():
    radius = 9
    same_link = [[(40, 40), (120, 40)]] * 3  # three pairs between the same two regions
    crossing = [[(40, 80), (120, 120)], [(40, 120), (120, 80)]]  # two links crossing at their middles
    one_place = [[(60, 150), (60, 150)]] * 2
    spots = badge_positions(same_link + crossing + one_place, radius)
    for i, p in enumerate(spots):
        for q in spots[i + 1:]:
            assert np.hypot(p[0] - q[0], p[1] - q[1]) >= 2 * radius, (p, q)
    assert spots[0] == (80, 40)  # the strongest keeps the middle of its link


def test_thickness_grows_visibly_with_strength():
    widths = [line_width(r, 2) for r in (0.0, 0.5, 1.0)]
    assert widths[0] == 1 and widths[2] >= 6 * widths[0] and widths[0] < widths[1] < widths[2]


def test_a_strong_link_is_drawn_thicker_than_a_weak_one():
    frame = np.zeros((100, 100, 3), np.uint8)
    pairs = [SimpleNamespace(strength=s, labels=("a", "b"), rgb_patches=[(5, y, 15, y + 10), (85, y, 95, y + 10)])
             for s, y in ((1.0, 10), (0.05, 70))]
    out = draw_interaction_pairs(frame, pairs, scale=2, legend=False, max_strength=1.0, palette=[(255, 255, 255)])
    column = out[:, 60].max(axis=1) > 60  # a vertical cut through both links, away from the badges
    strong, weak = column[:100].sum(), column[100:].sum()
    assert strong >= 3 * weak > 0, (strong, weak)
