"""Agent: a policy network plus what is needed to replay and explain it.

``Agent(net, ...)`` wraps any ``nn.Module`` that maps float32 observations in [0, 1] of
shape [N, 4, 84, 84] to ``(logits, value)`` (actor-critic) or to one tensor of Q-values
(Q-network: the Q-values act as logits and the value is max_a Q). Calling the agent takes
uint8 observations exactly as the env returns them.

Example:
    >>> from rlviz.agents.networks import NatureActorCritic
    >>> agent = Agent(NatureActorCritic(6), env_spec=EnvSpec("Pong"))
    >>> logits, value = agent(np.zeros((4, 84, 84), np.uint8))
    >>> logits.shape, value.shape
    (torch.Size([1, 6]), torch.Size([1]))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlviz.agents.folder import save_native
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError


def to_float_obs(obs: Any, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 observations (4,84,84) or (N,4,84,84) -> float32 [N,4,84,84] in [0, 1]."""
    if isinstance(obs, torch.Tensor):
        tensor = obs.to(device)
    else:
        tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(obs))).to(device)
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4:
        raise RlvizError(f"observations must have shape (4, 84, 84) or (N, 4, 84, 84), got {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    if tensor.is_floating_point():
        return tensor.float()
    raise RlvizError(f"observations must be uint8 (as the env gives them) or float in [0, 1], got {tensor.dtype}")


class Agent:
    """A policy network with its env spec, action names and provenance."""

    def __init__(
        self,
        net: nn.Module,
        *,
        env_spec: EnvSpec | None = None,
        action_names: list[str] | None = None,
        kind: str | None = None,
        architecture: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.env_spec = env_spec or EnvSpec()
        self.architecture = architecture
        self.metadata = dict(metadata or {})
        out = self._probe()
        self._n_actions = int((out[0] if isinstance(out, (tuple, list)) else out).shape[-1])
        if kind is None:
            kind = "actor-critic" if isinstance(out, (tuple, list)) else "q"
        if kind not in ("actor-critic", "q"):
            raise RlvizError(f"agent kind must be 'actor-critic' or 'q', got {kind!r}")
        self.kind = kind
        n = self.n_actions
        if action_names is None:
            action_names = [f"action {i}" for i in range(n)]
        if len(action_names) != n:
            raise RlvizError(f"{len(action_names)} action names given for a network with {n} actions")
        self.action_names = list(action_names)
        self.hint_expert: Agent | None = None  # the teacher of an agent trained on hint pixels

    def _probe(self) -> Any:
        dummy = torch.zeros((1, *self.env_spec.obs_shape), device=self.device)
        with torch.no_grad():
            return self.net(dummy)

    @property
    def n_actions(self) -> int:
        return self._n_actions

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float [N,C,84,84] in [0,1] -> (logits [N,A], value [N]); differentiable."""
        out = self.net(x)
        if self.kind == "actor-critic":
            logits, value = out[0], out[1]
            return logits, value.reshape(value.shape[0])
        return out, out.max(dim=-1).values

    def __call__(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 observations as the env gives them -> (logits, value), without gradients."""
        with torch.no_grad():
            return self.forward(to_float_obs(obs, self.device))

    def act(self, obs: Any, *, greedy: bool = True, generator: torch.Generator | None = None) -> np.ndarray:
        """Actions for a batch of observations: argmax of the logits, or sampled from softmax."""
        logits, _ = self(obs)
        if greedy or self.kind == "q":
            return logits.argmax(dim=-1).cpu().numpy()
        probs = torch.softmax(logits, dim=-1)
        return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).numpy()

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Action probabilities for display: softmax of logits (greedy one-hot for Q-nets)."""
        if self.kind == "q":
            return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).float()
        return torch.softmax(logits, dim=-1)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "agent"))

    def check_env(self, env_spec: EnvSpec, n_env_actions: int) -> None:
        """Refuse to play an env whose observations or actions do not fit this agent."""
        if tuple(env_spec.obs_shape) != tuple(self.env_spec.obs_shape):
            raise RlvizError(
                f"agent expects observations {self.env_spec.obs_shape} but the env gives {env_spec.obs_shape}"
            )
        if n_env_actions != self.n_actions:
            raise RlvizError(
                f"agent has {self.n_actions} actions but {env_spec.game} has {n_env_actions}; "
                "pass the game the agent was trained on (--game) or set full_action_space"
            )

    def save(self, path: str | Path) -> Path:
        """Save in rlviz's native format: a folder with agent.json and model.safetensors."""
        return save_native(self, path)

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, game={self.env_spec.game}, kind={self.kind}, actions={self.n_actions})"
