"""Which objects each explanation puts its mass on, and which map the video should show.

For a handful of observations of greedy play this measures, per method, each object's share
of the map's mass (explain/objects/shares.py), per frame and as the mean over the frames; the
object saliency of every object (Iyer et al. 2018); and, for the choice of the video's
relevance panel, the deletion and insertion AOPC of each map (faithfulness.py, logit of the
greedy action, 7x7 regions).

The video's default (``choose_video_default``): among the relevance maps (LRP composites and
gradient x input), the one with the largest share on objects whose deletion AOPC is not
below the current panel's (lrp-epsilon-gamma-box) by more than the 95% half-width of their
paired per-frame difference. ``VIDEO_DEFAULT`` records the choice measured over the three bundled
agents (docs/objects.md); each report's ``video_default`` is the choice for its own agent.

Example:
    >>> report = object_report(agent, frames=10)
    >>> report["methods"]["lrp-epsilon-gamma-reference"]["share_on_objects"]
    0.99
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.assess.faithfulness import collect_frames, compute_maps, pixel_flipping
from rlviz.explain.lrp import lrp
from rlviz.explain.objects import (
    background,
    find_objects,
    label_image,
    mean_shares,
    object_saliency,
    object_shares,
    reference_observation,
)
from rlviz.explain.objects.games import rules_for
from rlviz.util.errors import RlvizError

REFERENCE_METHOD = "lrp-epsilon-gamma-reference"
CURRENT_PANEL = "lrp-epsilon-gamma-box"
RELEVANCE_METHODS = (CURRENT_PANEL, "lrp-epsilon-plus-flat", "lrp-epsilon-alpha2-beta1", REFERENCE_METHOD,
                     "gradient-x-input")
METHODS = (*RELEVANCE_METHODS, "saliency-actor", "saliency-critic")
# Measured 2026-12-02 on pong, breakout, spaceinvaders (docs/objects.md): no relevance method
# keeps today's deletion AOPC on all three games with more objects share than today's panel;
# epsilon-gamma-reference (100% on objects) loses 0.7 / 0.4 logits of AOPC on Pong / SpaceInvaders.
VIDEO_DEFAULT = CURRENT_PANEL


def method_maps(agent: Agent, obs: np.ndarray, name: str, bg: np.ndarray) -> np.ndarray:
    """(N, H, W) float32 maps of ``name`` for the greedy action; the reference LRP uses ``bg``."""
    if name == REFERENCE_METHOD:
        ref = reference_observation(bg, obs.shape[1])
        return lrp(agent, obs, composite="epsilon-gamma-reference", reference=ref).sum(axis=1)
    return compute_maps(agent, obs, name, "action")


def choose_video_default(methods: dict[str, dict[str, Any]] | Sequence[dict[str, dict[str, Any]]],
                         current: str = CURRENT_PANEL) -> str:
    """The relevance method with the largest share on objects among those whose deletion AOPC is
    not worse than the current panel's: aopc_deletion >= current's - aopc_tolerance (the 95%
    half-width of the paired per-frame difference). Given one ``methods`` dict per game, a
    method must pass on every game and the largest mean share wins. Without AOPC figures:
    ``VIDEO_DEFAULT``."""
    games = [methods] if isinstance(methods, dict) else list(methods)
    if not games or any(current not in g or g[current].get("aopc_deletion") is None for g in games):
        return VIDEO_DEFAULT

    def passes(g: dict[str, dict[str, Any]], m: str) -> bool:
        d = g.get(m, {})
        return d.get("aopc_deletion") is not None and (
            d["aopc_deletion"] >= g[current]["aopc_deletion"] - (d.get("aopc_tolerance") or 0.0))

    fit = [m for m in RELEVANCE_METHODS if all(passes(g, m) for g in games)]
    return max(fit, key=lambda m: float(np.mean([g[m]["share_on_objects"] for g in games])))


def object_report(
    agent: Agent,
    *,
    frames: int = 10,
    seed: int = 1,
    spacing: int = 8,
    methods: Sequence[str] = METHODS,
    aopc: bool = True,
    obs: np.ndarray | None = None,
    bg: np.ndarray | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Object shares of every method's maps, object saliency and the video's default method,
    as the JSON of ``rlviz objects --json``; ``obs`` (N, 4, 84, 84) replaces the collected frames."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise RlvizError(f"unknown method(s) {', '.join(unknown)}; choose from: {', '.join(METHODS)}")
    game = agent.env_spec.game
    bg = background(agent, progress=progress) if bg is None else np.asarray(bg)
    obs = collect_frames(agent, frames=frames, seed=seed, spacing=spacing) if obs is None else np.asarray(obs)
    scene = [find_objects(o, bg, game) for o in obs]
    names = _names_in_order(scene, game)
    maps = {m: method_maps(agent, obs, m, bg) for m in methods}
    per_frame = [{"objects": [o.name for o in objs], "methods": {m: object_shares(maps[m][i], objs).to_dict() for m in methods}}
                 for i, objs in enumerate(scene)]
    result: dict[str, dict[str, Any]] = {}
    for m in methods:
        s = mean_shares([object_shares(maps[m][i], objs) for i, objs in enumerate(scene)])
        result[m] = s.to_dict()
    if aopc:
        report = pixel_flipping(agent, obs, methods=["random"], maps=maps)
        diffs = _paired_halfwidths(report, CURRENT_PANEL)
        for m in methods:
            result[m]["aopc_deletion"] = report.aopc[m]
            result[m]["aopc_insertion"] = report.insertion_aopc[m]
            result[m]["aopc_tolerance"] = diffs.get(m)
        random = {"aopc_deletion": report.aopc["random"], "aopc_insertion": report.insertion_aopc["random"]}
    saliency = [object_saliency(agent, o, objs, bg) for o, objs in zip(obs, scene)]
    labels = [label_image(objs, bg.shape) for objs in scene]
    area = [float((lab > 0).mean()) for lab in labels]
    area_by = {n: float(np.mean([(lab == k + 1).mean() if k < len(objs) and objs[k].name == n else 0.0
                                 for lab, objs in zip(labels, scene) for k in [_index(objs, n)]])) for n in names}
    out: dict[str, Any] = {
        "game": game,
        "agent": agent.name,
        "frames": int(obs.shape[0]),
        "seed": seed,
        "spacing": spacing,
        "objects": names,
        "object_area": float(np.mean(area)) if area else 0.0,
        "area_by_object": area_by,
        "present": {n: float(np.mean([n in f["objects"] for f in per_frame])) for n in names},
        "methods": result,
        "object_saliency": {n: {k: float(np.mean([s.get(n, {}).get(k, 0.0) for s in saliency])) for k in ("policy", "value")}
                            for n in names},
        "video_default": choose_video_default(result),
        "per_frame": per_frame,
    }
    if aopc:
        out["random"] = random
    return out


def _index(objects: list[Any], name: str) -> int:
    """Position of the object called ``name`` in a frame's list, or len(objects) when absent."""
    return next((k for k, o in enumerate(objects) if o.name == name), len(objects))


def _names_in_order(scene: list[list[Any]], game: str) -> list[str]:
    """Every object name seen in the frames: the game's named objects in its order, then "object N" by N."""
    seen = {o.name for objs in scene for o in objs}
    rules = rules_for(game)
    named = [n for n in (rules.names if rules else ()) if n in seen]
    rest = sorted(seen - set(named), key=lambda n: (len(n), n))
    return named + rest


def _paired_halfwidths(report: Any, current: str) -> dict[str, float]:
    """95% half-width of each method's per-frame deletion AOPC minus the current panel's."""
    per = report.aopc_per_frame("deletion")
    if current not in per:
        return {}
    out = {}
    for m, v in per.items():
        d = v - per[current]
        out[m] = float(1.96 * d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return out
