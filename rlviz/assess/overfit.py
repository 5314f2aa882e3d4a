"""The overfit-agent experiment (Greydanus et al. 2018, §4.4): does saliency find the hints?

Two agents are trained on the same hinted env (:mod:`rlviz.play.hints`): the *overfit* agent sees
an expert's move in the bottom strip of every frame, the *control* sees random moves there.
The overfit agent learns to copy the strip; the control learns to ignore it. A faithful
explanation must put much of the overfit agent's mass on the strip, and little of the
control's. This module measures, for each agent over greedy play:

* the share of its actor-saliency mass (positive part) inside the strip, per frame;
* the same for the LRP map (absolute relevance summed over the frame stack);
* how often it chose the hinted move (about 1/6 for an agent that ignores the hints).

A map spread evenly would put ``HINT_ROWS / 84`` (4.8%) of its mass on the strip.

Example:
    >>> result = hint_experiment(load_agent("agents/pong-overfit"), load_agent("agents/pong-control"))
    >>> print(result.table())
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.assess.faithfulness import mean_ci
from rlviz.explain.perturbation import perturbation_saliency
from rlviz.play.hints import HINT_ROWS, hint_fraction, hint_source, read_hint
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import write_text_atomic


@dataclass
class HintMass:
    """One agent's reliance on the hint strip, as its explanations and its actions show it."""

    agent: str
    hints: str  # "expert" or "random"
    frames: int
    saliency_mass: float  # mean share of actor-saliency mass on the strip
    saliency_ci: float  # 95% half-width over frames
    lrp_mass: float | None  # mean share of |LRP relevance| on the strip (None when not measured)
    lrp_ci: float | None
    follows_hint: float  # share of steps whose action is the hinted one
    uniform_mass: float  # the share a map spread evenly would give

    def row(self) -> str:
        lrp = f"{self.lrp_mass:7.1%} ± {self.lrp_ci:5.1%}" if self.lrp_mass is not None else f"{'-':>16}"
        return f"{self.agent:<16} {self.hints:<7} {self.saliency_mass:7.1%} ± {self.saliency_ci:5.1%}   {lrp}   {self.follows_hint:7.1%}"


@dataclass
class HintExperiment:
    overfit: HintMass
    control: HintMass

    def table(self) -> str:
        head = f"{'agent':<16} {'hints':<7} {'saliency on strip':>18}   {'LRP on strip':>16}   {'follows hint':>12}"
        foot = f"(a map spread evenly puts {self.overfit.uniform_mass:.1%} of its mass on the strip)"
        return "\n".join([head, self.overfit.row(), self.control.row(), foot])

    def to_json(self) -> str:
        return json.dumps({"overfit": asdict(self.overfit), "control": asdict(self.control)}, indent=2)


def hinted_play(agent: Agent, *, frames: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy play in the agent's hinted env; returns observations (N, 4, 84, 84) uint8 (hints
    included), the hinted moves (N,) and the agent's moves (N,). Episodes follow each other
    (seed, seed + 1, ...) until ``frames`` steps are collected."""
    from rlviz.play.rollout import env_for, play

    if hint_source(agent) is None:
        raise RlvizError(f"agent {agent.name!r} was not trained with hint pixels; train one with rlviz train --hints")
    if frames < 1:
        raise RlvizError(f"frames must be at least 1, got {frames}")
    env = env_for(agent, render_mode=None)
    try:  # every episode has at least one step, so `frames` episodes always suffice
        steps = list(play(agent, env, seed=seed, max_steps=frames, episodes=frames))
    finally:
        env.close()
    obs = np.stack([s.obs for s in steps])
    hinted = np.array([read_hint(o, agent.n_actions) for o in obs])  # the strip is exact: one block at 255
    return obs, hinted, np.array([s.action for s in steps])


def hint_mass(agent: Agent, *, frames: int = 200, seed: int = 0, batch: int = 16, lrp_maps: bool = True,
              progress: bool = True) -> HintMass:
    """Measure how much of ``agent``'s explanations (and actions) rest on the hint strip."""
    obs, hinted, chosen = hinted_play(agent, frames=frames, seed=seed)
    sal_share, lrp_share = [], []
    for lo in tqdm(range(0, len(obs), batch), desc=f"explaining {agent.name}", unit="batch", disable=not progress, leave=False):
        chunk = obs[lo : lo + batch]
        sal = perturbation_saliency(agent, chunk)
        sal_share.append(hint_fraction(sal.actor, agent.n_actions))
        if lrp_maps:
            from rlviz.explain.lrp import lrp

            relevance = np.abs(lrp(agent, chunk)).sum(axis=1)
            lrp_share.append(hint_fraction(relevance, agent.n_actions))
    sal_mean, sal_ci = mean_ci(np.concatenate(sal_share))
    lrp_mean, lrp_ci = mean_ci(np.concatenate(lrp_share)) if lrp_share else (None, None)
    size = obs.shape[-1]
    return HintMass(
        agent=agent.name,
        hints=hint_source(agent)["source"],
        frames=len(obs),
        saliency_mass=float(sal_mean),
        saliency_ci=float(sal_ci),
        lrp_mass=None if lrp_mean is None else float(lrp_mean),
        lrp_ci=None if lrp_ci is None else float(lrp_ci),
        follows_hint=float(np.mean(hinted == chosen)),
        uniform_mass=HINT_ROWS / size,
    )


def hint_experiment(overfit: Agent, control: Agent, *, frames: int = 200, seed: int = 0, progress: bool = True, lrp_maps: bool = True,
                    json_path: str | Path | None = None) -> HintExperiment:
    """Both halves of the experiment; the overfit agent must use expert hints, the control random ones."""
    if (hint_source(overfit) or {}).get("source") != "expert":
        raise RlvizError(f"{overfit.name!r} is not an expert-hint agent; pass the agent trained with --hints EXPERT first")
    if (hint_source(control) or {}).get("source") != "random":
        raise RlvizError(f"{control.name!r} is not a random-hint control; pass the agent trained with --hints random second")
    result = HintExperiment(
        hint_mass(overfit, frames=frames, seed=seed, lrp_maps=lrp_maps, progress=progress),
        hint_mass(control, frames=frames, seed=seed, lrp_maps=lrp_maps, progress=progress),
    )
    if json_path is not None:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(json_path, result.to_json() + "\n")
    return result
