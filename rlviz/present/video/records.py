"""What passes between the video's passes: the records of played and explained steps, the result,
and the agent's labels shared by every kind of video."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.play.rollout import Step
from rlviz.present import moments
from rlviz.util.errors import RlvizError
from rlviz.util.gridstore import GridStore

EXPLANATIONS = ("saliency", "lrp", "interactions")
PAIRS_SHOWN = 3  # strongest active region pairs drawn per frame


@dataclass(slots=True)
class ExplainedStep:
    step: Step
    grids: GridStore | None = None  # where the (actor, critic) saliency grids are kept
    grid_index: int = -1
    relevance_scale: float | None = None  # 99.5th percentile of |LRP|; the map is redrawn on replay
    pairs: list | None = None  # strongest active region pairs for the chosen action
    object_shares: dict[str, dict[str, float]] | None = None  # panel -> each object's share of its map
    pair_objects: list[tuple[str | None, str | None]] | None = None  # the object each pair's cell mostly holds
    method_maps: dict[str, tuple[GridStore, int]] | None = None  # panel -> where its 84x84 map is kept
    method_scales: dict[str, float] | None = None  # panel -> 99.5th percentile of |map|

    def saliency_grids(self) -> np.ndarray | None:
        """The [2, 17, 17] (actor, critic) grids, in one read from the store; None without saliency."""
        return self.grids[self.grid_index] if self.grids is not None else None

    def method_map(self, key: str) -> np.ndarray | None:
        """The 84x84 map of the method panel ``key`` (rlviz.present.method_panels), or None."""
        if not self.method_maps or key not in self.method_maps:
            return None
        store, index = self.method_maps[key]
        return store[index]


@dataclass
class VideoResult:
    path: Path
    frames: int  # game frames written (cards not counted)
    score: float
    seconds: float
    interrupted: bool = False
    scales: dict[str, float] = field(default_factory=dict)
    moments: list[moments.Moment] = field(default_factory=list)
    timeline: dict = field(default_factory=dict)  # what --json writes (rlviz.present.video.timeline)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def parse_explain(explain: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'saliency,lrp,deeplift:target=contrast' -> ('saliency', 'lrp', 'deeplift:target=contrast'),
    validated: the panels of EXPLANATIONS, or any registered method with its options
    (rlviz.present.method_panels)."""
    from rlviz.explain.registry import method_names
    from rlviz.present.method_panels import is_method_panel, parse_method_panel

    items = tuple(s.strip() for s in (explain.split(",") if isinstance(explain, str) else explain) if s.strip())
    unknown = [s for s in items if s not in EXPLANATIONS and not is_method_panel(s)]
    if unknown or not items:
        raise RlvizError(f"unknown explanation(s) {', '.join(unknown or items) or '(none)'}; choose from "
                         f"{', '.join(EXPLANATIONS + tuple(method_names()))} (a method takes options as METHOD:OPTION=VALUE)")
    if len(set(items)) < len(items):
        raise RlvizError(f"a panel is named twice in {', '.join(items)}; give each once")
    for s in items:
        if s not in EXPLANATIONS:
            parse_method_panel(s)  # its options and target, before any work
    return items


def agent_label(agent: Agent) -> tuple[str, str, str]:
    """(title, subtitle, warning) for the header of a video of this agent."""
    prov = agent.metadata.get("provenance", {}) or {}
    steps = prov.get("steps")
    title = f"{agent.env_spec.game}: agent '{agent.name}'"
    subtitle = ""
    if steps:
        subtitle = f"{prov.get('algorithm', 'trained').split(' ')[0]}, {steps / 1e6:.2g}M training steps"
    evaluation = agent.metadata.get("evaluation") or {}
    if "mean" in evaluation:
        subtitle += f", mean score {evaluation['mean']:+.1f}"
    source = agent.metadata.get("source") or {}
    if not steps and source:
        subtitle = f"imported from {source.get('format', 'a file')}" + (f" ({source['algorithm']})" if source.get("algorithm") else "")
    warning = "" if steps or source else "UNTRAINED network (random weights): the maps show what an untrained net reacts to"
    return title, subtitle, warning


def training_text(agent: Agent) -> str:
    prov = agent.metadata.get("provenance", {}) or {}
    steps = prov.get("steps")
    hints = (agent.metadata.get("hints") or {}).get("source")
    if steps:
        with_hints = {"expert": ", with the expert's hints", "random": ", with random hints"}.get(hints, "")
        return f"{prov.get('algorithm', 'RL').split(' ')[0]} for {steps / 1e6:.2g} million steps{with_hints}"
    source = agent.metadata.get("source") or {}
    return f"imported from {source['format']}" if source.get("format") else ""


def episode_starts(steps: list[Step]) -> tuple[int, ...]:
    """Indices of the steps that begin an episode."""
    return tuple(k for k, s in enumerate(steps) if k == 0 or s.episode != steps[k - 1].episode)

