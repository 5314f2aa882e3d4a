"""Writing a summary (``rlviz summarize``): summary.json, aggregates.npz and one figure per move.

``summary.json`` (schema ``rlviz.summary/1``)::

    agent, game, action_names, episodes, frames_per_episode, seed, returns, frames,
    frames_per_action {name: n}, workers, seconds,
    layers: [{name, channels, grid [h, w], receptive_field, jump}]       # conv layers, in order
    rules: {activation_mass, top_influences, contribution}            # the counting rules used
    actions: {name: {                                                  # moves chosen at least once
        frames,
        top_channels: {layer: [{channel, selectivity, mean_activation, summit_frequency,
                                where [y, x]}]},   # the layer's most selective channels for the move
        graph: {vertices: [{layer, channel, score, mean_activation, selectivity, where [y, x], peaks [9],
                            examples: [{episode, step, activation, box [x0, y0, x1, y1]}]}],
                edges: [{source "conv2:5", target "conv3:11" | "action", weight, strength}]},
        figure: "graph_UP.png"}}

``selectivity`` is (mean spatial max when the move was chosen - mean over all frames) / std over
all frames; ``summit_frequency`` the share of the move's frames on which Summit's mass rule
counted the channel; ``where`` the activation-weighted mean place (observation pixels, 84x84)
where it fires on those frames and ``peaks`` the share of its spatial maxima in each third of the
screen (3 x 3, row-major from the top left); an edge's ``weight`` is the share of the move's
frames on which the source was among the target's top inputs (into the action: the mean
contribution) and ``strength`` the mean influence max_xy (X_i * K_ji); vertex ``score`` is the mean contribution to the move (last
layer) or how often it was among the top inputs of the vertices above, summed. Every running
sum is in ``aggregates.npz`` (plain arrays, ``np.load(..., allow_pickle=False)``), so summaries of
more episodes can be added to it. A step is counted within its episode from the reset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rlviz.assess.summary import SummaryAccumulator, attribution_graph
from rlviz.assess.summary_run import SummaryResult
from rlviz.present.faithfulness_figures import save_png
from rlviz.present.summary_figures import VertexView, draw_attribution_graph, peak_words
from rlviz.util.safe_io import atomic_path, write_text_atomic


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _vertex_json(acc: SummaryAccumulator, action: int, layer: str, channel: int, score: float) -> dict:
    li = [g.name for g in acc.layers].index(layer)
    geo = acc.layers[li]
    y, x = acc.where(layer)[action, channel]
    return {
        "layer": layer, "channel": channel, "score": round(score, 6),
        "mean_activation": round(float(acc.mean_activation(layer)[action, channel]), 6),
        "selectivity": round(float(acc.selectivity(layer)[action, channel]), 4),
        "where": [round(float(y), 2), round(float(x), 2)],
        "peaks": [round(float(v), 4) for v in acc.peak_regions(layer)[action, channel]],
        "examples": [{"episode": e.episode, "step": e.step, "activation": round(e.activation, 6),
                      "box": list(geo.box(e.y, e.x))} for e in acc.examples[li][channel]],
    }


def summary_json(result: SummaryResult, per_layer: int = 3, top_channels: int = 5) -> dict:
    """The document of ``summary.json`` (see the module docstring)."""
    acc = result.accumulator
    frames = acc.frames()
    names = result.action_names
    out = {
        "schema": "rlviz.summary/1",
        "agent": result.agent_name, "game": result.game, "action_names": names,
        "episodes": result.episodes, "frames_per_episode": result.frames_per_episode, "seed": result.seed,
        "returns": result.returns, "frames": int(frames.sum()),
        "frames_per_action": {n: int(f) for n, f in zip(names, frames)},
        "workers": result.workers, "seconds": round(result.seconds, 2),
        "layers": [{"name": g.name, "channels": g.channels, "grid": list(g.grid),
                    "receptive_field": g.receptive_field, "jump": g.jump} for g in acc.layers],
        "rules": {"activation_mass": acc.activation_mass, "top_influences": acc.top_influences,
                  "contribution": "gradient x activation of f_a - mean_b f_b, summed over space"},
        "actions": {},
    }
    for a, name in enumerate(names):
        if frames[a] == 0:
            continue
        tops = {}
        for g in acc.layers:
            sel = acc.selectivity(g.name)[a]
            where = acc.where(g.name)[a]
            tops[g.name] = [{"channel": int(c), "selectivity": round(float(sel[c]), 4),
                             "mean_activation": round(float(acc.mean_activation(g.name)[a, c]), 6),
                             "summit_frequency": round(float(acc.summit_frequency(g.name)[a, c]), 4),
                             "where": [round(float(v), 2) for v in where[c]]}
                            for c in np.argsort(-sel, kind="stable")[:top_channels]]
        vertices, edges = attribution_graph(acc, a, per_layer=per_layer)
        out["actions"][name] = {
            "frames": int(frames[a]), "top_channels": tops,
            "graph": {
                "vertices": [_vertex_json(acc, a, v.layer, v.channel, v.score) for v in vertices],
                "edges": [{"source": f"{e.source[0]}:{e.source[1]}",
                           "target": e.target if isinstance(e.target, str) else f"{e.target[0]}:{e.target[1]}",
                           "weight": round(e.weight, 6), "strength": round(e.strength, 6)} for e in edges],
            },
            "figure": f"graph_{_safe(name)}.png",
        }
    return out


def overall_peaks(acc: SummaryAccumulator, layer: str, channel: int) -> np.ndarray:
    """[9]: where a channel's peaks lie over all frames, whatever the move: the same frames its
    dataset examples come from, so a figure's caption and its examples describe one population."""
    h = acc.sums[f"{layer}.peak_regions"][:, channel].sum(0)
    return h / max(float(h.sum()), 1e-30)


