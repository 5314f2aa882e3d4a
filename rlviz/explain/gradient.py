"""Gradient baselines: the plain input gradient and gradient x input.

Both are pure functions of (agent, observations, target) -> per-channel maps (N, 4, 84, 84)
float32, so that they line up with LRP's output. They serve as cheap baselines in the
faithfulness evaluation: gradient x input equals LRP-0 on a ReLU network, and the plain
gradient is Simonyan et al.'s (2014) sensitivity map.

``target`` says which output is explained:

* ``"action"``: the logit (Q-value) of the greedy action of each observation;
* ``"value"``: V(s) (max_a Q for a Q-network);
* an int, or one int per observation: that action's logit.

Example:
    >>> g = gradient_x_input(agent, obs)            # obs: uint8 (N, 4, 84, 84)
    >>> g.shape
    (N, 4, 84, 84)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.util.errors import RlvizError

Target = str | int | Sequence[int] | np.ndarray


def explained_output(logits: torch.Tensor, value: torch.Tensor, target: Any) -> torch.Tensor:
    """The scalar per observation that ``target`` names: greedy logit, value, or given action's logit."""
    if isinstance(target, str):
        if target == "value":
            return value
        if target == "action":
            return logits.gather(1, logits.argmax(-1, keepdim=True)).squeeze(1)
        raise RlvizError(f"target must be 'action', 'value' or an action index, got {target!r}")
    actions = torch.as_tensor(np.asarray(target), device=logits.device).long().reshape(-1)
    if actions.numel() == 1:
        actions = actions.expand(logits.shape[0])
    if actions.numel() != logits.shape[0]:
        raise RlvizError(
            f"got {actions.numel()} target actions for {logits.shape[0]} observations; give one or one per observation"
        )
    if ((actions < 0) | (actions >= logits.shape[1])).any():
        raise RlvizError(f"target action out of range for a network with {logits.shape[1]} actions")
    return logits.gather(1, actions[:, None]).squeeze(1)


def _input_gradient(agent: Agent, obs: Any, target: Target, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    x_all = to_float_obs(obs, agent.device)
    grads = []
    for lo in range(0, x_all.shape[0], batch_size):
        x = x_all[lo : lo + batch_size].detach().clone().requires_grad_(True)
        chosen = target
        if not isinstance(target, str):
            arr = np.asarray(target).reshape(-1)
            chosen = arr if arr.size == 1 else arr[lo : lo + batch_size]
        with torch.enable_grad():
            logits, value = agent.forward(x)
            out = explained_output(logits, value, chosen)
            if not out.requires_grad:  # the output ignores the input
                grads.append(torch.zeros_like(x))
                continue
            (g,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
        grads.append(torch.zeros_like(x) if g is None else g.detach())
    return x_all, torch.cat(grads)


def gradient(agent: Agent, obs: Any, target: Target = "action", *, batch_size: int = 256) -> np.ndarray:
    """d output / d input for uint8 obs (4,84,84) or (N,4,84,84): float32 (N, 4, 84, 84), signed.

    The gradient is taken with respect to the float input in [0, 1] that the network sees.
    """
    _, g = _input_gradient(agent, obs, target, batch_size)
    return g.float().cpu().numpy()


def gradient_x_input(agent: Agent, obs: Any, target: Target = "action", *, batch_size: int = 256) -> np.ndarray:
    """Gradient times input, float32 (N, 4, 84, 84), signed: positive where a pixel raises the output.

    For a ReLU network without biases this sums to the explained output (and equals LRP-0).
    """
    x, g = _input_gradient(agent, obs, target, batch_size)
    return (x * g).float().cpu().numpy()
