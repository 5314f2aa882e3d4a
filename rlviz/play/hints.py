"""Hint pixels: an action written into the observation, for the overfit-agent experiment.

Greydanus et al. (2018, §4.4) add "hint pixels" to the frames that encode what an expert
would do. An agent trained on them learns to read the hints instead of the game, and a
faithful saliency map must then light up the hint strip; a control agent whose hints are
random noise must not rely on them.

Where the hint goes (exactly): the bottom ``HINT_ROWS`` = 4 rows (rows 80-83) of every one
of the 4 stacked 84x84 observation frames. The strip is split into one block per action,
``84 // n_actions`` columns wide, left to right in action order (6 actions: columns 0-13 for
action 0, 14-27 for action 1, ...); the hinted action's block is 255, every other pixel of
the strip 0. The hint is written *after* the grayscale/resize/stack pipeline, so it reaches
the network bit-exact (ALE preprocessing reads the emulator screen itself, so pixels painted
on the RGB frame before it would not survive). On Pong the strip covers the bottom wall,
which carries no game information. ``render()`` paints the same strip, scaled, onto the
210x160 RGB frame (rows 200-209), so videos and saliency overlays show it where the network
sees it.

The hinted action comes from an ``expert`` (a callable: the clean observation (4, 84, 84)
uint8, without hints -> action) or, for the control, from a seeded random generator that
``reset(seed=s)`` re-seeds, so episodes replay exactly.

Example:
    >>> env = HintPixels(make_env("Pong"), expert=agent_expert(teacher))   # hints from a teacher
    >>> control = HintPixels(make_env("Pong"), seed=0)                     # random hints
    >>> obs, info = env.reset(seed=0); info["hint_action"]
    3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlviz.util.errors import RlvizError

HINT_ROWS = 4
HINT_ON = 255
HINT_OFF = 0

Expert = Callable[[np.ndarray], int]


def hint_blocks(n_actions: int, size: int = 84, rows: int = HINT_ROWS) -> list[tuple[int, int, int, int]]:
    """(row0, row1, col0, col1) of each action's block in a size x size frame, half-open."""
    if n_actions < 1:
        raise RlvizError(f"hints need at least one action, got {n_actions}")
    width = size // n_actions
    if width < 1:
        raise RlvizError(f"{n_actions} actions do not fit a hint strip {size} px wide")
    if not 1 <= rows <= size:
        raise RlvizError(f"hint rows must be between 1 and {size}, got {rows}")
    return [(size - rows, size, a * width, (a + 1) * width) for a in range(n_actions)]


def hint_mask(n_actions: int, size: int = 84, rows: int = HINT_ROWS) -> np.ndarray:
    """Boolean (size, size) mask of the whole hint strip (the pixels the hints overwrite)."""
    mask = np.zeros((size, size), bool)
    mask[size - rows :, :] = True
    return mask


def write_hints(obs: np.ndarray, actions: Any, n_actions: int, rows: int = HINT_ROWS) -> np.ndarray:
    """A copy of uint8 obs (..., H, W) with the hint of ``actions`` (one per leading item, or one
    for all) written into the bottom strip of every stacked frame. Works on single observations
    (4, 84, 84) and on batches (N, 4, 84, 84) from a vector env."""
    obs = np.array(obs, dtype=np.uint8, copy=True)
    if obs.ndim < 2 or obs.shape[-1] != obs.shape[-2]:
        raise RlvizError(f"observations must end in a square frame (..., 84, 84), got {obs.shape}")
    size = obs.shape[-1]
    blocks = hint_blocks(n_actions, size, rows)
    patterns = np.full((n_actions, rows, size), HINT_OFF, np.uint8)
    for a, (_, _, c0, c1) in enumerate(blocks):
        patterns[a, :, c0:c1] = HINT_ON
    acts = np.asarray(actions, dtype=np.int64)
    if ((acts < 0) | (acts >= n_actions)).any():
        raise RlvizError(f"hinted action out of range for {n_actions} actions: {acts}")
    lead = obs.shape[:-2]
    if acts.ndim == 0:
        obs[..., size - rows :, :] = patterns[int(acts)]
        return obs
    batch = acts.shape
    if lead[: len(batch)] != batch:
        raise RlvizError(f"{acts.size} hinted actions do not match observations of shape {obs.shape}")
    pattern = patterns[acts].reshape(*batch, *([1] * (len(lead) - len(batch))), rows, size)
    obs[..., size - rows :, :] = pattern
    return obs


def read_hint(obs: np.ndarray, n_actions: int, rows: int = HINT_ROWS) -> int:
    """The action whose block is brightest in the newest frame of obs (..., H, W); for checks."""
    frame = np.asarray(obs).reshape(-1, *np.asarray(obs).shape[-2:])[-1].astype(np.float64)
    blocks = hint_blocks(n_actions, frame.shape[-1], rows)
    return int(np.argmax([frame[r0:r1, c0:c1].mean() for r0, r1, c0, c1 in blocks]))


