"""Shared fixtures: small untrained agents (tests never need a trained one)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.play.envs import EnvSpec

# Videos read the agent's background (rlviz.explain.objects): 16 steps of play, not 1000, for
# every untrained test agent, in this process and in the CLI runs it starts.
os.environ.setdefault("RLVIZ_BACKGROUND_STEPS", "16")

PONG_ACTIONS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]


@pytest.fixture
def pong_agent() -> Agent:
    torch.manual_seed(0)
    return Agent(
        NatureActorCritic(6),
        env_spec=EnvSpec("Pong"),
        action_names=PONG_ACTIONS,
        architecture={"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4},
        metadata={"name": "untrained-pong"},
    )


@pytest.fixture
def agent_dir(pong_agent, tmp_path):
    return pong_agent.save(tmp_path / "untrained-pong")


@pytest.fixture
def random_obs() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(3, 4, 84, 84), dtype=np.uint8)
