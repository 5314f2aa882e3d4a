"""scripts/interaction_ratios.py: the figures the docs quote for "how far above a typical pair"."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("interaction_ratios", ROOT / "scripts" / "interaction_ratios.py")
interaction_ratios = importlib.util.module_from_spec(spec)
spec.loader.exec_module(interaction_ratios)


def test_ratios_are_ranked_pairs_over_the_median_pair():
    upper = np.arange(1.0, 46.0)  # 10 groups: 45 pairs with strengths 1..45, median 23
    matrix = np.zeros((10, 10))
    matrix[np.triu_indices(10, 1)] = upper
    matrix = matrix + matrix.T  # symmetric, zero diagonal: only the upper triangle counts
    top, tenth = interaction_ratios.ratios(matrix)
    assert top == 45 / 23 and tenth == 36 / 23
