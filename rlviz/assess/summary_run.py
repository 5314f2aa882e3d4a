"""Rolling out episodes and reducing their summaries: in-process, or as Ray tasks.

The work splits by episode: one task plays episode e from ``reset(seed=seed + e)`` (greedy, at
most ``frames_per_episode`` steps) and aggregates its frames into a
:class:`~rlviz.assess.summary.SummaryAccumulator`; the driver adds the episodes' accumulators
in episode order. Each task runs torch on ``threads`` threads (1 by default) with the same
batch size, so a task computes the same floats wherever it runs and the Ray result equals the
in-process one exactly. Ray is imported only when asked for (``pip install rlviz[ray]``).

Example:
    >>> result = summarize("agents/pong", episodes=2, frames_per_episode=300)
    >>> result.accumulator.mean_contribution().shape   # (actions, conv3 channels)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.agents.loading import load_agent
from rlviz.assess.summary import (
    SummaryAccumulator,
    conv_geometry,
    conv_trunk,
    read_frames,
)
from rlviz.assess.summary_dense import dense_layer, group_units, output_weights
from rlviz.play.rollout import env_for, play
from rlviz.util.errors import RlvizError


@dataclass
class SummaryResult:
    """The reduced accumulator and how it was made."""

    accumulator: SummaryAccumulator
    agent_name: str
    game: str
    action_names: list[str]
    episodes: int
    frames_per_episode: int | None
    seed: int
    returns: list[float]  # score of each episode (over the frames played)
    seconds: float
    workers: str  # "in-process" or "ray (N CPUs)"


@contextmanager
def _torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def dense_reading(agent: Agent):
    """(fc1, its ReLU, its unit groups) of the agent's network, or None without a dense layer."""
    found = dense_layer(agent.net)
    if found is None:
        return None
    linear, relu = found
    weights = output_weights(agent.forward, relu, agent.env_spec.obs_shape, agent.n_actions, agent.device)
    return linear, relu, group_units(weights, list(agent.action_names))


def new_accumulator(agent: Agent, examples_per_channel: int = 4) -> SummaryAccumulator:
    layers = conv_geometry(conv_trunk(agent.net), agent.env_spec.obs_shape)
    dense = dense_reading(agent)
    return SummaryAccumulator(agent.n_actions, layers, examples_per_channel=examples_per_channel,
                              dense=None if dense is None else dense[2])


def summarize_episode(agent: Agent, episode: int, *, seed: int = 0, frames_per_episode: int | None = None,
                      batch: int = 64, threads: int = 1, examples_per_channel: int = 4
                      ) -> tuple[SummaryAccumulator, float]:
    """Play episode ``episode`` greedily from reset(seed=seed + episode) and aggregate its frames;
    returns the accumulator and the episode's score. Keeps at most ``batch`` observations."""
    pairs = conv_trunk(agent.net)
    dense = dense_reading(agent)
    acc = new_accumulator(agent, examples_per_channel)
    env = env_for(agent, render_mode=None)
    score = 0.0
    obs_buf: list[np.ndarray] = []
    steps: list[int] = []

    def flush() -> None:
        if not obs_buf:
            return
        obs = np.stack(obs_buf)
        readout = read_frames(agent.forward, pairs, to_float_obs(obs, agent.device), dense)
        acc.add(readout, obs, episode, np.asarray(steps))
        obs_buf.clear()
        steps.clear()

    try:
        with _torch_threads(threads):
            for step in play(agent, env, seed=seed + episode, max_steps=frames_per_episode):
                obs_buf.append(step.obs)
                steps.append(step.step)
                score = step.score
                if len(obs_buf) == batch:
                    flush()
            flush()
    finally:
        env.close()
    return acc, score


def _ray_episode(agent: Agent, episode: int, kwargs: dict) -> tuple[SummaryAccumulator, float]:
    """One episode as a Ray task (Ray hands over the agent from its object store)."""
    return summarize_episode(agent, episode, **kwargs)


def init_ray(address: str):
    """Ray, started locally (address 'local') or joined to a cluster; a clear error without it."""
    try:
        import ray
    except ImportError:
        raise RlvizError("--ray needs Ray: pip install 'rlviz[ray]' (or pip install ray)") from None
    if not ray.is_initialized():
        if address in ("", "local"):
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


def summarize(agent: Agent | str, episodes: int = 1, *, frames_per_episode: int | None = None, seed: int = 0,
              ray: str | None = None, batch: int = 64, threads: int = 1, examples_per_channel: int = 4,
              retries: int = 3, progress: bool = False) -> SummaryResult:
    """Summarise what ``agent`` has learned over ``episodes`` greedy episodes (Summit for agents).

    ``ray=None`` runs in this process; ``ray="local"`` starts (or joins) a local Ray, any other
    string is the address of an existing cluster. The result is the same either way."""
    if episodes < 1:
        raise RlvizError(f"--episodes must be at least 1, got {episodes}")
    if frames_per_episode is not None and frames_per_episode < 1:
        raise RlvizError(f"--frames-per-episode must be at least 1, got {frames_per_episode}")
    agent_obj = load_agent(agent) if isinstance(agent, str) else agent
    kwargs = {"seed": seed, "frames_per_episode": frames_per_episode, "batch": batch, "threads": threads,
                  "examples_per_channel": examples_per_channel}
    total = new_accumulator(agent_obj, examples_per_channel)
    returns: list[float] = []
    start = time.perf_counter()
    if ray is None:
        workers = "in-process"
        for e in range(episodes):
            acc, score = summarize_episode(agent_obj, e, **kwargs)
            total.merge(acc)
            returns.append(score)
            if progress:
                print(f"episode {e + 1}/{episodes}: {int(acc.frames().sum())} frames, score {score:+.0f}", flush=True)
    else:
        ray_mod = init_ray(ray)
        workers = f"ray ({int(ray_mod.cluster_resources().get('CPU', 0))} CPUs)"
        task = ray_mod.remote(num_cpus=threads, max_retries=retries)(_ray_episode)
        agent_ref = ray_mod.put(agent_obj)
        futures = [task.remote(agent_ref, e, kwargs) for e in range(episodes)]
        for e, future in enumerate(futures):  # reduce in episode order, whatever finishes first
            acc, score = ray_mod.get(future)
            total.merge(acc)
            returns.append(score)
            if progress:
                print(f"episode {e + 1}/{episodes}: {int(acc.frames().sum())} frames, score {score:+.0f}", flush=True)
    return SummaryResult(total, agent_obj.name, agent_obj.env_spec.game, list(agent_obj.action_names), episodes,
                         frames_per_episode, seed, returns, time.perf_counter() - start, workers)
