"""What-if, in terms of objects: each method's share of its map on each named object, with and
without the edit, and the ``remove:OBJECT`` view edit.

Which observations (chosen so that the two sides differ only by the edit where they can):

* a view edit: the *same* observations, seen unedited and edited; the objects are found on the
  unedited one and its footprints are used for both maps, so a removed object's share says how
  much of the map still falls where it was;
* a game edit: the observations of each game at matching steps (0, 8, 16, ... of episode 1 of
  each run; what_if's sample), each with its own objects: the games drift apart, so these are
  the same moments of play, not the same screens.

Per method the mean over the frames of each object's share (explain/objects/shares.py, |map|
mass on the object's footprint over the whole mass); an object absent from a frame counts 0.

Example:
    >>> shift = object_share_shift(agent, unedited_obs, edited_obs, bg, same_observations=True)
    >>> shift["saliency-actor"]["without"]["opponent's paddle"], shift["saliency-actor"]["with"]["opponent's paddle"]
    (0.62, 0.58)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.assess.objects import CURRENT_PANEL, REFERENCE_METHOD, method_maps
from rlviz.explain.objects import background as agent_background
from rlviz.explain.objects import find_objects, mean_shares, object_shares
from rlviz.explain.objects.view_edit import object_removal
from rlviz.explain.perturbation import perturbation_saliency
from rlviz.play.edits import Edit, parse_edit
from rlviz.util.errors import RlvizError

SHARE_METHODS = ("saliency-actor", "saliency-critic", CURRENT_PANEL, REFERENCE_METHOD)
METHOD_WORDS = {"saliency-actor": "actor saliency", "saliency-critic": "critic saliency",
                CURRENT_PANEL: "LRP (epsilon-gamma-box)", REFERENCE_METHOD: "LRP against the background"}


def parse_whatif_edit(text: str, agent: Agent, background: np.ndarray | None = None) -> Edit:
    """:func:`rlviz.play.edits.parse_edit` plus ``remove:OBJECT`` (needs the agent's background:
    ``background`` or the cached one, computed the first time)."""
    if not text.startswith("remove:"):
        return parse_edit(text, agent)
    name = text.split(":", 1)[1]
    object_removal(name, np.zeros((1, 1), np.uint8), agent.env_spec.game)  # refuses an unknown name before any play
    bg = agent_background(agent) if background is None else background
    return Edit(text, "view", blank=object_removal(name, bg, agent.env_spec.game))


def maps_by_method(agent: Agent, obs: np.ndarray, background: np.ndarray, methods=SHARE_METHODS,
                   batch: int = 8) -> dict[str, np.ndarray]:
    """{method: (N, H, W) map for the greedy action}; the two saliency maps share one pass."""
    out: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    for lo in range(0, len(obs), batch):
        part = obs[lo : lo + batch]
        if "saliency-actor" in methods or "saliency-critic" in methods:
            sal = perturbation_saliency(agent, part)
            for m, maps in (("saliency-actor", sal.actor), ("saliency-critic", sal.critic)):
                if m in methods:
                    out[m].append(np.asarray(maps, np.float32).reshape(len(part), *obs.shape[-2:]))
        for m in [m for m in methods if not m.startswith("saliency-") and m in out]:
            try:
                out[m].append(method_maps(agent, part, m, background))
            except RlvizError:  # LRP has no rules for this network: that method is left out, the others stay
                del out[m]
    return {m: np.concatenate(v) for m, v in out.items()}


def object_share_shift(
    agent: Agent,
    without: np.ndarray,
    with_edit: np.ndarray,
    background: np.ndarray,
    *,
    same_observations: bool,
    methods=SHARE_METHODS,
    maps: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
) -> dict[str, dict[str, Any]]:
    """{method: {"frames", "without": {object: mean share}, "with": {...}, "on_objects_without",
    "on_objects_with"}} over paired frames (see the module docstring for which objects)."""
    n = min(len(without), len(with_edit))
    without, with_edit = without[:n], with_edit[:n]
    if maps is None:
        maps = (maps_by_method(agent, without, background, methods), maps_by_method(agent, with_edit, background, methods))
    game = agent.env_spec.game
    objs_without = [find_objects(o, background, game) for o in without]
    objs_with = objs_without if same_observations else [find_objects(o, background, game) for o in with_edit]
    out = {}
    for m in [m for m in methods if m in maps[0] and m in maps[1]]:
        a = mean_shares([object_shares(maps[0][m][k], objs_without[k]) for k in range(n)])
        b = mean_shares([object_shares(maps[1][m][k], objs_with[k]) for k in range(n)])
        names = list(a.by_object) + [x for x in b.by_object if x not in a.by_object]
        out[m] = {"frames": n, "on_objects_without": a.on_objects, "on_objects_with": b.on_objects,
                  "without": {x: a.by_object.get(x, 0.0) for x in names}, "with": {x: b.by_object.get(x, 0.0) for x in names}}
    return out


def shift_words(shift: dict[str, dict[str, Any]], top: int = 3) -> list[str]:
    """One line per method: its ``top`` objects (by the larger of the two shares), without -> with."""
    lines = []
    for m, s in shift.items():
        ranked = sorted(s["without"], key=lambda x: -max(s["without"][x], s["with"].get(x, 0.0)))[:top]
        parts = [f"{x} {s['without'][x]:.0%} -> {s['with'].get(x, 0.0):.0%}" for x in ranked]
        lines.append(f"  {METHOD_WORDS.get(m, m)}: " + (", ".join(parts) if parts else "no objects found")
                     + f" (all objects {s['on_objects_without']:.0%} -> {s['on_objects_with']:.0%})")
    return lines
