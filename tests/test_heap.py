"""Freed heap memory goes back to the OS, so long videos keep a flat memory footprint."""

from __future__ import annotations

import os

import pytest
import torch

from rlviz.heap import release_free_memory


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm") or not release_free_memory(), reason="needs Linux with glibc")
def test_freed_blocks_pinned_by_small_live_ones_are_returned():
    big, small = [], []
    for _ in range(1500):  # 100 KB blocks are below glibc's mmap threshold: they go on the heap
        big.append(torch.ones(100 << 10, dtype=torch.uint8))  # touched, so resident
        small.append(torch.ones(64, dtype=torch.uint8))  # long-lived, between the big ones: the heap cannot shrink
    before = resident_mb()
    big.clear()
    kept = resident_mb()
    assert before - kept < 50  # freed, but still resident
    assert release_free_memory()
    after = resident_mb()
    assert kept - after > 100, (before, kept, after)  # most of the 150 MB freed above is given back
    assert len(small) == 1500
