"""Timing on a shared machine: interleaved rounds, median and range, and the busy warning."""

from __future__ import annotations

import pytest

from rlviz.util.timing import Spread, busy_warning, time_in_rounds


def test_spread_is_the_median_and_the_extremes():
    s = Spread.of([3.0, 1.0, 10.0, 2.0, 4.0])
    assert (s.median, s.low, s.high, s.rounds) == (3.0, 1.0, 10.0, 5)
    assert s.relative_range == pytest.approx(9.0 / 3.0)
    assert s.text(".1f", " frames/s") == "3.0 frames/s (range 1.0-10.0 frames/s over 5 rounds)"
    assert "no range" in Spread.of([2.0]).text()


def test_rounds_interleave_the_paths():
    calls = []
    times = time_in_rounds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # a warm-up call each, then a, b in every round
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    with pytest.raises(ValueError):
        time_in_rounds({"a": lambda: None}, rounds=0)


def test_busy_warning_fires_on_a_wide_spread_or_a_high_load_only():
    steady = {"saliency": Spread.of([10.0, 10.5, 9.8]), "ceiling": Spread.of([20.0, 20.4, 19.9])}
    assert busy_warning(steady, load=0.5, cores=2) is None
    noisy = {**steady, "ceiling": Spread.of([20.0, 8.0, 21.0])}  # one round lost more than half its speed
    warning = busy_warning(noisy, load=0.5, cores=2)
    assert warning is not None and "'ceiling'" in warning and "65%" in warning
    loaded = busy_warning(steady, load=7.0, cores=2)
    assert loaded is not None and "load average is 7.0 on 2 cores" in loaded
