"""Writing the neuron-interaction analysis of a policy to files: ``interactions.json`` and PNG
figures (heat maps, and the top region pairs drawn on a frame). The analysis itself is
:mod:`rlviz.explain.interactions_cnn`; this module only wires it to files and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.explain.interactions import (
    greedy_interactions,
    pairwise_strengths,
    rank_pairs,
)
from rlviz.explain.interactions_cnn import (
    RGB_SHAPE,
    PolicyInteraction,
    cell_geometry,
    check_group,
    cnn_parts,
    grouped_weights,
    label_pairs,
    policy_influence,
)
from rlviz.present.faithfulness_figures import save_png
from rlviz.present.interaction_figures import (
    blank_frame,
    draw_interaction_matrix,
    draw_interaction_pairs,
)
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import check_output_dir, write_text_atomic


def _analyses(agent: Agent, action: int | str | None) -> list[tuple[str, str, int | str | None]]:
    """(key, plain title, action) for every analysis a report covers."""
    items: list[tuple[str, str, int | str | None]] = [("overall", "all actions together", None)]
    actions = range(agent.n_actions) if action is None else [action]
    for a in actions:
        if a == "value":
            continue
        name = agent.action_names[int(a)]
        items.append((f"action_{int(a)}_{_slug(name)}", f"choosing {name}", int(a)))
    if agent.kind == "actor-critic" and (action is None or action == "value"):
        items.append(("value", "the value estimate", "value"))
    return items


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name).lower()).strip("_") or "action"


def _to_json(items: list[PolicyInteraction]) -> list[dict[str, Any]]:
    top = items[0].strength if items and items[0].strength > 0 else 1.0
    return [
        {
            "features": list(it.features),
            "labels": list(it.labels),
            "strength": it.strength,
            "relative_strength": it.strength / top,
            "obs_boxes": [list(b) for b in it.obs_boxes],
            "rgb_boxes": [list(b) for b in it.rgb_boxes],
        }
        for it in items
    ]


def write_interaction_report(
    agent: Agent,
    out_dir: str | Path,
    *,
    action: int | str | None = None,
    group: str = "cell",
    frame_rgb: np.ndarray | None = None,
    top_k: int = 10,
    figure_pairs: int = 5,
) -> dict[str, Path]:
    """Write interactions.json and PNG figures (heat map and top pairs on a frame) per analysis.

    ``action=None`` covers the policy overall, every action and (actor-critic) the value;
    an int covers that action plus the overall view. ``frame_rgb`` (210x160x3 RGB) is the
    backdrop for the pair figures; without one a neutral grid is drawn. Returns name -> path.
    """
    check_group(group)
    if action is not None and action != "value" and not (
        isinstance(action, (int, np.integer)) and 0 <= int(action) < agent.n_actions
    ):
        raise RlvizError(f"action must be None, 'value' or an index 0..{agent.n_actions - 1}, got {action!r}")
    out = check_output_dir(out_dir)
    parts = cnn_parts(agent)
    rgb_shape = RGB_SHAPE if frame_rgb is None else tuple(np.asarray(frame_rgb).shape[:2])
    backdrop = blank_frame(rgb_shape) if frame_rgb is None else np.asarray(frame_rgb, np.uint8)
    geo = cell_geometry(parts, group, rgb_shape)
    paths: dict[str, Path] = {}
    report: dict[str, Any] = {
        "method": "Neural Interaction Detection (Tsang et al. 2018) on fc1 and the head, weights only",
        "group": group,
        "grid": list(parts.grid),
        "grouping_rule": "weight of a group to an fc1 unit = sum of |W1| over the group's conv3 features",
        "box_format": "[x0, y0, x1, y1] pixels, x1 and y1 exclusive; obs = 84x84 observation, rgb = game frame",
        "rgb_shape": list(rgb_shape),
        "action_names": list(agent.action_names),
        "analyses": {},
    }
    for key, title, act in _analyses(agent, action):
        z = policy_influence(agent, act, parts)
        matrix = pairwise_strengths(grouped_weights(parts, group), z).numpy()
        pairs = label_pairs(rank_pairs(matrix, top_k), geo, group)
        anyorder = label_pairs(greedy_interactions(grouped_weights(parts, group), z, top_k=top_k), geo, group)
        report["analyses"][key] = {
            "title": title, "action": act,
            "median_pair_strength": float(np.median(matrix[np.triu_indices_from(matrix, 1)])),
            "pairs": _to_json(pairs), "any_order": _to_json(anyorder),
        }
        grid = parts.grid[1:] if group == "cell" else None
        heat = draw_interaction_matrix(matrix, title=f"Which {group}s work together: {title}", grid=grid)
        paths[f"matrix_{key}"] = out / f"matrix_{key}.png"
        save_png(paths[f"matrix_{key}"], heat)
        if group == "cell":
            typical = float(np.median(matrix[np.triu_indices_from(matrix, 1)]))
            fig = draw_interaction_pairs(backdrop, pairs[:figure_pairs], typical_strength=typical,
                                         title=f"Screen regions combined for {title}")
            paths[f"pairs_{key}"] = out / f"pairs_{key}.png"
            save_png(paths[f"pairs_{key}"], fig)
    paths["json"] = out / "interactions.json"
    write_text_atomic(paths["json"], json.dumps(report, indent=1))
    return paths