def hint_fraction(maps: np.ndarray, n_actions: int | None = None, rows: int = HINT_ROWS) -> np.ndarray:
    """Share of each map's positive mass inside the hint strip, maps (N, H, W) -> (N,).

    For the overfit experiment: near 1 when the explanation says "I read the hints", about
    rows / H (under 5%) for a map spread evenly over the frame.
    """
    maps = np.clip(np.asarray(maps, np.float64), 0, None)
    if maps.ndim == 2:
        maps = maps[None]
    mask = hint_mask(n_actions or 1, maps.shape[-1], rows)
    total = maps.sum(axis=(1, 2))
    inside = maps[:, mask].sum(axis=1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0)


def agent_expert(agent: Any) -> Expert:
    """An expert callable from an rlviz Agent: its greedy action on the clean observation."""
    return lambda obs: int(agent.act(obs)[0])


class HintPixels(gym.Wrapper):
    """Write the expert's (or, for the control, a random) action into the observation's hint strip.

    Wrap the env that gives uint8 (4, 84, 84) observations (``make_env``'s output). The hinted
    action of the returned observation is in ``info["hint_action"]`` and ``self.hint``.

    Example:
        >>> env = HintPixels(make_env("Pong"), expert=lambda obs: 2)
        >>> obs, info = env.reset(seed=0)
        >>> obs[:, 80:, 28:42].min(), info["hint_action"]     # action 2's block is lit
        (255, 2)
    """

    def __init__(self, env: gym.Env, expert: Expert | None = None, *, seed: int = 0, rows: int = HINT_ROWS) -> None:
        super().__init__(env)
        if not isinstance(env.action_space, gym.spaces.Discrete):
            raise RlvizError("hint pixels need a discrete action space")
        shape = env.observation_space.shape
        if shape is None or len(shape) < 2 or shape[-1] != shape[-2]:
            raise RlvizError(f"hint pixels need square observations (..., 84, 84), got {shape}")
        self.expert = expert
        self.n_actions = int(env.action_space.n)
        self.rows = rows
        self.seed_ = seed
        hint_blocks(self.n_actions, shape[-1], rows)  # fail early if the strip cannot fit
        self.rng = np.random.default_rng(seed)
        self.hint = 0
        if hasattr(env, "rlviz_spec"):
            self.rlviz_spec = env.rlviz_spec

    @property
    def control(self) -> bool:
        """True when the hints are random (no expert)."""
        return self.expert is None

    def _hinted(self, obs: Any, info: dict) -> tuple[np.ndarray, dict]:
        clean = np.ascontiguousarray(np.asarray(obs, dtype=np.uint8))
        if self.expert is None:
            self.hint = int(self.rng.integers(self.n_actions))
        else:
            self.hint = int(self.expert(clean))
            if not 0 <= self.hint < self.n_actions:
                raise RlvizError(f"the expert chose action {self.hint}; the env has {self.n_actions} actions")
        info = dict(info)
        info["hint_action"] = self.hint
        return write_hints(clean, self.hint, self.n_actions, self.rows), info

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # type: ignore[override]
        if seed is not None:  # the control's hints replay with the episode
            self.rng = np.random.default_rng([self.seed_, seed])
        obs, info = self.env.reset(seed=seed, options=options)
        return self._hinted(obs, info)

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, info = self._hinted(obs, info)
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        """The RGB frame with the current hint strip painted where the network sees it."""
        frame = self.env.render()
        if not isinstance(frame, np.ndarray) or frame.ndim != 3:
            return frame
        size = self.env.observation_space.shape[-1]
        h, w = frame.shape[:2]
        frame = frame.copy()
        for a, (r0, r1, c0, c1) in enumerate(hint_blocks(self.n_actions, size, self.rows)):
            rows = slice(round(r0 * h / size), round(r1 * h / size))
            cols = slice(round(c0 * w / size), round(c1 * w / size))
            frame[rows, cols] = HINT_ON if a == self.hint else HINT_OFF
        if self.n_actions * (size // self.n_actions) < size:  # columns right of the last block
            frame[round((size - self.rows) * h / size) :, round(self.n_actions * (size // self.n_actions) * w / size) :] = HINT_OFF
        return frame


# ---- hinted agents: the hint source travels with the agent -------------------------------
def hint_source(agent: Any) -> dict | None:
    """The agent's hint setting from its metadata: ``{"source": "expert"}`` (the expert agent is
    ``agent.hint_expert``) or ``{"source": "random", "seed": S}``; None for ordinary agents."""
    hints = agent.metadata.get("hints")
    if hints is None:
        return None
    if not isinstance(hints, dict) or hints.get("source") not in ("expert", "random"):
        raise RlvizError(f"agent {agent.name!r} has an unreadable hint setting {hints!r}; retrain or re-save it")
    if hints["source"] == "expert" and getattr(agent, "hint_expert", None) is None:
        raise RlvizError(f"agent {agent.name!r} was trained on expert hints but its expert/ folder is missing")
    return hints


def wrap_for_agent(env: gym.Env, agent: Any) -> gym.Env:
    """Add the hint strip an agent was trained with (no change for ordinary agents), so it is
    replayed with exactly the observations it learned from."""
    hints = hint_source(agent)
    if hints is None:
        return env
    if hints["source"] == "expert":
        return HintPixels(env, expert=agent_expert(agent.hint_expert))
    return HintPixels(env, seed=int(hints.get("seed", 0)))
