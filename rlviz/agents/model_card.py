"""Model cards: an honest README.md for a bundled agent, from a real evaluation."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

from rlviz.agents.agent import Agent
from rlviz.agents.evaluate import Evaluation, check_policy, evaluate, evaluate_random
from rlviz.agents.folder import read_agent_json
from rlviz.play.hints import hint_source
from rlviz.util.safe_io import write_text_atomic

STICKY_V5 = 0.25  # ALE v5's repeat-action probability (Machado et al. 2018)


def with_sticky_actions(agent: Agent, prob: float) -> Agent:
    """The same agent (shared network) playing an env with sticky actions ``prob``."""
    other = copy.copy(agent)
    other.env_spec = dataclasses.replace(agent.env_spec, sticky_action_prob=prob)
    return other


def write_model_card(
    agent: Agent, folder: str | Path, *, episodes: int = 10, seed: int = 0, progress: bool = True, sampled: bool = False,
    sticky_actions: float | None = STICKY_V5,
) -> tuple[Evaluation, Evaluation]:
    """Evaluate ``agent`` and a uniform-random policy over the same seeded episodes, store the
    result in ``agent.json`` and write ``README.md`` beside it. The headline is the greedy
    policy under the agent's own pipeline (the one rlviz's videos show); ``sampled=True`` adds
    the sampled policy's score; ``sticky_actions`` (default 0.25, ALE v5) scores the same
    policies again with that repeat-action probability, unless the agent's pipeline has it
    already (None: skip), since a score without sticky actions can hide a memorised route."""
    folder = Path(folder)
    if sampled:  # refused before the long greedy evaluation, not after it
        check_policy(agent, "sampled")
    ours = evaluate(agent, episodes=episodes, seed=seed, progress=progress)
    drawn = evaluate(agent, episodes=episodes, seed=seed, progress=progress, policy="sampled") if sampled else None
    sticky: dict[str, Evaluation] = {}
    if sticky_actions is not None and sticky_actions != agent.env_spec.sticky_action_prob:
        shaken = with_sticky_actions(agent, sticky_actions)
        for policy in ("greedy", "sampled") if sampled else ("greedy",):
            sticky[policy] = evaluate(shaken, episodes=episodes, seed=seed, progress=progress, policy=policy)
    baseline = evaluate_random(agent.env_spec, episodes=episodes, seed=seed)
    doc = read_agent_json(folder / "agent.json")
    doc["evaluation"] = {
        "episodes": episodes,
        "seed": seed,
        "policy": "greedy",
        "mean": ours.mean,
        "std": ours.std,
        "returns": ours.returns,
        "random_policy": {"mean": baseline.mean, "std": baseline.std, "returns": baseline.returns},
    }
    if drawn is not None:
        doc["evaluation"]["sampled_policy"] = {"mean": drawn.mean, "std": drawn.std, "returns": drawn.returns}
    if sticky:
        doc["evaluation"]["sticky_actions"] = {
            "prob": sticky_actions, **{p: {"mean": e.mean, "std": e.std, "returns": e.returns} for p, e in sticky.items()},
        }
    write_text_atomic(folder / "agent.json", json.dumps(doc, indent=2) + "\n")  # replaces a link, never writes through it
    prov = doc.get("provenance", {})
    spec = doc["env"]
    # an imported agent has no training record: say so, rather than "0 steps" and "0.00 h"
    frames = f" ({prov['frames']:,} emulator frames)" if "frames" in prov else ""
    steps = f"{prov['steps']:,} agent steps{frames}" if "steps" in prov else "not recorded"
    wall = f"{prov['wall_time_s'] / 3600:.2f} h" if "wall_time_s" in prov else "not recorded"
    lines = [
        f"# {folder.name}",
        "",
        f"A {doc['architecture']['name']} agent for **{spec['game']}**, {_origin(doc)}.",
        "",
        "| | |",
        "|---|---|",
        f"| game | {spec['game']} (pipeline `{spec['pipeline']}`, frame skip {spec['frame_skip']}, stack {spec['frame_stack']}, sticky actions {spec['sticky_action_prob']}, up to {spec['noop_max']} no-op starts) |",
        f"| algorithm | {prov.get('algorithm', 'unknown')} |",
        f"| training steps | {steps} |",
        f"| wall time | {wall} |",
        f"| hardware | {prov.get('hardware', 'unknown')} |",
        f"| evaluation | **{ours.mean:+.2f} ± {ours.std:.2f}** (mean ± std of {episodes} greedy episodes, seeds {seed}..{seed + episodes - 1}) |",
        *([f"| sampled policy | {drawn.mean:+.2f} ± {drawn.std:.2f} (each move drawn from the policy, generator seeded per episode; "
             "RL Zoo's default for Atari) |"] if drawn else []),
        *[f"| {p}, sticky actions {sticky_actions:g} | {e.mean:+.2f} ± {e.std:.2f} (same seeds; the agent's pipeline "
          f"with repeat-action probability {sticky_actions:g}, as ALE v5) |" for p, e in sticky.items()],
        f"| random policy | {baseline.mean:+.2f} ± {baseline.std:.2f} (same seeds) |",
        *_hint_rows(agent),
        "",
        f"Returns: {', '.join(f'{r:+g}' for r in ours.returns)}",
        *(["", f"Returns of the sampled policy: {', '.join(f'{r:+g}' for r in drawn.returns)}"] if drawn else []),
        "",
        "Reproduce the evaluation:",
        "",
        "```bash",
        f".venv/bin/rlviz evaluate --agent agents/{folder.name} --episodes {episodes} --seed {seed}",
        *([f".venv/bin/rlviz evaluate --agent agents/{folder.name} --episodes {episodes} --seed {seed} --policy sampled"] if drawn else []),
        "```",
        "",
        "Training configuration (from `agent.json`):",
        "",
        "```json",
        json.dumps(prov.get("config", {}), indent=2),
        "```",
        "",
    ]
    write_text_atomic(folder / "README.md", "\n".join(lines))
    return ours, baseline


def _hint_rows(agent: Agent) -> list[str]:
    """A model-card row for agents trained on hint pixels (the overfit-agent experiment)."""
    hints = hint_source(agent)
    if hints is None:
        return []
    if hints["source"] == "expert":
        what = f"the move of the expert `{agent.hint_expert.name}` (bundled in `expert/`)"
    else:
        what = "a random move (control)"
    return [f"| hint pixels | every frame's bottom 4 rows show {what}; see `rlviz.play.hints` |"]


def _origin(doc: dict) -> str:
    """Where the agent came from: rlviz's trainer, or the file it was imported from."""
    source = doc.get("source") or {}
    if source and not (doc.get("provenance") or {}).get("steps"):
        what = source.get("format", "a file") + (f", {source['algorithm']}" if source.get("algorithm") else "")
        return f"imported from `{source.get('file', 'a file')}` ({what})"
    return "trained by rlviz's own trainer"
