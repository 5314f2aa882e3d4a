"""Throughput of `rlviz summarize`: frames/s in-process and on a local Ray with 1 and 2 workers.

    PYTHONPATH=. python scripts/bench_summary.py --agent agents/pong --episodes 4 --frames-per-episode 300

Each run plays the same seeded episodes (episode e from reset(seed=e)); the Ray runs start a
fresh local Ray with ``num_cpus`` = the worker count, and the time includes putting the agent
into Ray's object store but not starting Ray. The script also checks that every run's sums
equal the in-process ones exactly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rlviz.agents.loading import load_agent
from rlviz.assess.summary_run import summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", default="agents/pong")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--frames-per-episode", type=int, default=300)
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to time (default 1,2)")
    args = parser.parse_args()
    agent = load_agent(args.agent)
    base = summarize(agent, args.episodes, frames_per_episode=args.frames_per_episode)
    frames = int(base.accumulator.frames().sum())
    print(f"in-process (1 thread): {frames} frames in {base.seconds:.1f} s = {frames / base.seconds:.1f} frames/s")
    import ray

    for n in (int(w) for w in args.workers.split(",")):
        ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False)
        try:
            start = time.perf_counter()
            result = summarize(agent, args.episodes, frames_per_episode=args.frames_per_episode, ray="local")
            seconds = time.perf_counter() - start
        finally:
            ray.shutdown()
        same = all(np.array_equal(result.accumulator.sums[k], v) for k, v in base.accumulator.sums.items())
        print(f"ray, {n} worker(s): {frames} frames in {seconds:.1f} s = {frames / seconds:.1f} frames/s "
              f"(equal to in-process: {same})")


if __name__ == "__main__":
    main()
