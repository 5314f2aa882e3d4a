"""The background of a game as an agent sees it: the per-pixel median of its observations.

The median over many frames of greedy play through the agent's own pipeline keeps what stays
put (court, walls, the bricks and shields as they mostly are) and drops what moves (ball,
paddles, invaders, bullets). It is computed once per game, pipeline and agent, and cached as
a PNG (lossless, viewable, nothing to unpickle) with a JSON note beside it under
``runs/cache/backgrounds/``; the key hashes the env spec and the weights, so another agent or
pipeline gets its own background.

Example:
    >>> bg = background(agent)            # uint8 (84, 84); computed with a progress bar the first time
    >>> ref = reference_observation(bg)   # float32 (4, 84, 84) in [0, 1], the LRP/IG reference
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.play.rollout import env_for, play
from rlviz.util.errors import RlvizError

CACHE_DIR = Path("runs/cache/backgrounds")
STEPS = 1000  # agent steps of greedy play; about 45 s of CPU on Pong
STEPS_VARIABLE = "RLVIZ_BACKGROUND_STEPS"  # overrides STEPS for background(): quick runs and the test suite


def default_steps() -> int:
    """STEPS, or the count in the environment variable RLVIZ_BACKGROUND_STEPS (a positive integer)."""
    text = os.environ.get(STEPS_VARIABLE, "").strip()
    if not text:
        return STEPS
    if not text.isdigit() or int(text) < 1:
        raise RlvizError(f"{STEPS_VARIABLE} must be a positive number of steps, got {text!r}; unset it for {STEPS}")
    return int(text)


def compute_background(agent: Agent, *, steps: int = STEPS, seed: int = 0, progress: bool = True) -> np.ndarray:
    """uint8 (H, W): the per-pixel median of the newest stacked frame over ``steps`` steps of
    greedy play (episode e from seed + e), through the agent's own pipeline."""
    if steps < 1:
        raise RlvizError(f"a background needs at least 1 step of play, got steps={steps}")
    env = env_for(agent, render_mode=None)
    frames = []
    try:
        bar = tqdm(total=steps, desc=f"background {agent.env_spec.game}", unit="step", disable=not progress)
        # every episode gives at least one step, so the step count is the only limit
        for step in play(agent, env, seed=seed, max_steps=steps, episodes=steps):
            frames.append(step.obs[-1])
            bar.update(1)
        bar.close()
    finally:
        env.close()
    return np.median(np.stack(frames), axis=0).round().astype(np.uint8)


def background_key(agent: Agent, *, steps: int = STEPS, seed: int = 0) -> str:
    """A file stem naming game, pipeline and agent, with a hash of the env spec, weights and settings."""
    h = hashlib.sha256(json.dumps({**agent.env_spec.to_dict(), "steps": steps, "seed": seed}, sort_keys=True).encode())
    for name, tensor in sorted(agent.net.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    spec = agent.env_spec
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in agent.name)
    return f"{spec.game}-{spec.pipeline}-{safe}-{h.hexdigest()[:12]}"


def background(
    agent: Agent,
    *,
    steps: int | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = CACHE_DIR,
    refresh: bool = False,
    progress: bool = True,
) -> np.ndarray:
    """The agent's background, uint8 (H, W): read from the cache, or computed and cached.

    ``cache_dir=None`` computes without caching; ``refresh=True`` recomputes. ``steps``: the
    steps of play behind it (default :func:`default_steps`)."""
    steps = default_steps() if steps is None else steps
    if cache_dir is None:
        return compute_background(agent, steps=steps, seed=seed, progress=progress)
    path = Path(cache_dir) / f"{background_key(agent, steps=steps, seed=seed)}.png"
    if path.is_file() and not refresh:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is not None and image.shape == tuple(agent.env_spec.obs_shape[1:]):
            return image
    image = compute_background(agent, steps=steps, seed=seed, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise RlvizError(f"could not write the background cache {path}; pass another cache_dir")
    note: dict[str, Any] = {"game": agent.env_spec.game, "agent": agent.name, "steps": steps, "seed": seed,
                            "env": agent.env_spec.to_dict(), "statistic": "per-pixel median of the newest stacked frame"}
    path.with_suffix(".json").write_text(json.dumps(note, indent=1))
    return image


def reference_observation(background: np.ndarray, stack: int = 4) -> torch.Tensor:
    """The background as one observation: float32 (stack, H, W) in [0, 1], every frame the same."""
    bg = np.asarray(background)
    if bg.ndim != 2:
        raise RlvizError(f"a background is one frame (H, W), got shape {bg.shape}")
    return torch.from_numpy(np.repeat(bg[None].astype(np.float32) / 255.0, stack, axis=0))