def graph_figure(result: SummaryResult, doc: dict, action_name: str) -> np.ndarray:
    """The slide of one move's attribution graph, from the summary document and the examples."""
    acc = result.accumulator
    names = [g.name for g in acc.layers]
    entry = doc["actions"][action_name]
    columns: list[list[VertexView]] = [[] for _ in names]
    rows: dict[str, tuple[int, int]] = {}
    for v in entry["graph"]["vertices"]:
        li = names.index(v["layer"])
        examples = acc.examples[li][v["channel"]]
        rows[f"{v['layer']}:{v['channel']}"] = (li, len(columns[li]))
        columns[li].append(VertexView(
            li, f"{v['layer']} #{v['channel']}", peak_words(list(overall_peaks(acc, v["layer"], v["channel"]))),
            [e.frame for e in examples], [ex["box"] for ex in v["examples"]],
            [f"game {e.episode + 1}, step {e.step}" for e in examples]))
    edges = []
    by_kind: dict[bool, float] = {}
    for e in entry["graph"]["edges"]:
        by_kind[e["target"] == "action"] = max(by_kind.get(e["target"] == "action", 0.0), abs(e["strength"]))
    for e in entry["graph"]["edges"]:
        to_action = e["target"] == "action"
        weight = abs(e["strength"]) / by_kind[to_action] if by_kind[to_action] > 0 else 0.0
        edges.append((rows[e["source"]], None if to_action else rows[e["target"]], weight))
    total = int(acc.frames().sum())
    games = "game" if result.episodes == 1 else "games"
    seeds = f"seed {result.seed}" if result.episodes == 1 else f"seeds {result.seed}..{result.seed + result.episodes - 1}"
    subtitle = (f"{result.game}: it chose {action_name} on {entry['frames']} of the {total} frames it played greedily "
                f"({result.episodes} {games}, {seeds})")
    return draw_attribution_graph(action_name, result.agent_name, columns, edges, subtitle=subtitle)


def write_summary(result: SummaryResult, out: str | Path, per_layer: int = 3) -> list[Path]:
    """Write summary.json, aggregates.npz and graph_<MOVE>.png per chosen move into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = summary_json(result, per_layer=per_layer)
    paths = [out / "summary.json", out / "aggregates.npz"]
    write_text_atomic(paths[0], json.dumps(doc, indent=1))  # each file whole or not at all
    with atomic_path(paths[1]) as tmp:
        np.savez_compressed(tmp, **{k.replace("->", "_to_"): v for k, v in result.accumulator.sums.items()})
    for name, entry in doc["actions"].items():
        path = out / entry["figure"]
        save_png(path, graph_figure(result, doc, name))
        paths.append(path)
    return paths
