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

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlviz.agents.folder import save_native
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import printable


def to_float_obs(obs: Any, device: torch.device | str = "cpu", *, unit_range: bool = True) -> torch.Tensor:
    """uint8 observations (4,84,84) or (N,4,84,84) -> float32 [N,4,84,84] in [0, 1].

    Floats are taken as already divided by 255: a float batch with a value above 1 (raw
    0..255 pixels) is refused, since the network would see inputs up to 255 times too large and
    every explanation would be wrong without a sign. NaN or infinite values are refused too (a
    NaN pixel would silently zero a saliency map). Values below 0 are allowed: the
    input-invariance test feeds mean-centred inputs. ``unit_range=False`` skips the range
    check, for plain networks (not :class:`Agent`) that define their own input domain.
    """
    if isinstance(obs, torch.Tensor):
        tensor = obs.to(device)
    else:
        try:
            array = np.asarray(obs)
        except (ValueError, TypeError) as exc:
            raise RlvizError(f"observations must be an array of shape (4, 84, 84) or (N, 4, 84, 84) ({exc})") from None
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise RlvizError(f"observations must be uint8 (as the env gives them) or float in [0, 1], got {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array)).to(device)
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 4:
        raise RlvizError(f"observations must have shape (4, 84, 84) or (N, 4, 84, 84), got {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    if tensor.is_floating_point():
        tensor = tensor.float()
        if tensor.numel():
            top, bottom = float(tensor.max()), float(tensor.min())  # max is NaN when any value is
            if math.isnan(top) or math.isinf(top) or math.isinf(bottom):
                raise RlvizError("observations hold NaN or infinite values; pass uint8 frames or floats in [0, 1]")
            if unit_range and top > 1.0:
                raise RlvizError(
                    f"float observations must lie in [0, 1] (uint8 frames divided by 255), but reach {top:g}; "
                    "pass the uint8 frames as the env gives them, or divide by 255"
                )
        return tensor
    raise RlvizError(f"observations must be uint8 (as the env gives them) or float in [0, 1], got {tensor.dtype}")


def _shape_of(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__


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
        self._check_outputs(out)
        self._n_actions = int((out[0] if isinstance(out, (tuple, list)) else out).shape[-1])
        if kind is None:
            kind = "actor-critic" if isinstance(out, (tuple, list)) else "q"
        if kind not in ("actor-critic", "q"):
            raise RlvizError(f"agent kind must be 'actor-critic' or 'q', got {kind!r}")
        if (kind == "q") == isinstance(out, (tuple, list)):
            given = "(logits, value)" if isinstance(out, (tuple, list)) else "one tensor"
            raise RlvizError(f"agent kind {kind!r} does not fit a network that returns {given}")
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
        try:
            with torch.no_grad():
                return self.net(dummy)
        except RuntimeError as exc:
            raise RlvizError(
                f"the network does not take observations of shape {self.env_spec.obs_shape} "
                f"({str(exc).splitlines()[0][:160]}); check env_spec.frame_stack and the first layer"
            ) from None

    def _check_outputs(self, out: Any) -> None:
        """The net must give logits [1, A] (and a value [1] or [1, 1]) for one observation."""
        logits = out[0] if isinstance(out, (tuple, list)) else out
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != 1 or logits.shape[1] < 1:
            raise RlvizError(f"the network must return logits or Q-values of shape [N, actions], got {_shape_of(logits)}")
        if isinstance(out, (tuple, list)):
            value = out[1] if len(out) > 1 else None
            if not isinstance(value, torch.Tensor) or value.numel() != 1 or value.ndim > 2:
                raise RlvizError(f"an actor-critic network must return (logits [N, A], value [N] or [N, 1]), got value {_shape_of(value)}")

    @property
    def n_actions(self) -> int:
        return self._n_actions

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float [N,C,84,84] in [0,1] -> (logits [N,A], value [N]); differentiable."""
        if tuple(x.shape[1:]) != tuple(self.env_spec.obs_shape):
            raise RlvizError(
                f"this agent takes observations of shape {self.env_spec.obs_shape} (or a batch of them), got {tuple(x.shape)}"
            )
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
        return printable(self.metadata.get("name", "agent"), 200)  # no escape sequences from a crafted file

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
