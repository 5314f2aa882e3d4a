"""rlviz: see what Atari reinforcement-learning agents look at and why they act."""

from rlviz.agent import Agent
from rlviz.envs import EnvSpec, make_env
from rlviz.errors import RlvizError
from rlviz.loading import load_agent

__version__ = "0.1.0"

__all__ = ["Agent", "EnvSpec", "RlvizError", "load_agent", "make_env", "__version__"]
