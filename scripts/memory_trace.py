"""Resident memory over time through one video, to see where it rises and whether it trends.

Samples the process's resident memory every 0.2 s while ``make_video`` plays, explains and
renders, then prints the maximum of each tenth of the run; a flat pipeline shows no trend.

    python scripts/memory_trace.py 2500 saliency trace.json [--agent agents/pong]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from pathlib import Path

from rlviz import load_agent
from rlviz.present.video import make_video
from rlviz.util.heap import resident_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", type=int, help="video length in frames (played over as many episodes as needed)")
    parser.add_argument("explain", help="explanations, e.g. saliency or saliency,lrp")
    parser.add_argument("out", help="JSON file for the (seconds, MB) samples")
    parser.add_argument("--agent", default="agents/pong")
    args = parser.parse_args()

    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.time()
        while not done.is_set():
            samples.append((time.time() - start, resident_mb()))
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    agent = load_agent(args.agent)
    with tempfile.TemporaryDirectory() as tmp:
        result = make_video(agent, Path(tmp) / "trace.mp4", frames=args.frames, episodes=args.frames,
                            explain=args.explain, title_cards=False, progress=False)
    done.set()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{result.frames} frames, peak resident memory {peak:.0f} MB")
    tenth = max(1, len(samples) // 10)
    print(" | ".join(f"from {samples[i][0]:.0f} s: max {max(m for _, m in samples[i : i + tenth]):.0f} MB"
                     for i in range(0, len(samples), tenth)))
    Path(args.out).write_text(json.dumps(samples) + "\n")


if __name__ == "__main__":
    main()
