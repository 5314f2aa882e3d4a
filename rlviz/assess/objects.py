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
from rlviz.assess.faithfulness import (
    BACKGROUND_METHODS,
    background_maps,
    collect_frames,
    compute_maps,
    pixel_flipping,
)
from rlviz.explain.objects import (
    background,
    find_objects,
    label_image,
    mean_shares,
    object_saliency,
    object_shares,
)
from rlviz.explain.objects.games import rules_for
from rlviz.util.errors import RlvizError

REFERENCE_METHOD = "lrp-epsilon-gamma-reference"
BACKGROUND_DEEPLIFT = "deeplift-background"  # DeepLIFT-rescale with the background as its reference
CURRENT_PANEL = "lrp-epsilon-gamma-box"
RELEVANCE_METHODS = (CURRENT_PANEL, "lrp-epsilon-plus-flat", "lrp-epsilon-alpha2-beta1", REFERENCE_METHOD,
                     "gradient-x-input", BACKGROUND_DEEPLIFT)
METHODS = (*RELEVANCE_METHODS, "saliency-actor", "saliency-critic")
# How a deletion test removes a region: "background" paints it with the background (what
# removing an object means in the game, as object saliency does), "blur" blurs it as
# ``rlviz faithfulness`` does. The choice rests on the background removal (docs/objects.md).
PROTOCOLS = {"background": ("aopc_deletion_background", "aopc_tolerance_background"),
             "blur": ("aopc_deletion", "aopc_tolerance")}
# Measured 2026-12-02, 30 frames per game (scripts/video_panel_candidates.py, docs/objects.md):
# with background removal, DeepLIFT with the background reference puts 100% on objects and
# beats today's panel's deletion AOPC on pong, breakout and spaceinvaders (5.41 vs 4.44,
# 1.81 vs 1.57, 3.69 vs 3.23); with blur removal it would fail on spaceinvaders (2.10 vs 2.67).
VIDEO_DEFAULT = BACKGROUND_DEEPLIFT


def method_maps(agent: Agent, obs: np.ndarray, name: str, bg: np.ndarray) -> np.ndarray:
    """(N, H, W) float32 maps of ``name`` for the greedy action; the maps relative to the
    background (faithfulness.BACKGROUND_METHODS) use ``bg``."""
    if name in BACKGROUND_METHODS:
        return background_maps(agent, obs, name, "action", bg)
    return compute_maps(agent, obs, name, "action")


def choose_video_default(methods: dict[str, dict[str, Any]] | Sequence[dict[str, dict[str, Any]]],
                         current: str = CURRENT_PANEL, protocol: str = "background") -> str:
    """The relevance method with the largest share on objects among those whose deletion AOPC is
    not worse than the current panel's: aopc >= current's - tolerance (the 95% half-width of
    the paired per-frame difference), with regions removed by ``protocol`` ("background" or
    "blur", see PROTOCOLS). Given one ``methods`` dict per game, a method must pass on every
    game and the largest mean share wins (ties: the earlier in RELEVANCE_METHODS). Without AOPC
    figures: ``VIDEO_DEFAULT``."""
    if protocol not in PROTOCOLS:
        raise RlvizError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    aopc, tolerance = PROTOCOLS[protocol]
    games = [methods] if isinstance(methods, dict) else list(methods)
    if not games or any(current not in g or g[current].get(aopc) is None for g in games):
        return VIDEO_DEFAULT

    def passes(g: dict[str, dict[str, Any]], m: str) -> bool:
        d = g.get(m, {})
        return d.get(aopc) is not None and d[aopc] >= g[current][aopc] - (d.get(tolerance) or 0.0)

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
    if obs.shape[0] == 0:
        raise RlvizError("an object report needs at least one frame; pass frames >= 1 or non-empty observations")
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
        removed = pixel_flipping(agent, obs, methods=["random"], maps=maps, replacement="background", background=bg)
        diffs = _paired_halfwidths(removed, CURRENT_PANEL)
        for m in methods:
            result[m]["aopc_deletion_background"] = removed.aopc[m]
            result[m]["aopc_insertion_background"] = removed.insertion_aopc[m]
            result[m]["aopc_tolerance_background"] = diffs.get(m, 0.0)
        random["aopc_deletion_background"] = removed.aopc["random"]
        random["aopc_insertion_background"] = removed.insertion_aopc["random"]
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
        "object_area": float(np.mean(area)),
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
