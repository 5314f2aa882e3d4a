"""The on-disk grid store gives back exactly what was put in, and keeps it out of memory."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rlviz.util.gridstore import GridStore
from rlviz.util.heap import resident_mb


def test_grids_come_back_exactly_in_any_order():
    rng = np.random.default_rng(0)
    grids = rng.random((50, 2, 17, 17)).astype(np.float32)
    store = GridStore()
    assert [store.append(g) for g in grids] == list(range(50))
    assert len(store) == 50
    for k in rng.permutation(50):
        np.testing.assert_array_equal(store[k], grids[k])
    assert store[3].dtype == np.float32 and store[3].shape == (2, 17, 17)


def test_bad_index_and_shape_are_refused():
    store = GridStore()
    store.append(np.zeros((2, 17, 17)))
    with pytest.raises(IndexError):
        store[1]
    with pytest.raises(ValueError, match="differs"):
        store.append(np.zeros((2, 9, 9)))


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux")
def test_stored_grids_do_not_stay_in_memory():
    store = GridStore()
    frame = np.ones((2, 17, 17), dtype=np.float32)
    before = resident_mb()
    for _ in range(40_000):  # 92 MB of grids: a 40,000-frame video
        store.append(frame)
    assert resident_mb() - before < 20
    np.testing.assert_array_equal(store[39_999], frame)
