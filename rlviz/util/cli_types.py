"""Argument types for the command line: every number is checked when it is parsed.

Each function here is an ``argparse`` ``type=``: it turns the text into a value or raises
``ArgumentTypeError`` with the reason, so ``--seed -1``, ``--fps nan`` or
``--size 100000x100000`` stop at once with one line and exit status 2, before any work.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

MAX_SIDE = (3840, 2160)  # 4K: larger frames cost gigabytes per frame for nothing
MAX_FPS = 240.0


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """A whole number from ``lo`` (to ``hi``)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if value < lo or (hi is not None and value > hi):
            span = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
        return value

    parse.__name__ = f"int >= {lo}"
    return parse


def positive_float(hi: float | None = None) -> Callable[[str], float]:
    """A finite number above 0 (up to ``hi``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value) or value <= 0 or (hi is not None and value > hi):
            limit = f" and at most {hi:g}" if hi is not None else ""
            raise argparse.ArgumentTypeError(f"must be a finite number above 0{limit}, got {text[:40]}")
        return value

    parse.__name__ = "positive number"
    return parse


def fps(text: str) -> float:
    """A video frame rate: finite, above 0, at most 240."""
    return positive_float(MAX_FPS)(text)


def size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` within 4K (3840x2160); smaller limits are the layout's to check."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"must look like 1280x720, got {text[:40]!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE[0] and 1 <= height <= MAX_SIDE[1]):
        raise argparse.ArgumentTypeError(
            f"{width}x{height} is larger than {MAX_SIDE[0]}x{MAX_SIDE[1]} (each frame would take "
            f"{width * height * 3 / 2**30:.1f} GiB); use e.g. 1280x720"
        )
    return width, height


def int_list(text: str) -> list[int]:
    """Comma-separated whole numbers of at least 1, e.g. ``250000,500000``."""
    values = []
    for part in text.split(","):
        if part.strip():
            values.append(int_range(1)(part))
    return values


def device(text: str) -> str:
    """A torch device that exists here: ``cpu``, or ``cuda`` / ``cuda:N`` with a GPU."""
    name = text.strip().lower()
    if name == "cpu":
        return name
    if not re.fullmatch(r"cuda(:\d{1,2})?|mps", name):
        raise argparse.ArgumentTypeError(f"unknown device {text[:40]!r}; use cpu or cuda (cuda:N for the N-th GPU)")
    import torch

    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise argparse.ArgumentTypeError("mps is not available on this machine; use cpu")
        return name
    if not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: this PyTorch build or machine has no CUDA GPU; use cpu")
    index = int(name.split(":")[1]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{name}: only {torch.cuda.device_count()} GPU(s) here; use cuda:0 .. cuda:{torch.cuda.device_count() - 1}")
    return name


def probability(text: str) -> float:
    """A number from 0 to 1 (a repeat-action probability)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text[:40]!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text[:40]}")
    return value
