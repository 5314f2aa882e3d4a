"""The report's "What it learned" section: an ``rlviz summarize`` output (summary.json, schema
rlviz.summary/1) on the Summary tab, per move its attribution graph, the channels' dataset
examples with their steps and a caption in plain words.

A dataset example is linked to a step of the report's rollout when the report played the same
game (summary episode e is ``reset(seed=SEED + e)``, as is the report's episode k from its own
seed) and, at that step, the agent's channel fires exactly as strongly as the summary recorded:
the stored activation is the check that the frames are the same, whatever the agents are called.
Fields this page does not know (a newer summary may add some) are shown as they are.

Example:
    >>> doc = load_summary("docs/summaries/pong")
    >>> moves = doc["actions"]            # what summary_tab() turns into the page's data
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.play.rollout import Step
from rlviz.present.summary_figures import BOX, peak_words
from rlviz.util.errors import RlvizError

SCHEMA = "rlviz.summary/1"
KNOWN_TOP = {"schema", "agent", "game", "action_names", "episodes", "frames_per_episode", "seed", "returns", "frames",
             "frames_per_action", "workers", "seconds", "layers", "rules", "actions"}
KNOWN_MOVE = {"frames", "top_channels", "graph", "figure"}
KNOWN_VERTEX = {"layer", "channel", "score", "mean_activation", "selectivity", "where", "peaks", "examples"}
KNOWN_EXAMPLE = {"episode", "step", "activation", "box"}
LAYER_WORDS = ("first layer", "middle layer", "last layer")


def load_summary(folder: str | Path) -> dict:
    """summary.json of an ``rlviz summarize`` folder; a missing file or another schema is
    refused in one line."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        raise RlvizError(f"{folder} has no summary.json; give a folder written by rlviz summarize --out")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise RlvizError(f"{path} is not valid JSON ({e}); write it again with rlviz summarize") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("actions"), dict):
        raise RlvizError(f"{path} is not an rlviz summary (schema {SCHEMA}); write one with rlviz summarize --out")
    return doc


def find_summary(agent: Agent, agent_path: str | Path | None) -> Path | None:
    """A summary of this agent where rlviz puts them, if one exists: ``<agent folder>/summary``,
    ``runs/summary-<name>`` or ``docs/summaries/<name>``, whose summary.json names the same agent
    and game."""
    places = ([Path(agent_path) / "summary"] if agent_path else []) + [
        Path("runs") / f"summary-{agent.name}", Path("docs") / "summaries" / agent.name]
    for place in places:
        try:
            doc = load_summary(place)
        except RlvizError:
            continue
        if doc.get("agent") == agent.name and doc.get("game") == agent.env_spec.game:
            return place
    return None


def check_game(doc: dict, agent: Agent, folder: str | Path) -> None:
    if doc.get("game") != agent.env_spec.game:
        raise RlvizError(f"the summary in {folder} is of {doc.get('game')}, the report's agent plays {agent.env_spec.game}; "
                         f"give a summary of the same game")


def example_candidates(doc: dict, steps: list[Step], seed: int) -> dict[tuple[int, int], int]:
    """(summary episode, step) of every dataset example -> the report's step index showing the
    same game step (same reset seed, same step count), where the rollout has it."""
    first: dict[int, int] = {}
    for k, s in enumerate(steps):
        first.setdefault(s.episode, k)
    out = {}
    for entry in doc["actions"].values():
        for v in entry.get("graph", {}).get("vertices", []):
            for ex in v.get("examples", []):
                e, step = int(ex["episode"]), int(ex["step"])
                k = int(doc.get("seed", 0)) + e - seed  # the report's episode played from the same reset seed
                idx = first.get(k, -1) + step
                if k in first and idx < len(steps) and steps[idx].episode == k and steps[idx].step == step:
                    out[(e, step)] = idx
    return out


def channel_maxima(agent: Agent, obs: np.ndarray) -> dict[str, np.ndarray]:
    """Per conv layer, [N, C]: each channel's maximum over space after its ReLU (what a summary's
    example ``activation`` records)."""
    from rlviz.agents.agent import to_float_obs
    from rlviz.assess.summary import conv_trunk, read_frames

    pairs = conv_trunk(agent.net)
    acts = read_frames(agent.forward, pairs, to_float_obs(obs, agent.device)).activations
    return {f"conv{i + 1}": a.amax(dim=(2, 3)).cpu().numpy() for i, a in enumerate(acts)}


def verified_links(agent: Agent, doc: dict, candidates: dict[tuple[int, int], int],
                   obs: dict[int, np.ndarray]) -> dict[tuple[str, int, int, int], int]:
    """(layer, channel, episode, step) -> report step, for the examples whose channel fires at that
    report step as strongly as the summary recorded (within 1e-4 + 1e-3 relative)."""
    if not candidates or not obs:
        return {}
    order = sorted(set(candidates.values()) & set(obs))
    if not order:
        return {}
    try:
        maxima = channel_maxima(agent, np.stack([obs[i] for i in order]))
    except RlvizError:  # a net without a plain conv trunk cannot be checked, so nothing is linked
        return {}
    row = {idx: r for r, idx in enumerate(order)}
    out = {}
    for entry in doc["actions"].values():
        for v in entry.get("graph", {}).get("vertices", []):
            layer, channel = v.get("layer"), int(v.get("channel", -1))
            for ex in v.get("examples", []):
                idx = candidates.get((int(ex["episode"]), int(ex["step"])))
                if idx is None or idx not in row or layer not in maxima or not 0 <= channel < maxima[layer].shape[1]:
                    continue
                got, want = float(maxima[layer][row[idx], channel]), float(ex["activation"])
                if abs(got - want) <= 1e-4 + 1e-3 * abs(want):
                    out[(layer, channel, int(ex["episode"]), int(ex["step"]))] = idx
    return out


