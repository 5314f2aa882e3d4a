"""rlviz bench's table: every timed figure with its range, the busy warning on top, and what
to pass for the figures it did not measure."""

from __future__ import annotations

import json

from rlviz.bench import BenchResult, to_json
from rlviz.util.timing import Spread


def result(warning=None, video=None) -> BenchResult:
    spreads = {
        "ceiling": Spread.of([40.0, 50.0, 45.0]), "saliency": Spread.of([44.0, 55.0, 50.0]),
        "plain": Spread.of([30.0, 32.0, 31.0]), "original": Spread.of([1.5, 2.0, 1.8]),
        "saliency / ceiling": Spread.of([110.0, 110.0, 111.1]), "plain / ceiling": Spread.of([75.0, 64.0, 68.9]),
        "saliency / original": Spread.of([29.3, 27.5, 27.8]), "lrp epsilon": Spread.of([900.0, 1100.0, 1000.0]),
    }
    if video:
        spreads["video"] = Spread.of(video)
    return BenchResult(device="cpu", machine="x86_64, 2 cores", torch="2", threads=2, passes_per_frame=290,
                       ceiling_samples_per_s=45.0 * 290, ceiling_batch=256, ceiling_layout="contiguous",
                       saliency_fps=50.0, kernel_ceiling_samples_per_s=None, plain_saliency_fps=31.0, original_fps=1.8,
                       lrp_fps={"epsilon": 1000.0}, video_fps=spreads["video"].median if video else None,
                       spreads=spreads, load_average=(0.4, 0.6), warning=warning)


def test_every_timed_figure_shows_its_range():
    table = result().table()
    for text in ("45.00 frames/s (range 40.00-50.00)", "50.00 frames/s (range 44.00-55.00)",
                 "110% (range 110-111%)", "rlviz is 27.8x faster (range 27.5-29.3x)", "1,000 frames/s (range 900-1,100)",
                 "load average 0.4, 0.6"):
        assert text in table, text


def test_unmeasured_figures_say_which_option_measures_them():
    table = result().table()
    assert "--video-frames N" in table and "--memory 1000,10000" in table
    measured = result(video=[9.0, 10.0, 9.5]).table()
    assert "9.50 frames/s end to end (range 9.00-10.00)" in measured and "--video-frames N" not in measured


def test_the_busy_warning_comes_first_and_reaches_the_json():
    r = result(warning="warning: the machine looks busy: x")
    assert r.table().splitlines()[0] == "warning: the machine looks busy: x"
    data = json.loads(to_json(r))
    assert data["warning"].startswith("warning") and data["spreads"]["saliency"]["low"] == 44.0
