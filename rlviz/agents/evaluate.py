"""Scoring agents: mean and spread of episode returns over seeded episodes."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.play.envs import EnvSpec, make_env
from rlviz.play.rollout import env_for, play
from rlviz.util.errors import RlvizError


@dataclass
class Evaluation:
    returns: list[float]
    lengths: list[int]
    seed: int
    policy: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    def to_dict(self) -> dict:
        return {**asdict(self), "mean": self.mean, "std": self.std, "episodes": len(self.returns)}


POLICIES = ("greedy", "sampled")


def check_policy(agent: Agent, policy: str) -> None:
    """Refuse a policy that is unknown or that this agent cannot play, before any episode runs."""
    if policy not in POLICIES:
        raise RlvizError(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    if policy == "sampled" and agent.kind == "q":
        raise RlvizError("a Q-network has no action distribution to sample from; use the greedy policy (no --policy sampled)")


def evaluate(
    agent: Agent, *, episodes: int = 10, seed: int = 0, max_steps: int | None = None, progress: bool = True,
    policy: str = "greedy",
) -> Evaluation:
    """Play ``episodes`` episodes, episode k from ``reset(seed=seed + k)``.

    ``policy="greedy"`` plays the likeliest move (as rlviz's videos do); ``"sampled"`` draws
    each move from the policy's distribution, with a generator seeded by ``seed + k``, so it
    is reproducible: the way RL Zoo evaluates Atari agents, where a greedy policy can loop."""
    check_policy(agent, policy)
    env = env_for(agent, render_mode=None)
    returns, lengths = [], []
    for k in tqdm(range(episodes), desc="evaluating", unit="episode", disable=not progress, leave=False):
        score, n = 0.0, 0
        rng = np.random.default_rng(seed + k) if policy == "sampled" else None
        for step in play(agent, env, seed=seed + k, max_steps=max_steps, sample=rng):
            score, n = step.score, n + 1
        returns.append(score)
        lengths.append(n)
    env.close()
    return Evaluation(returns, lengths, seed, policy)


def evaluate_random(spec: EnvSpec, *, episodes: int = 10, seed: int = 0, max_steps: int | None = None) -> Evaluation:
    """The uniform-random policy's returns, as a baseline for model cards."""
    env = make_env(spec, render_mode=None)
    rng = np.random.default_rng(seed)
    returns, lengths = [], []
    for k in range(episodes):
        env.reset(seed=seed + k)
        score, n, done = 0.0, 0, False
        while not done and (max_steps is None or n < max_steps):
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            score, n, done = score + float(reward), n + 1, terminated or truncated
        returns.append(score)
        lengths.append(n)
    env.close()
    return Evaluation(returns, lengths, seed, "uniform random")
