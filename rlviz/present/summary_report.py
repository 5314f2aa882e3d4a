"""Writing a summary (``rlviz summarize``): summary.json, aggregates.npz and one figure per move.

``summary.json`` (schema ``rlviz.summary/1``; fields marked * were added later and are optional:
a reader of the first version ignores them, a reader of these must allow them to be absent)::

    agent, game, action_names, episodes, frames_per_episode, seed, returns, frames,
    frames_per_action {name: n}, workers, seconds,
    layers: [{name, channels, grid [h, w], receptive_field, jump}]       # conv layers, in order
    rules: {activation_mass, top_influences, contribution,
            relevance_place*, fc1_grouping*}                           # the counting rules used
    dense*: {name "fc1", units, groups: [{group, label, units}]} | null  # fc1's unit groups
    actions: {name: {                                                  # moves chosen at least once
        frames,
        top_channels: {layer: [{channel, selectivity, mean_activation, summit_frequency,
                                where [y, x], relevance_where* [y, x] | null}]},
                                                   # the layer's most selective channels for the move
        graph: {vertices: [{layer, channel, score, mean_activation, selectivity, where [y, x], peaks [9],
                            relevance_where* [y, x] | null,
                            examples: [{episode, step, activation, box [x0, y0, x1, y1]}]}],
                edges: [{source "conv2:5", target "conv3:11" | "action", weight, strength}]},
        fc1_groups*: [{group, label, units, contribution, mean_activation, selectivity,
                       relevance_where [y, x] | null}],                 # every group, on this move
        fc1_graph*: {vertices: [{layer "fc1", group, label, units, score, mean_activation, selectivity,
                                 relevance_where}],
                     edges: [{source "conv3:11", target "fc1:2", weight, strength, frequency},
                             {source "fc1:2", target "action", weight, strength}]},
        figure: "graph_UP.png"}}

``graph`` is the conv part of the attribution graph, as in the first version (its last layer's
edges go straight to the action); ``fc1_graph`` continues it through fc1: from the same last-layer
vertices to the groups of fc1 units, and from the groups to the action. The figure draws both.

``selectivity`` is (mean spatial max when the move was chosen - mean over all frames) / std over
all frames; ``summit_frequency`` the share of the move's frames on which Summit's mass rule
counted the channel; ``where`` the activation-weighted mean place (observation pixels, 84x84)
where it fires on those frames and ``peaks`` the share of its spatial maxima in each third of the
screen (3 x 3, row-major from the top left); an edge's ``weight`` is the share of the move's
frames on which the source was among the target's top inputs (into the action: the mean
contribution) and ``strength`` the mean influence max_xy (X_i * K_ji); vertex ``score`` is the mean contribution to the move (last
layer) or how often it was among the top inputs of the vertices above, summed.
``relevance_where`` is where on the screen (observation pixels, y then x) the pixels that excite
the channel lie, on average over the move's frames: the mean place weighted by excitatory
gradient x input (``rlviz.assess.summary_relevance``); null for a channel that never fired. An
fc1 group (``rlviz.assess.summary_dense``) holds the units that push move ``label`` hardest;
its ``contribution``/``score`` is its mean push (gradient x activation) towards the move, a
conv -> fc1 edge's ``weight`` the channel's mean push through the group (positive ones only),
``strength`` its mean influence on the group's active units and ``frequency`` Summit's count of
it among the group's 5 strongest inputs. Every running
sum is in ``aggregates.npz`` (plain arrays, ``np.load(..., allow_pickle=False)``), so summaries of
more episodes can be added to it. A step is counted within its episode from the reset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rlviz.assess.summary import SummaryAccumulator, attribution_graph, fc1_graph
from rlviz.assess.summary_run import SummaryResult
from rlviz.present.faithfulness_figures import save_png
from rlviz.present.summary_figures import VertexView, draw_attribution_graph, peak_words
from rlviz.util.safe_io import atomic_path, write_text_atomic


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _place(place: np.ndarray) -> list[float] | None:
    return None if not np.isfinite(place).all() else [round(float(v), 2) for v in place]


def _vertex_json(acc: SummaryAccumulator, action: int, layer: str, channel: int, score: float) -> dict:
    li = [g.name for g in acc.layers].index(layer)
    geo = acc.layers[li]
    y, x = acc.where(layer)[action, channel]
    return {
        "layer": layer, "channel": channel, "score": round(score, 6),
        "mean_activation": round(float(acc.mean_activation(layer)[action, channel]), 6),
        "selectivity": round(float(acc.selectivity(layer)[action, channel]), 4),
        "where": [round(float(y), 2), round(float(x), 2)],
        "relevance_where": _place(acc.relevance_where(layer, action)[channel]),
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
                  "contribution": "gradient x activation of f_a - mean_b f_b, summed over space",
                  "relevance_place": "mean place weighted by excitatory gradient x input (negative weights zeroed, "
                                     "ReLU gates of the real pass)",
                  "fc1_grouping": "each fc1 unit joins the move its centred output weight favours most"},
        "dense": None if acc.dense is None else {
            "name": acc.dense.name, "units": acc.dense.units,
            "groups": [{"group": g, "label": label, "units": int(n)}
                       for g, (label, n) in enumerate(zip(acc.dense.labels, acc.dense.sizes()))]},
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
                             "where": [round(float(v), 2) for v in where[c]],
                             "relevance_where": _place(acc.relevance_where(g.name, a)[c])}
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
        if acc.dense is not None:
            out["actions"][name].update(_fc1_json(acc, a, [v.channel for v in vertices if v.layer == acc.layers[-1].name],
                                                  per_layer))
    return out


def _fc1_json(acc: SummaryAccumulator, action: int, conv_top: list[int], per_layer: int) -> dict:
    """``fc1_groups`` and ``fc1_graph`` of one move (see the module docstring)."""
    d = acc.dense
    contrib, act = acc.mean_contribution(d.name)[action], acc.mean_activation(d.name)[action]
    sel, places, sizes = acc.selectivity(d.name)[action], acc.relevance_where(d.name, action), d.sizes()

    def group(g: int) -> dict:
        return {"group": g, "label": d.labels[g], "units": int(sizes[g]), "contribution": round(float(contrib[g]), 6),
                "mean_activation": round(float(act[g]), 6), "selectivity": round(float(sel[g]), 4),
                "relevance_where": _place(places[g])}

    vertices, edges = fc1_graph(acc, action, conv_top, per_layer=per_layer)
    return {
        "fc1_groups": [group(g) for g in range(d.n_groups)],
        "fc1_graph": {
            "vertices": [{"layer": d.name, **{k: v for k, v in group(v.channel).items() if k != "contribution"},
                          "score": round(v.score, 6)} for v in vertices],
            "edges": [{"source": f"{e.source[0]}:{e.source[1]}",
                       "target": e.target if isinstance(e.target, str) else f"{e.target[0]}:{e.target[1]}",
                       "weight": round(e.weight, 6), "strength": round(e.strength, 6),
                       **({} if e.frequency is None else {"frequency": round(e.frequency, 4)})} for e in edges],
        },
    }


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
        place = v.get("relevance_where")
        columns[li].append(VertexView(
            li, f"{v['layer']} #{v['channel']}", peak_words(list(overall_peaks(acc, v["layer"], v["channel"]))),
            [e.frame for e in examples], [ex["box"] for ex in v["examples"]],
            [f"game {e.episode + 1}, step {e.step}" for e in examples], None if place is None else tuple(place)))
    graph_edges = list(entry["graph"]["edges"])
    if "fc1_graph" in entry:  # the conv graph continues through fc1: its edges to the action are replaced
        graph_edges = [e for e in graph_edges if e["target"] != "action"]
        columns.append([])
        last = f"{names[-1]}:"
        for v in entry["fc1_graph"]["vertices"]:
            rows[f"{v['layer']}:{v['group']}"] = (len(names), len(columns[-1]))
            feeder = [e["source"] for e in entry["fc1_graph"]["edges"] if e["target"] == f"{v['layer']}:{v['group']}"]
            source = int((feeder[0] if feeder else next(k for k in rows if k.startswith(last))).split(":")[1])
            frames = acc.examples[len(names) - 1][source][:1]
            place = v.get("relevance_where")
            columns[-1].append(VertexView(
                len(names), f"fc1: the {v['label']} units", f"{v['units']} units that push {v['label']} most",
                [e.frame for e in frames], [None] * len(frames), ["ring: its input's place"] * len(frames),
                None if place is None else tuple(place),
                [f"push to {action_name}:", f"{v['score']:+.2f} (mean)", f"active: {v['mean_activation']:.2f}"]))
        graph_edges += entry["fc1_graph"]["edges"]
    edges = []
    kinds = {"action": 0.0, "fc1": 0.0, "conv": 0.0}

    def kind(e: dict) -> str:
        return "action" if e["target"] == "action" else "fc1" if "frequency" in e else "conv"

    for e in graph_edges:  # conv -> conv by influence, conv -> fc1 by push, into the move by push
        value = abs(e["strength"]) if kind(e) == "conv" else abs(e["weight"])
        kinds[kind(e)] = max(kinds[kind(e)], value)
    for e in graph_edges:
        value = abs(e["strength"]) if kind(e) == "conv" else abs(e["weight"])
        weight = value / kinds[kind(e)] if kinds[kind(e)] > 0 else 0.0
        edges.append((rows[e["source"]], None if kind(e) == "action" else rows[e["target"]], weight))
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