def _extra(d: dict, known: set[str]) -> list[list[str]]:
    """[key, value as short JSON] for the fields the page does not know."""
    out = []
    for k, v in d.items():
        if k not in known:
            text = json.dumps(v, separators=(", ", ": "))
            out.append([k, text if len(text) <= 400 else text[:400] + " ..."])
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def move_labels(doc: dict) -> dict[str, str]:
    """ALE move name -> the game's own word for it (Pong's RIGHT moves the paddle UP)."""
    from rlviz.present.game_words import action_labels

    names = list(doc.get("action_names", []))
    return dict(zip(names, action_labels(str(doc.get("game", "")), names)))


def move_caption(doc: dict, move: str) -> str:
    """What the agent reads to choose ``move``, in plain words, from the move's graph."""
    entry = doc["actions"][move]
    vertices = entry.get("graph", {}).get("vertices", [])
    edges = entry.get("graph", {}).get("edges", [])
    layers = [ly["name"] for ly in doc.get("layers", [])] or sorted({v["layer"] for v in vertices})
    push = {e["source"]: e["weight"] for e in edges if e.get("target") == "action"}
    label = move_labels(doc).get(move, move)
    said = move if label == move else f"{move} ({label})"
    out = [f"It chose {said} on {entry['frames']:,} of the {doc['frames']:,} frames it played."]
    for li in range(len(layers) - 1, -1, -1):
        chosen = [v for v in vertices if v["layer"] == layers[li]]
        if not chosen:
            continue
        word = LAYER_WORDS[li] if len(layers) == 3 else f"layer {layers[li]}"
        parts = [f"#{v['channel']} ({peak_words(v['peaks']).replace('usually peaks', 'mostly')})" if v.get("peaks")
                 else f"#{v['channel']}" for v in chosen]
        if li == len(layers) - 1:
            toward = [v for v in chosen if push.get(f"{v['layer']}:{v['channel']}", 0) > 0]
            verb = "push it towards" if len(toward) == len(chosen) else "weigh most on"
            out.append(f"The {word}'s detectors that {verb} {move} hardest: {', '.join(parts)}.")
        elif li == len(layers) - 2:
            out.append(f"They are fed most by the {word}'s {', '.join(parts)}.")
        else:
            out.append(f"Those in turn read the {word}'s {', '.join(parts)}.")
    out.append("Places are where each detector fired hardest on the frames of this move.")
    return " ".join(out)


def summary_tab(doc: dict, folder: str | Path, out: Path, links: dict[tuple[str, int, int, int], int],
                agent: Agent) -> dict:
    """The page's data for the summary (figures copied into ``out``): per move its caption, graph
    columns (vertices with examples, each linked to a report step or not), edges, the most
    selective channels and any fields this page does not know."""
    out.mkdir(parents=True, exist_ok=True)
    layers = [ly["name"] for ly in doc.get("layers", [])]
    moves = []
    for move in [m for m in doc.get("action_names", []) if m in doc["actions"]] + \
            [m for m in doc["actions"] if m not in doc.get("action_names", [])]:
        entry = doc["actions"][move]
        figure = None
        if isinstance(entry.get("figure"), str) and (Path(folder) / entry["figure"]).is_file():
            figure = f"{out.parent.name}/{out.name}/{Path(entry['figure']).name}"  # relative to the report folder
            shutil.copyfile(Path(folder) / entry["figure"], out / Path(entry["figure"]).name)
        vertices = []
        for v in entry.get("graph", {}).get("vertices", []):
            examples = [{"episode": int(ex["episode"]), "step": int(ex["step"]), "activation": ex.get("activation"),
                         "box": ex.get("box"), "at": links.get((v["layer"], int(v["channel"]), int(ex["episode"]),
                                                                int(ex["step"]))),
                         "extra": _extra(ex, KNOWN_EXAMPLE)} for ex in v.get("examples", [])]
            vertices.append({"id": f"{v['layer']}:{v['channel']}", "layer": v["layer"], "channel": v["channel"],
                             "column": layers.index(v["layer"]) if v["layer"] in layers else 0,
                             "words": peak_words(v["peaks"]) + " on these frames" if v.get("peaks") else "",
                             "score": v.get("score"), "selectivity": v.get("selectivity"),
                             "examples": examples, "extra": _extra(v, KNOWN_VERTEX)})
        moves.append({"move": move, "label": move_labels(doc).get(move, move), "frames": entry.get("frames"), "caption": move_caption(doc, move), "figure": figure,
                      "vertices": vertices, "edges": entry.get("graph", {}).get("edges", []),
                      "top": entry.get("top_channels", {}), "extra": _extra(entry, KNOWN_MOVE)})
    same = doc.get("agent") == agent.name
    return {
        "agent": doc.get("agent"), "game": doc.get("game"), "frames": doc.get("frames"), "episodes": doc.get("episodes"),
        "seed": doc.get("seed"), "returns": doc.get("returns"), "layers": layers, "moves": moves,
        "linked": len(links), "same_agent": same, "box": list(BOX), "extra": _extra(doc, KNOWN_TOP),
    }
