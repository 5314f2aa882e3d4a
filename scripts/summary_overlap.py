"""How much do the moves' top channels overlap under each ranking rule? (docs/summary.md)

    PYTHONPATH=. python scripts/summary_overlap.py docs/summaries/pong docs/summaries/breakout

For each summary folder (aggregates.npz) and conv layer it prints the mean Jaccard overlap, over
all pairs of moves chosen on at least 20 frames, of their top-5 channels ranked by Summit's count
(share of frames on which the mass rule took the channel), by mean spatial-max activation and by
selectivity (z-score against all frames). 1.0 means every move gets the same channels.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np


def top5(scores: np.ndarray) -> set[int]:
    return {int(c) for c in np.argsort(-scores, kind="stable")[:5]}


def main(folders: list[str]) -> None:
    for folder in folders:
        with np.load(f"{folder}/aggregates.npz", allow_pickle=False) as z:
            sums = {k: z[k] for k in z.files}
        frames = sums["frames"]
        moves = [a for a in range(len(frames)) if frames[a] >= 20]
        layers = sorted({k.split(".")[0] for k in sums if k.endswith(".act_sum") and k.startswith("conv")})  # conv layers: fc1 has 4-6 groups, so any top 5 overlaps
        for layer in layers:
            act, sq, count = sums[f"{layer}.act_sum"], sums[f"{layer}.act_sq_sum"], sums[f"{layer}.summit_count"]
            n = frames.sum()
            mean_all = act.sum(0) / n
            std = np.sqrt(np.maximum(sq.sum(0) / n - mean_all**2, 0)) + 1e-12
            rules = {
                "summit count": count / frames[:, None].clip(1),
                "mean activation": act / frames[:, None].clip(1),
                "selectivity": (act / frames[:, None].clip(1) - mean_all) / std,
            }
            parts = []
            for name, score in rules.items():
                pairs = [len(top5(score[a]) & top5(score[b])) / len(top5(score[a]) | top5(score[b]))
                         for a, b in itertools.combinations(moves, 2)]
                parts.append(f"{name} {np.mean(pairs):.2f}")
            print(f"{folder} {layer} ({len(moves)} moves): " + ", ".join(parts))


if __name__ == "__main__":
    main(sys.argv[1:])
