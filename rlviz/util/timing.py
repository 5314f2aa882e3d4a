"""Timing on a shared machine: several paths timed round after round, reported as median
and range, with a warning when the rounds disagree so much that the machine must be busy.

A single timing on a machine that others use says little: another job can halve a figure for
a few seconds. Timing the paths in turn, round after round, lets a slow moment hit all of them;
the median and the range over rounds then show both the figure and how far to trust it.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

# Rounds of one path that differ by more than this share of their median mean that something
# else used the machine meanwhile (an idle machine repeats these timings within a few percent).
BUSY_SPREAD = 0.25


@dataclass(frozen=True)
class Spread:
    """Median and range of a figure over rounds."""

    median: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        if not values:
            raise ValueError("no values to summarise")
        return cls(statistics.median(values), min(values), max(values), len(values))

    @property
    def relative_range(self) -> float:
        """(high - low) / median: 0 when every round agreed."""
        return (self.high - self.low) / self.median if self.median else 0.0

    def text(self, fmt: str = ".2f", unit: str = "") -> str:
        """'52.50 frames/s (48.10-53.00 over 7 rounds)'; the range is left out for one round."""
        med = f"{self.median:{fmt}}{unit}"
        if self.rounds < 2:
            return f"{med} (1 round, no range)"
        return f"{med} (range {self.low:{fmt}}-{self.high:{fmt}}{unit} over {self.rounds} rounds)"


def time_in_rounds(fns: dict[str, Callable[[], object]], rounds: int, sync: Callable[[], None] = lambda: None,
                   warmup: bool = True) -> dict[str, list[float]]:
    """Wall times (s) of each function, timed in turn in every round (interleaved), after one
    warm-up call each; returns {name: [seconds per round]}."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if warmup:
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def busy_warning(spreads: dict[str, Spread], load: float | None = None, cores: int | None = None,
                 threshold: float = BUSY_SPREAD) -> str | None:
    """A warning when the rounds of some path spread by more than ``threshold`` of its median
    (or the load average exceeds the cores), else None."""
    cores = cores or os.cpu_count() or 1
    worst_name, worst = max(((n, s.relative_range) for n, s in spreads.items()), key=lambda t: t[1], default=("", 0.0))
    loaded = load is not None and load > cores
    if worst <= threshold and not loaded:
        return None
    why = []
    if worst > threshold:
        why.append(f"the rounds of '{worst_name}' spread by {100 * worst:.0f}% of their median (an idle machine: a few %)")
    if loaded:
        why.append(f"the load average is {load:.1f} on {cores} cores")
    return ("warning: the machine looks busy: " + "; ".join(why) + ". The medians and ranges below are what this "
            "machine gave now; quote them with the range, or rerun when it is idle.")
