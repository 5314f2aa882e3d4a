"""Freed heap memory goes back to the OS, so long videos keep a flat memory footprint."""

from __future__ import annotations

import os

import pytest
import torch

from rlviz.util.heap import release_free_memory, resident_mb


@pytest.mark.skipif(not os.path.exists("/proc/self/statm") or not release_free_memory(), reason="needs Linux with glibc")
def test_freed_blocks_pinned_by_live_ones_are_returned():
    # 100 KB blocks are below glibc's mmap threshold, so they go on the heap. Every other one
    # stays alive, so each freed block sits between live ones: free() alone cannot give it back
    # (it only shrinks the heap from the top), whatever state earlier code left the heap in.
    freed, pinned = [], []
    for _ in range(1500):
        freed.append(torch.ones(100 << 10, dtype=torch.uint8))  # touched, so resident
        pinned.append(torch.ones(100 << 10, dtype=torch.uint8))
    before = resident_mb()
    freed.clear()
    kept = resident_mb()
    assert before - kept < 20, (before, kept)  # freed, but still resident
    assert release_free_memory()
    after = resident_mb()
    assert kept - after > 100, (before, kept, after)  # most of the 150 MB freed above is given back
    assert len(pinned) == 1500
