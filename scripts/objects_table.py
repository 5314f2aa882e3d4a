"""Measure docs/objects.md's table: each method's share on objects and its AOPC, per bundled game.

    PYTHONPATH=. python scripts/objects_table.py --games pong,breakout,spaceinvaders --frames 30 --out runs/objects

Per game: 30 observations of greedy play (seed 1, every 8th step), the cached background
(rlviz.explain.objects.background), ``rlviz.assess.objects.object_report`` (shares, object
saliency, deletion/insertion AOPC with the blur replacement of rlviz faithfulness), plus two
rows this script adds on its own:

* integrated gradients with the zero and the background baseline (LOCAL HELPER below, 32
  Riemann steps, only for this table; the library's IG/DeepLIFT belong to issue #23), with
  their blur AOPC (not candidates for the video's panel: they are not in the library);
* the deletion AOPC with the *background* as the replacement instead of the blur (same regions
  and order), the removal a background-relative explanation speaks about.
Writes <out>/<game>.json, <out>/<game>.png and prints Markdown rows.
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
from rlviz.assess.objects import METHODS, method_maps, object_report
from rlviz.explain.gradient import explained_output
from rlviz.explain.objects import (
    background,
    find_objects,
    mean_shares,
    object_shares,
    reference_observation,
)
from rlviz.present.faithfulness_figures import save_png
from rlviz.present.object_figures import draw_object_shares


def integrated_gradients_local(agent, obs: np.ndarray, baseline: torch.Tensor, steps: int = 32) -> np.ndarray:
    """LOCAL HELPER for this table only (not library code): IG of the greedy logit, midpoint
    Riemann sum, (x - x~) * mean gradient along the straight path; summed over the stack."""
    x = to_float_obs(obs, agent.device)
    with torch.no_grad():
        action = agent.forward(x)[0].argmax(-1)
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        xi = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        logits, value = agent.forward(xi)
        out = explained_output(logits, value, action.cpu().numpy())
        (g,) = torch.autograd.grad(out.sum(), xi)
        total += g
    return ((x - baseline) * total / steps).sum(1).detach().cpu().numpy()


def background_deletion_aopc(agent, obs: np.ndarray, maps: dict[str, np.ndarray], bg: np.ndarray) -> dict[str, float]:
    """Deletion AOPC of the greedy logit when regions are replaced by the background (not the blur).
    Uses faithfulness's own region order and curve code."""
    x = to_float_obs(obs, agent.device)
    ref = reference_observation(bg, x.shape[1]).to(x.device)[None].expand_as(x)
    with torch.no_grad():
        actions = agent.forward(x)[0].argmax(-1)
    out = {}
    for name, m in maps.items():
        orders = fa.region_order(fa.region_scores(m, 7), np.random.default_rng(0))
        steps = fa.pixel_steps(orders, 7, 84)
        curves = fa._curves(agent, x, ref, steps, 144, actions, "deletion", 512)
        out[name] = float(fa.deletion_aopc(curves["logit"]).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", default="pong,breakout,spaceinvaders")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/objects")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for game in args.games.split(","):
        t0 = time.time()
        agent = rlviz.load_agent(f"agents/{game}")
        bg = background(agent, progress=False)
        obs = fa.collect_frames(agent, frames=args.frames, seed=args.seed, spacing=8)
        report = object_report(agent, obs=obs, bg=bg, seed=args.seed, progress=False)
        scene = [find_objects(o, bg, agent.env_spec.game) for o in obs]
        base = reference_observation(bg, obs.shape[1])[None]
        extra = {"ig-zero-baseline (local helper)": integrated_gradients_local(agent, obs, torch.zeros_like(base)),
                 "ig-background-baseline (local helper)": integrated_gradients_local(agent, obs, base)}
        maps = {m: method_maps(agent, obs, m, bg) for m in METHODS} | extra
        flips = fa.pixel_flipping(agent, obs, methods=["random"], maps={k: maps[k] for k in [*extra, "lrp-epsilon-gamma-box"]})
        per = flips.aopc_per_frame("deletion")
        for name, m in extra.items():
            report["methods"][name] = mean_shares([object_shares(m[i], s) for i, s in enumerate(scene)]).to_dict()
            d = per[name] - per["lrp-epsilon-gamma-box"]
            report["methods"][name].update(aopc_deletion=flips.aopc[name], aopc_insertion=flips.insertion_aopc[name],
                                           aopc_tolerance=float(1.96 * d.std(ddof=1) / np.sqrt(d.size)))
        maps["random"] = fa.random_map(agent, obs)
        report["background_replacement_aopc"] = background_deletion_aopc(agent, obs, maps, bg)
        report["wall_s"] = round(time.time() - t0, 1)
        report["date"] = time.strftime("%Y-%m-%d", time.gmtime())
        (out / f"{game}.json").write_text(json.dumps(report, indent=1) + "\n")
        save_png(out / f"{game}.png", draw_object_shares({**report, "methods": {k: v for k, v in report["methods"].items()
                                                                                   if "local" not in k}}))
        print(f"## {game}: object area {100 * report['object_area']:.1f}%, video default {report['video_default']}, "
              f"{report['wall_s']} s", flush=True)
        for m, d in report["methods"].items():
            dele = d.get("aopc_deletion")
            row = f"| {m} | {100 * d['share_on_objects']:.1f}% | "
            row += (f"{dele:.3g} ± {d['aopc_tolerance']:.2g} | {d['aopc_insertion']:.3g} | " if dele is not None else "– | – | ")
            row += f"{report['background_replacement_aopc'].get(m, float('nan')):.3g} |"
            print(row, flush=True)
        print(f"| random | – | {report['random']['aopc_deletion']:.3g} | {report['random']['aopc_insertion']:.3g} | "
              f"{report['background_replacement_aopc']['random']:.3g} |", flush=True)
        print("object saliency:", json.dumps(report["object_saliency"]), flush=True)


if __name__ == "__main__":
    main()
