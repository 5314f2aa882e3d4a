"""Playing an agent in its env, step by step, and replaying a recorded episode exactly.

Replays rely on determinism: the same seed and the same actions give the same frames (the
emulator and the noop-start RNG are both seeded by ``reset(seed=...)``). Each recorded step
carries a checksum of its observation, so a replay that drifts is detected, not drawn, and a
long video need not keep its frames or observations in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from rlviz.play.envs import action_names, as_uint8_stack, make_env
from rlviz.play.hints import wrap_for_agent
from rlviz.util.errors import RlvizError


class Policy(Protocol):
    """What playing needs of an agent (:class:`rlviz.agents.agent.Agent` is one): play sits
    below agents in the data flow, so it names the calls it makes instead of importing the class."""

    env_spec: Any
    hint_expert: Any

    def __call__(self, obs: Any) -> tuple[Any, Any]: ...  # uint8 (N, 4, 84, 84) -> (logits [N, A], value [N])

    def probabilities(self, logits: Any) -> Any: ...

    def check_env(self, env_spec: Any, n_env_actions: int) -> None: ...


@dataclass
class Step:
    """One time step: what the agent saw, what it did and what it got."""

    step: int
    obs: np.ndarray | None  # uint8 (4, 84, 84), the input to the agent (dropped once explained)
    action: int
    reward: float  # reward received after taking ``action``
    score: float  # sum of rewards up to and including this step
    logits: np.ndarray
    value: float
    done: bool
    checksum: int
    episode: int = 0  # which episode of the rollout (episode e starts from reset(seed=seed + e))
    lives: int = 0  # lives left after this step (ALE's count; 0 in games without lives, like Pong)


def checksum(obs: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(obs).tobytes())


def env_for(agent: Policy, game: str | None = None, render_mode: str | None = "rgb_array") -> gym.Env:
    """The env the agent was trained in (or ``game`` with the agent's pipeline), checked to fit."""
    spec = agent.env_spec
    env = make_env(game if game is not None else spec.game, spec=spec, render_mode=render_mode)
    agent.check_env(env.rlviz_spec, len(action_names(env)))
    return wrap_for_agent(env, agent)


def play(
    agent: Policy, env: gym.Env, *, seed: int = 0, max_steps: int | None = None, episodes: int = 1,
    sample: np.random.Generator | None = None,
) -> Iterator[Step]:
    """Play greedily (or, with ``sample``, drawing each move from the policy's distribution
    with that generator); yields one :class:`Step` per agent step. Episode e starts from
    ``reset(seed=seed + e)``; play stops after ``episodes`` episodes or ``max_steps`` steps.
    ``Step.step`` counts over the whole rollout, ``Step.score`` within its episode."""
    if episodes < 1:
        raise RlvizError(f"episodes must be at least 1, got {episodes}")
    t = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        score, done = 0.0, False
        while not done:
            if max_steps is not None and t >= max_steps:
                return
            obs = as_uint8_stack(obs)
            logits, value = agent(obs)
            action = int(logits.argmax(-1)[0]) if sample is None else _draw(agent, logits, sample)
            next_obs, reward, terminated, truncated, info = env.step(action)
            score += float(reward)
            done = bool(terminated or truncated)
            yield Step(t, obs, action, float(reward), score, logits[0].cpu().numpy(), float(value[0]), done,
                       checksum(obs), episode, int(info.get("lives", 0)))
            t += 1
            obs = next_obs


def _draw(agent: Policy, logits, rng: np.random.Generator) -> int:
    """One move drawn from softmax(logits) (the policy PPO trained and samples from)."""
    p = agent.probabilities(logits)[0].double().cpu().numpy()
    return int(rng.choice(p.size, p=p / p.sum()))


def replay_frames(
    env: gym.Env, steps: Sequence[Step], *, seed: int, render: bool = True
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Re-run the recorded actions and yield (RGB frame or None, observation) at each step."""
    obs, _ = env.reset(seed=seed + (steps[0].episode if steps else 0))
    for k, step in enumerate(steps):
        if k and step.episode != steps[k - 1].episode:  # the next episode of a multi-episode rollout
            obs, _ = env.reset(seed=seed + step.episode)
        obs = as_uint8_stack(obs)
        if checksum(obs) != step.checksum:
            raise RlvizError(
                f"replay diverged at step {k}: the env is not deterministic with this seed (a wrapper "
                "with its own unseeded RNG?); please report it with the agent's agent.json"
            )
        yield (env.render() if render else None), obs
        obs, _, terminated, truncated, _ = env.step(step.action)
        if (terminated or truncated) and k + 1 < len(steps) and steps[k + 1].episode == step.episode:
            raise RlvizError(f"replay ended early at step {k}; the recorded episode cannot be reproduced")
