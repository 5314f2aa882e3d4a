"""Integrated gradients (Sundararajan et al. 2017): the gradient averaged on the straight path
from a reference x~ to the observation x, times (x - x~).

    IG_i(x) = (x_i - x~_i) * integral_0^1 d f(x~ + t (x - x~)) / d x_i dt

Completeness: sum_i IG_i = f(x) - f(x~) (up to the quadrature error, which shrinks with
``steps``). The integral uses Gauss-Legendre quadrature on [0, 1], as Captum does by default:
for the piecewise-linear path of a ReLU network it converges faster than a Riemann sum.

Example:
    >>> ig = integrated_gradients(agent, obs)                        # black-frame reference
    >>> ig = integrated_gradients(agent, obs, baseline=background)   # (84, 84) uint8 background
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.gradient import output_gradient
from rlviz.explain.references import reference_input
from rlviz.explain.targets import (
    Target,
    check_target,
    fix_actions,
    repeat_target,
    slice_target,
)
from rlviz.util.errors import RlvizError


def path_points(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes t_k in (0, 1) and weights w_k (sum 1) for ``steps`` points."""
    if steps < 1:
        raise RlvizError(f"steps must be at least 1, got {steps}")
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1.0) / 2.0, weights / 2.0


def integrated_gradients(
    agent: Agent,
    obs: Any,
    target: Target = "action",
    *,
    baseline: Any = None,
    steps: int = 32,
    batch_size: int = 128,
) -> np.ndarray:
    """IG for uint8 obs (4,84,84) or (N,4,84,84): float32 (N, 4, 84, 84), signed.

    ``baseline``: the reference (rlviz.explain.references; default the black frame).
    "action" explains the greedy action *at x* along the whole path. Costs ``steps`` forward
    and backward passes per observation.
    """
    check_target(target)
    t, w = path_points(steps)
    x_all = to_float_obs(obs, agent.device)
    ref_all = reference_input(baseline, x_all)
    with torch.no_grad():
        target = fix_actions(target, agent.forward(x_all)[0])  # the action at x, not on the path
    per_batch = max(1, batch_size // steps)
    t_ = torch.as_tensor(t, dtype=x_all.dtype, device=x_all.device).view(1, -1, 1, 1, 1)
    w_ = torch.as_tensor(w, dtype=torch.float64, device=x_all.device).view(1, -1, 1, 1, 1)
    out = []
    for lo in range(0, x_all.shape[0], per_batch):
        x, ref = x_all[lo : lo + per_batch], ref_all[lo : lo + per_batch]
        b = x.shape[0]
        path = (ref[:, None] + t_ * (x - ref)[:, None]).reshape(b * steps, *x.shape[1:])
        chosen = slice_target(target, lo, lo + b)
        repeated = repeat_target(chosen, steps)
        g = output_gradient(agent, path, repeated).reshape(b, steps, *x.shape[1:])
        avg = (g.double() * w_).sum(1)
        out.append(((x - ref).double() * avg).float())
    return torch.cat(out).cpu().numpy()
