"""Pass 1: play the episode greedily, keeping only small records (no observations, no frames)."""

from __future__ import annotations

from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.play.rollout import Step, play


def record(agent: Agent, env, *, seed: int, frames: int, episodes: int = 1, progress: bool = True) -> tuple[list[Step], bool]:
    """Play greedily; returns the steps and whether Ctrl-C cut the play short."""
    steps: list[Step] = []
    bar = tqdm(total=frames, unit="step", desc="playing", disable=not progress, leave=False)
    try:
        for step in play(agent, env, seed=seed, max_steps=frames, episodes=episodes):
            step.obs = None  # memory stays flat in video length: replays bring observations back
            steps.append(step)
            bar.update(1)
    except KeyboardInterrupt:
        return steps, True
    finally:
        bar.close()
    return steps, False
