"""The pixel-flipping figure: 15 methods stay apart, and the figure redrawn from its JSON is the
figure of the measured reports (so `rlviz faithfulness --replot` needs no measuring)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from rlviz.assess.faithfulness import FaithfulnessReport
from rlviz.explain.registry import method_names
from rlviz.present.faithfulness_figures import (
    PALETTE,
    RANDOM_RGB,
    dashed_polyline,
    draw_flipping_curves,
    method_styles,
    replot_flipping,
)
from rlviz.util.errors import RlvizError


def test_every_registered_method_gets_its_own_colour_and_line_style():
    methods = [*method_names(), "random"]
    assert len(methods) >= 16
    styles = method_styles(methods)
    assert len(set(styles.values())) == len(methods)
    assert styles["random"] == (RANDOM_RGB, False)
    assert (240, 228, 66) not in {c for c, _ in styles.values()}  # yellow: invisible as a thin line on white
    assert all(c in PALETTE for m, (c, _) in styles.items() if m != "random")


def test_a_dashed_line_covers_on_over_on_plus_off_of_its_length():
    img = np.zeros((20, 200, 3), np.uint8)
    dashed_polyline(img, np.array([(0, 10), (60, 10), (120, 10)]), (255, 255, 255), 1, on=6.0, off=4.0)
    row = np.concatenate([[0], (img[10, :, 0] > 127).astype(int), [0]])
    starts, ends = np.flatnonzero(np.diff(row) == 1), np.flatnonzero(np.diff(row) == -1)
    # 120 px with a period of 10: 12 dashes starting every 10 px (across the vertex at x = 60),
    # each 6 px long, drawn with both end pixels (7 px)
    assert starts.tolist() == list(range(0, 120, 10))
    assert (ends - starts).tolist() == [7] * 12


def _report(output: str, n_frames: int, methods: list[str], seed: int) -> FaithfulnessReport:
    rng = np.random.default_rng(seed)
    curves = {kind: {m: np.cumsum(rng.standard_normal((n_frames, 17)), axis=1) for m in methods}
              for kind in ("deletion", "insertion")}
    return FaithfulnessReport(output=output, region=21, regions_per_step=1, deletion=curves["deletion"],
                              insertion=curves["insertion"], actions=np.zeros(n_frames, int))


@pytest.mark.parametrize("n_frames", [1, 5])  # one frame: no intervals (None in the JSON)
def test_replot_from_json_draws_the_figure_of_the_reports(tmp_path, n_frames):
    methods = [*method_names(), "lrp-epsilon-gamma-box@contrast", "random"]
    reports = {o: _report(o, n_frames, methods, k) for k, o in enumerate(("logit", "value"))}
    payload = {"agent": "tiny", "outputs": {o: r.to_dict() for o, r in reports.items()}}
    (tmp_path / "faithfulness.json").write_text(json.dumps(payload))
    png = cv2.imread(str(replot_flipping(tmp_path)))[..., ::-1]
    expected = draw_flipping_curves(reports, title="tiny: pixel flipping")
    assert np.array_equal(png, expected)
    styles = method_styles(methods)
    for m in ("sarfa", "lrp-zero"):  # a solid and a dashed method both show their colour in both panels
        hits = np.all(png[44:400] == styles[m][0], axis=-1)
        assert hits[:, 52:430].sum() > 5 and hits[:, 482:860].sum() > 5, m


def test_replot_without_a_json_is_one_line(tmp_path):
    with pytest.raises(RlvizError, match="faithfulness.json not found"):
        replot_flipping(tmp_path)
    (tmp_path / "faithfulness.json").write_text("{}")
    with pytest.raises(RlvizError, match="is not a faithfulness.json"):
        replot_flipping(tmp_path)
