#!/usr/bin/env python
"""How far the strongest interacting pairs stand above a typical pair, per analysis.

Prints, for the policy as a whole, each action and the value, the strongest pair's strength
and the 10th strongest's as multiples of the median pair (the "typical" pair of the figures'
legends and of `median_pair_strength` in interactions.json). Weights only, a second or two:
    python scripts/interaction_ratios.py agents/pong
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from rlviz.agents.loading import load_agent
from rlviz.explain.interactions_cnn import policy_interaction_matrix


def ratios(matrix: np.ndarray, ranks: tuple[int, ...] = (1, 10)) -> tuple[float, ...]:
    """Strength of the pairs of the given ranks (1 = strongest) over the median pair."""
    pairs = np.sort(matrix[np.triu_indices_from(matrix, 1)])[::-1]
    median = float(np.median(pairs))
    return tuple(float(pairs[r - 1]) / median for r in ranks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent", help="agent folder")
    parser.add_argument("--group", choices=("cell", "channel"), default="cell")
    args = parser.parse_args(argv)
    agent = load_agent(args.agent)
    analyses = [("overall", None)] + [(name, k) for k, name in enumerate(agent.action_names)] + [("value", "value")]
    print(f"{'analysis':<10} top pair / median   10th pair / median   ({args.agent}, {args.group}s)")
    for name, action in analyses:
        top, tenth = ratios(policy_interaction_matrix(agent, group=args.group, action=action))
        print(f"{name:<10} {top:>16.2f}x {tenth:>19.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
