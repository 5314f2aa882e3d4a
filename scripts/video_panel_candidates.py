"""Measure the candidates for the video's relevance panel (issue #18, point 4): object share and
deletion/insertion AOPC under two replacement protocols, on every bundled game.

    PYTHONPATH=. python scripts/video_panel_candidates.py --frames 30 --out runs/panel-candidates

Per game: ``--frames`` observations of greedy play (seed 1, every 8th step, the protocol of
docs/objects.md), the cached background, and for each candidate map (greedy action's logit,
summed over the stacked frames): the mean share of |map| on object pixels; the deletion AOPC
(logit, 7x7 regions, most relevant first) with the blur replacement of ``rlviz faithfulness``
and with the *background* replacement (the region's pixels become the background's), each
with the 95% half-width of the paired per-frame difference to today's panel
(lrp-epsilon-gamma-box); and the insertion AOPC under both. Writes <out>/<game>.json and
prints one Markdown row per candidate.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import rlviz
from rlviz.agents.agent import to_float_obs
from rlviz.assess import faithfulness as fa
from rlviz.explain.deeplift import deeplift
from rlviz.explain.integrated_gradients import integrated_gradients
from rlviz.explain.lrp import lrp
from rlviz.explain.objects import (
    background,
    find_objects,
    mean_shares,
    object_shares,
    reference_observation,
)

CURRENT = "lrp-epsilon-gamma-box"


def candidate_maps(agent, obs: np.ndarray, bg: np.ndarray) -> dict[str, np.ndarray]:
    ref = reference_observation(bg, obs.shape[1])
    return {
        CURRENT: lrp(agent, obs, target="action").sum(1),
        "lrp-epsilon-gamma-reference": lrp(agent, obs, composite="epsilon-gamma-reference", reference=ref).sum(1),
        "lrp-epsilon-gamma-reference gamma=0": lrp(agent, obs, composite="epsilon-gamma-reference", reference=ref,
                                                   gamma=0.0).sum(1),
        "lrp-epsilon-gamma-reference gamma=1": lrp(agent, obs, composite="epsilon-gamma-reference", reference=ref,
                                                   gamma=1.0).sum(1),
        "deeplift, background reference": deeplift(agent, obs, "action", baseline=bg).sum(1),
        "integrated-gradients, background baseline": integrated_gradients(agent, obs, "action", baseline=bg).sum(1),
        "random": fa.random_map(agent, obs),
    }


def aopc(agent, x: torch.Tensor, replacement: torch.Tensor, m: np.ndarray, actions: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (deletion, insertion) AOPC of the greedy logit, regions of 7x7 by the map's value."""
    orders = fa.region_order(fa.region_scores(m, 7), np.random.default_rng(0))
    steps = fa.pixel_steps(orders, 7, x.shape[-1])
    n_steps = (x.shape[-1] // 7) ** 2
    dele = fa._curves(agent, x, replacement, steps, n_steps, actions, "deletion", 512)["logit"]
    ins = fa._curves(agent, x, replacement, steps, n_steps, actions, "insertion", 512)["logit"]
    return fa.deletion_aopc(dele), fa.insertion_aopc(ins)


def halfwidth(d: np.ndarray) -> float:
    return float(1.96 * d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0


def measure(game: str, frames: int, seed: int) -> dict:
    agent = rlviz.load_agent(f"agents/{game}")
    bg = background(agent, progress=False)
    obs = fa.collect_frames(agent, frames=frames, seed=seed, spacing=8)
    scene = [find_objects(o, bg, agent.env_spec.game) for o in obs]
    maps = candidate_maps(agent, obs, bg)
    x = to_float_obs(obs, agent.device)
    with torch.no_grad():
        actions = agent.forward(x)[0].argmax(-1)
        replacements = {"blur": fa.gaussian_blur(x, fa.BLUR_SIGMA),
                        "background": reference_observation(bg, x.shape[1]).to(x.device)[None].expand_as(x).contiguous()}
    per = {name: {p: aopc(agent, x, r, m, actions) for p, r in replacements.items()} for name, m in maps.items()}
    out = {"game": game, "frames": frames, "seed": seed, "methods": {}}
    for name, m in maps.items():
        row = {"share_on_objects": mean_shares([object_shares(m[i], s) for i, s in enumerate(scene)]).on_objects}
        for p in replacements:
            dele, ins = per[name][p]
            row[f"{p}_deletion"] = float(dele.mean())
            row[f"{p}_deletion_tolerance"] = halfwidth(dele - per[CURRENT][p][0])
            row[f"{p}_insertion"] = float(ins.mean())
        out["methods"][name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", default="pong,breakout,spaceinvaders")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/panel-candidates")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("| game | method | share on objects | deletion AOPC, blur (± paired 95% vs box) | insertion, blur "
          "| deletion AOPC, background | insertion, background |")
    print("|---|---|---|---|---|---|---|")
    for game in args.games.split(","):
        t0 = time.time()
        result = measure(game, args.frames, args.seed)
        result["wall_s"] = round(time.time() - t0, 1)
        (out / f"{game}.json").write_text(json.dumps(result, indent=1) + "\n")
        for name, r in result["methods"].items():
            print(f"| {game} | {name} | {100 * r['share_on_objects']:.1f}% | {r['blur_deletion']:.2f} ± "
                  f"{r['blur_deletion_tolerance']:.2f} | {r['blur_insertion']:.2f} | {r['background_deletion']:.2f} ± "
                  f"{r['background_deletion_tolerance']:.2f} | {r['background_insertion']:.2f} |", flush=True)
        print(f"<!-- {game}: {result['wall_s']} s -->", flush=True)


if __name__ == "__main__":
    main()
