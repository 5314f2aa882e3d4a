"""Meaningful perturbation (Fong & Vedaldi 2017): the smallest smooth region whose blurring
destroys the explained output, found by gradient descent on a mask.

With a mask m in [0, 1] (1 keeps a pixel, 0 replaces it by the blurred frame A(x), the same
replacement as perturbation saliency and pixel flipping), Phi(x; m) = m x + (1 - m) A(x), and

    min_m  f(Phi(x; m)) / s + l1 * mean|1 - m| + l2 * mean TV_beta(m)

where f is the explained output: the softmax probability of the action for an action target
(as in the paper: a bounded score to delete), the value or the contrastive logit otherwise,
divided by s = |f(x)| so that l1 and l2 mean the same for every agent. m lives on a coarse
``resolution`` x ``resolution`` grid (default 14: cells of 6 x 6 px), bilinearly upsampled to
84 x 84, the same for all 4 stacked frames; Adam, ``iterations`` steps, m clamped to [0, 1]
after each (as in the paper). The map is 1 - m, upsampled: where the deletion had to happen.
All frames of a batch are optimised together (their losses are independent).

Example:
    >>> maps = meaningful_perturbation(agent, obs)   # (N, 84, 84) in [0, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.perturbation import BLUR_SIGMA, gaussian_blur
from rlviz.explain.targets import (
    Target,
    check_target,
    explained_output,
    fix_actions,
    slice_target,
    start_weights,
)
from rlviz.util.errors import RlvizError


def _objective(agent: Agent, x: torch.Tensor, target: Any) -> torch.Tensor:
    """The score to delete, per observation: probability of the action, or value / contrast."""
    logits, value = agent.forward(x)
    if isinstance(target, str) and target == "value":
        return value
    weights = start_weights(logits, target)
    if (weights < 0).any():  # contrastive: the logit difference
        return explained_output(logits, value, target)
    return (torch.softmax(logits, -1) * weights.detach()).sum(-1)


def total_variation(m: torch.Tensor, beta: float = 3.0) -> torch.Tensor:
    """Mean |grad m|^beta over the mask grid, per mask: m [N, 1, h, w] -> [N]."""
    dy = (m[..., 1:, :] - m[..., :-1, :]).abs().pow(beta).flatten(1).mean(1)
    dx = (m[..., :, 1:] - m[..., :, :-1]).abs().pow(beta).flatten(1).mean(1)
    return dy + dx


def meaningful_perturbation(
    agent: Agent,
    obs: Any,
    target: Target = "action",
    *,
    resolution: int = 14,
    iterations: int = 100,
    lr: float = 0.1,
    l1: float = 0.5,
    l2: float = 0.2,
    beta: float = 3.0,
    blur_sigma: float = BLUR_SIGMA,
    batch_size: int = 32,
) -> np.ndarray:
    """Deletion masks 1 - m for uint8 obs (N, 4, 84, 84): float32 (N, 84, 84) in [0, 1].

    Costs ``iterations`` forward and backward passes per observation.
    """
    check_target(target)
    if resolution < 2 or iterations < 1:
        raise RlvizError(f"resolution must be at least 2 and iterations at least 1, got {resolution} and {iterations}")
    x_all = to_float_obs(obs, agent.device)
    with torch.no_grad():
        target = fix_actions(target, agent.forward(x_all)[0])
    size = tuple(x_all.shape[-2:])
    out = []
    for lo in range(0, x_all.shape[0], batch_size):
        x = x_all[lo : lo + batch_size].detach()
        chosen = slice_target(target, lo, lo + x.shape[0])
        with torch.inference_mode(False), torch.enable_grad():
            x = x.clone()
            blurred = gaussian_blur(x, blur_sigma).detach()
            with torch.no_grad():
                scale = _objective(agent, x, chosen).abs().clamp_min(1e-6)
            m = torch.ones((x.shape[0], 1, resolution, resolution), device=x.device, requires_grad=True)
            opt = torch.optim.Adam([m], lr=lr)
            for _ in range(iterations):
                up = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
                phi = up * x + (1 - up) * blurred
                loss = _objective(agent, phi, chosen) / scale + l1 * (1 - m).abs().flatten(1).mean(1) + l2 * total_variation(m, beta)
                (m.grad,) = torch.autograd.grad(loss.sum(), m)  # not .backward(): the net's .grad stay as they are
                opt.step()
                with torch.no_grad():
                    m.clamp_(0.0, 1.0)
            up = F.interpolate(m.detach(), size=size, mode="bilinear", align_corners=False)
        out.append((1 - up[:, 0]).clamp(0, 1))
    return torch.cat(out).float().cpu().numpy()
