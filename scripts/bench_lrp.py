"""Benchmark LRP: frames per second for a Nature-CNN actor-critic (6 actions), batched.

For each composite and batch size it times ``rlviz.explain.lrp.lrp`` on random uint8
observations and prints the median of several runs (after one warm-up run), next to the
plain forward pass for scale.

    python scripts/bench_lrp.py                       # CPU, all composites
    python scripts/bench_lrp.py --threads 1 --clock cpu   # steadier on a shared machine
    python scripts/bench_lrp.py --device cuda --batch-sizes 64 256 1024
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.agents.networks import NatureActorCritic
from rlviz.explain.lrp import COMPOSITES, lrp


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_fps(fn, n_frames: int, repeats: int, device: torch.device, clock) -> float:
    fn()  # warm-up: allocator, oneDNN/cuDNN kernel choice
    _sync(device)
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        _sync(device)
        times.append(clock() - start)
    return n_frames / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 128, 256])
    parser.add_argument("--composites", nargs="+", default=list(COMPOSITES), choices=list(COMPOSITES))
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per setting (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: frames per second; cpu: frames per CPU-second of this process (steadier on a shared machine)",
    )
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    agent = Agent(NatureActorCritic(6), device=device)
    rng = np.random.default_rng(0)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    unit = "frames/s" if args.clock == "wall" else "frames/CPU-s"
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} repeats={args.repeats}")
    print(f"{'composite':<22}" + "".join(f"{f'batch {b}':>12}" for b in args.batch_sizes) + f"   ({unit}, median)")

    def forward_only(obs: np.ndarray) -> None:
        with torch.no_grad():
            agent.forward(to_float_obs(obs, device))

    rows = {"forward only": forward_only}
    for name in args.composites:
        rows[name] = lambda obs, name=name: lrp(agent, obs, composite=name, batch_size=len(obs))
    for label, fn in rows.items():
        cells = []
        for batch in args.batch_sizes:
            obs = rng.integers(0, 256, (batch, 4, 84, 84), dtype=np.uint8)
            cells.append(_median_fps(lambda: fn(obs), batch, args.repeats, device, clock))
        print(f"{label:<22}" + "".join(f"{c:>12.0f}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
