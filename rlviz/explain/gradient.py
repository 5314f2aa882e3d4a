"""Gradient baselines: the plain input gradient and gradient x input.

Both are pure functions of (agent, observations, target) -> per-channel maps (N, 4, 84, 84)
float32, so that they line up with LRP's output. They serve as cheap baselines in the
faithfulness evaluation: gradient x input equals LRP-0 on a ReLU network, and the plain
gradient is Simonyan et al.'s (2014) sensitivity map.

``target`` says which output is explained:

* ``"action"``: the logit (Q-value) of the greedy action of each observation;
* ``"value"``: V(s) (max_a Q for a Q-network);
* an int, or one int per observation: that action's logit;
* ``"contrast"``: the greedy logit minus the mean of the others (see rlviz.explain.targets).

Example:
    >>> g = gradient_x_input(agent, obs)            # obs: uint8 (N, 4, 84, 84)
    >>> g.shape
    (N, 4, 84, 84)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.targets import Target, check_target, explained_output, slice_target


def output_gradient(agent: Agent, x: torch.Tensor, target: Any) -> torch.Tensor:
    """d output / d x for float inputs x [N, C, H, W] (one batch): zeros where the output ignores x.

    ``target`` as in :mod:`rlviz.explain.targets`; the building block of every gradient method.
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.inference_mode(False), torch.enable_grad():
        logits, value = agent.forward(x)
        out = explained_output(logits, value, target)
        if not out.requires_grad:  # the output ignores the input
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    return torch.zeros_like(x) if g is None else g.detach()


def _input_gradient(agent: Agent, obs: Any, target: Target, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    check_target(target)
    x_all = to_float_obs(obs, agent.device)
    grads = [
        output_gradient(agent, x_all[lo : lo + batch_size], slice_target(target, lo, lo + batch_size))
        for lo in range(0, x_all.shape[0], batch_size)
    ]
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
