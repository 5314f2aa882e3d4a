"""SmoothGrad (Smilkov et al. 2017): the input gradient averaged over noisy copies of the input.

    SG(x) = 1/n sum_k d f(x + eps_k) / d x,   eps_k ~ N(0, sigma^2) per pixel

Gradients of ReLU networks jump from pixel to pixel; averaging over a small neighbourhood of
x keeps what is systematic. ``sigma`` is in the network's [0, 1] input units (Smilkov et al.
use 10-20% of the input range; default 0.15). The noise comes from a seeded generator, so a
map is reproducible. "action" explains the greedy action at the clean x in every noisy copy.

Example:
    >>> sg = smoothgrad(agent, obs, samples=16, sigma=0.15)   # (N, 4, 84, 84), signed
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.gradient import output_gradient
from rlviz.explain.targets import (
    Target,
    check_target,
    fix_actions,
    repeat_target,
    slice_target,
)
from rlviz.util.errors import RlvizError


def smoothgrad(
    agent: Agent,
    obs: Any,
    target: Target = "action",
    *,
    samples: int = 16,
    sigma: float = 0.15,
    seed: int = 0,
    batch_size: int = 128,
) -> np.ndarray:
    """Mean gradient over ``samples`` noisy copies: float32 (N, 4, 84, 84), signed.

    The noise of all samples of a batch is drawn at once, observation-major (the copies of
    observation 0 first), from ``torch.Generator().manual_seed(seed)``: the same draw as
    Captum's NoiseTunnel after ``torch.manual_seed(seed)`` when one batch holds everything.
    """
    check_target(target)
    if samples < 1:
        raise RlvizError(f"samples must be at least 1, got {samples}")
    if sigma < 0:
        raise RlvizError(f"sigma must be non-negative, got {sigma}")
    x_all = to_float_obs(obs, agent.device)
    with torch.no_grad():
        target = fix_actions(target, agent.forward(x_all)[0])
    generator = torch.Generator(device=x_all.device).manual_seed(seed)
    per_batch = max(1, batch_size // samples)
    out = []
    for lo in range(0, x_all.shape[0], per_batch):
        x = x_all[lo : lo + per_batch]
        b = x.shape[0]
        std = torch.full((b * samples, *x.shape[1:]), float(sigma), device=x.device, dtype=x.dtype)
        noisy = x.repeat_interleave(samples, dim=0) + torch.normal(0.0, std, generator=generator)
        chosen = repeat_target(slice_target(target, lo, lo + b), samples)
        g = output_gradient(agent, noisy, chosen).reshape(b, samples, *x.shape[1:])
        out.append(g.double().mean(1).float())
    return torch.cat(out).cpu().numpy()
