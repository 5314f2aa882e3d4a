"""The end-to-end path: play an agent, explain every frame, render and write the video.

Two passes keep memory small and let intensity be normalised over the whole video:
1. play the episode greedily and explain the frames in batches, keeping only small records
   (action, value, logits and the 17x17 saliency scores per frame);
2. replay the recorded actions from the same seed to get the RGB frames back, draw each
   frame and stream it into the video file.
Ctrl-C in either pass still finalises a playable video of the frames explained so far.

Example:
    >>> result = make_video(load_agent("agents/pong"), "videos/pong.mp4", frames=300)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rlviz.agent import Agent
from rlviz.errors import RlvizError
from rlviz.explain.perturbation import grid_to_map, grid_centres, perturbation_saliency
from rlviz.render.layout import FrameRenderer, FrameView, Scales, compute_layout
from rlviz.render.video import VideoWriter, check_output_path
from rlviz.rollout import Step, env_for, play, replay_frames

EXPLANATIONS = ("saliency", "lrp")


@dataclass
class ExplainedStep:
    step: Step
    actor_grid: np.ndarray | None = None
    critic_grid: np.ndarray | None = None
    relevance: np.ndarray | None = None  # (84, 84) float16, summed over the stack


@dataclass
class VideoResult:
    path: Path
    frames: int
    score: float
    seconds: float
    interrupted: bool = False
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def parse_explain(explain: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'saliency,lrp' -> ('saliency', 'lrp'), validated."""
    items = tuple(s.strip() for s in (explain.split(",") if isinstance(explain, str) else explain) if s.strip())
    unknown = [s for s in items if s not in EXPLANATIONS]
    if unknown or not items:
        raise RlvizError(f"unknown explanation(s) {unknown or items}; choose from {', '.join(EXPLANATIONS)}")
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
    warning = "" if steps else "UNTRAINED network (random weights): the maps show what an untrained net reacts to"
    return title, subtitle, warning


def _explain_batch(agent: Agent, batch: list[Step], explain: tuple[str, ...], saliency_frames: str) -> list[ExplainedStep]:
    obs = np.stack([s.obs for s in batch])
    out = [ExplainedStep(s) for s in batch]
    if "saliency" in explain:
        sal = perturbation_saliency(agent, obs, frames=saliency_frames)
        for k, e in enumerate(out):
            e.actor_grid, e.critic_grid = sal.actor_grid[k], sal.critic_grid[k]
    if "lrp" in explain:
        from rlviz.explain.lrp import lrp

        rel = lrp(agent, obs, target="action").sum(axis=1)
        for k, e in enumerate(out):
            e.relevance = rel[k].astype(np.float16)
    return out


def _scales(records: list[ExplainedStep], normalize: str) -> Scales:
    if normalize == "frame" or not records:
        return Scales()
    actor = max((float(r.actor_grid.max()) for r in records if r.actor_grid is not None), default=1.0)
    critic = max((float(r.critic_grid.max()) for r in records if r.critic_grid is not None), default=1.0)
    rel = [float(np.percentile(np.abs(r.relevance.astype(np.float32)), 99.5)) for r in records if r.relevance is not None]
    return Scales(actor=actor, critic=critic, relevance=max(rel) if rel else 1.0)


def _frame_scales(record: ExplainedStep) -> Scales:
    return Scales(
        actor=float(record.actor_grid.max()) if record.actor_grid is not None else 1.0,
        critic=float(record.critic_grid.max()) if record.critic_grid is not None else 1.0,
        relevance=float(np.percentile(np.abs(record.relevance.astype(np.float32)), 99.5)) if record.relevance is not None else 1.0,
    )


def make_video(
    agent: Agent,
    out: str | Path,
    *,
    game: str | None = None,
    frames: int = 300,
    seed: int = 0,
    explain: str | tuple[str, ...] = ("saliency",),
    normalize: str = "video",
    saliency_frames: str = "all",
    fps: float = 30.0,
    size: tuple[int, int] = (1280, 720),
    batch: int = 8,
    progress: bool = True,
) -> VideoResult:
    """Play ``agent`` greedily for up to ``frames`` steps from ``reset(seed)``, explain each
    frame and write an annotated video to ``out`` (.mp4 or .gif). Returns a summary."""
    explain = parse_explain(explain)
    if normalize not in ("video", "frame"):
        raise RlvizError(f"normalize must be 'video' or 'frame', got {normalize!r}")
    if frames < 1:
        raise RlvizError(f"frames must be at least 1, got {frames}")
    path = check_output_path(out)
    env = env_for(agent, game)  # checks observation shape and action count before any work
    layout = compute_layout(*size, panels=explain)
    start = time.time()
    records: list[ExplainedStep] = []
    interrupted = False
    bar = tqdm(total=frames, unit="frame", desc="explaining", disable=not progress, leave=False)
    try:
        pending: list[Step] = []
        for step in play(agent, env, seed=seed, max_steps=frames):
            pending.append(step)
            if len(pending) == batch or step.done or step.step == frames - 1:
                records.extend(_explain_batch(agent, pending, explain, saliency_frames))
                bar.update(len(pending))
                pending = []
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    if not records:
        env.close()
        raise RlvizError("interrupted before any frame was explained; nothing was written")
    scales = _scales(records, normalize)
    title, subtitle, warning = agent_label(agent)
    renderer = FrameRenderer(layout, agent.action_names, title=title, subtitle=subtitle, warning=warning)
    centres = grid_centres(agent.env_spec.screen_size)
    size_px = agent.env_spec.screen_size
    values: list[float] = []
    rewards: list[float] = []
    bar = tqdm(total=len(records), unit="frame", desc="rendering", disable=not progress, leave=False)
    written = 0
    try:
        with VideoWriter(path, fps=fps) as writer:
            frames_iter = replay_frames(env, [r.step for r in records], seed=seed)
            for record, rgb in zip(records, frames_iter):
                s = record.step
                values.append(s.value)
                rewards.append(s.reward)
                logits = torch.as_tensor(s.logits)[None]
                view = FrameView(
                    rgb=rgb,
                    step=s.step,
                    action=s.action,
                    probs=agent.probabilities(logits)[0].numpy(),
                    value=s.value,
                    score=s.score,
                    actor=grid_to_map(record.actor_grid, size_px, centres) if record.actor_grid is not None else None,
                    critic=grid_to_map(record.critic_grid, size_px, centres) if record.critic_grid is not None else None,
                    relevance=record.relevance.astype(np.float32) if record.relevance is not None else None,
                    value_history=values,
                    reward_history=rewards,
                )
                writer.write(renderer.render(view, scales if normalize == "video" else _frame_scales(record)))
                written += 1
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        env.close()
    return VideoResult(
        path=path,
        frames=written,
        score=records[written - 1].step.score if written else 0.0,
        seconds=time.time() - start,
        interrupted=interrupted,
        scales={"actor": scales.actor, "critic": scales.critic, "relevance": scales.relevance},
    )
