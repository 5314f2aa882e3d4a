"""Perturbation saliency (Greydanus et al. 2018), exactly as DESIGN.md §4, batched.

For each centre (i, j) on a stride-5 grid the frame is blurred locally,
``I' = I * (1 - M) + A(I) * M`` with ``M`` a Gaussian of sigma 5 (maximum 1) and ``A(I)``
the frame blurred by a Gaussian of sigma 3 (per stacked frame), and the change of the
policy's logits and value is scored:

    actor  S_pi(i, j) = 1/2 ||f(I) - f(I')||^2      critic  S_V(i, j) = 1/2 (V(I) - V(I'))^2

The grid of scores is then interpolated so that the score of the perturbation centred at
pixel (i, j) lands exactly at (i, j). Masks are built once per shape; the blur runs once per
frame; all perturbations of a batch of frames go through the network in large batches.

Example:
    >>> sal = perturbation_saliency(agent, obs)      # obs: uint8 (4, 84, 84)
    >>> sal.actor.shape, sal.critic.shape
    ((84, 84), (84, 84))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlviz.agent import Agent, to_float_obs
from rlviz.errors import RlvizError

MASK_SIGMA = 5.0
BLUR_SIGMA = 3.0
STRIDE = 5


@dataclass
class Saliency:
    """Actor and critic saliency maps, plus the grid scores they were interpolated from."""

    actor: np.ndarray  # (N, H, W) or (H, W) float32
    critic: np.ndarray
    actor_grid: np.ndarray  # (N, G, G) or (G, G) scores at the perturbation centres
    critic_grid: np.ndarray
    centres: np.ndarray  # 1-D pixel coordinates of the grid centres (same for rows and columns)


def grid_centres(size: int = 84, stride: int = STRIDE) -> np.ndarray:
    """Pixel coordinates of the perturbation centres along one axis: 0, 5, ..., 80."""
    return np.arange(0, size, stride)


def gaussian_mask(centre: tuple[float, float], size: int = 84, sigma: float = MASK_SIGMA) -> np.ndarray:
    """The perturbation mask M: a Gaussian of std ``sigma`` at ``centre``, maximum 1."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    d2 = (ys - centre[0]) ** 2 + (xs - centre[1]) ** 2
    return np.exp(-d2 / (2.0 * sigma**2))


@lru_cache(maxsize=8)
def _masks(size: int, stride: int, sigma: float, device: str) -> torch.Tensor:
    """All masks of the grid, [K, 1, size, size] float32, built once per configuration."""
    centres = grid_centres(size, stride)
    axis = np.arange(size, dtype=np.float64)
    g = np.exp(-((axis[None, :] - centres[:, None]) ** 2) / (2.0 * sigma**2))  # [G, size]
    masks = g[:, None, :, None] * g[None, :, None, :]  # separable: exp(-(dy^2+dx^2)/2s^2)
    masks = masks.reshape(-1, 1, size, size)
    return torch.from_numpy(masks.astype(np.float32)).to(device)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Normalised 1-D Gaussian, truncated at ``truncate`` standard deviations."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-(x**2) / (2.0 * sigma**2))
    return (k / k.sum()).float()


def gaussian_blur(frames: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Blur each stacked frame spatially (never across the stack): [N, C, H, W] -> same.

    Separable Gaussian truncated at 4 sigma, borders reflected.
    """
    n, c, h, w = frames.shape
    k = gaussian_kernel1d(sigma).to(frames.device, frames.dtype)
    r = (k.numel() - 1) // 2
    x = frames.reshape(n * c, 1, h, w)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)


def perturb(frames: torch.Tensor, blurred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """I' = I * (1 - M) + A(I) * M."""
    return frames * (1 - mask) + blurred * mask


def interpolation_matrix(size: int, centres: np.ndarray) -> np.ndarray:
    """Linear interpolation [size, G] that puts the value of centre k exactly at pixel
    centres[k], interpolates linearly between centres and holds the last value beyond."""
    u = np.zeros((size, len(centres)), dtype=np.float64)
    for p in range(size):
        if p >= centres[-1]:
            u[p, -1] = 1.0
            continue
        k = int(np.searchsorted(centres, p, side="right") - 1)
        t = (p - centres[k]) / (centres[k + 1] - centres[k])
        u[p, k] = 1.0 - t
        u[p, k + 1] = t
    return u


def grid_to_map(grid: np.ndarray, size: int, centres: np.ndarray) -> np.ndarray:
    """Interpolate scores [..., G, G] to maps [..., size, size] (score (i,j) lands at (i,j))."""
    u = interpolation_matrix(size, centres)
    return np.einsum("pi,...ij,qj->...pq", u, grid, u).astype(np.float32)


def _chunked_outputs(agent: Agent, inputs: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    logits, values = [], []
    for lo in range(0, inputs.shape[0], batch_size):
        lg, v = agent.forward(inputs[lo : lo + batch_size])
        logits.append(lg)
        values.append(v)
    return torch.cat(logits), torch.cat(values)


def perturbation_saliency(
    agent: Agent,
    obs: Any,
    *,
    stride: int = STRIDE,
    mask_sigma: float = MASK_SIGMA,
    blur_sigma: float = BLUR_SIGMA,
    frames: str = "all",
    batch_size: int = 1024,
) -> Saliency:
    """Actor and critic perturbation saliency for uint8 obs (4,84,84) or (N,4,84,84).

    ``frames="all"`` applies the same mask to every stacked frame (default);
    ``frames="newest"`` perturbs only the newest frame, as in the paper. Returns maps of
    shape (N, 84, 84), or (84, 84) for a single observation.
    """
    if frames not in ("all", "newest"):
        raise RlvizError(f"frames must be 'all' or 'newest', got {frames!r}")
    single = np.asarray(obs).ndim == 3 if not isinstance(obs, torch.Tensor) else obs.ndim == 3
    x = to_float_obs(obs, agent.device)
    n, c, h, w = x.shape
    if h != w:
        raise RlvizError(f"observations must be square, got {h}x{w}")
    centres = grid_centres(h, stride)
    masks = _masks(h, stride, float(mask_sigma), str(agent.device))  # [K, 1, H, W]
    k = masks.shape[0]
    with torch.no_grad():
        delta = gaussian_blur(x, blur_sigma) - x  # A(I) - I, once per frame
        if frames == "newest":
            delta[:, :-1] = 0
        clean_logits, clean_values = agent.forward(x)
        actor = torch.empty(n, k, device=agent.device)
        critic = torch.empty(n, k, device=agent.device)
        per_chunk = max(1, batch_size // k)
        for lo in range(0, n, per_chunk):
            hi = min(n, lo + per_chunk)
            # I' = I + M * (A(I) - I) for every mask and every frame of the chunk.
            batch = (x[lo:hi, None] + masks[None] * delta[lo:hi, None]).reshape(-1, c, h, w)
            logits, values = _chunked_outputs(agent, batch, batch_size)
            logits = logits.reshape(hi - lo, k, -1)
            values = values.reshape(hi - lo, k)
            actor[lo:hi] = 0.5 * ((logits - clean_logits[lo:hi, None]) ** 2).sum(-1)
            critic[lo:hi] = 0.5 * (values - clean_values[lo:hi, None]) ** 2
    g = len(centres)
    actor_grid = actor.reshape(n, g, g).double().cpu().numpy()
    critic_grid = critic.reshape(n, g, g).double().cpu().numpy()
    actor_grid = np.nan_to_num(actor_grid, nan=0.0, posinf=0.0)
    critic_grid = np.nan_to_num(critic_grid, nan=0.0, posinf=0.0)
    result = Saliency(
        actor=grid_to_map(actor_grid, h, centres),
        critic=grid_to_map(critic_grid, h, centres),
        actor_grid=actor_grid.astype(np.float32),
        critic_grid=critic_grid.astype(np.float32),
        centres=centres,
    )
    if single:
        result.actor, result.critic = result.actor[0], result.critic[0]
        result.actor_grid, result.critic_grid = result.actor_grid[0], result.critic_grid[0]
    return result


def passes_per_frame(size: int = 84, stride: int = STRIDE) -> int:
    """Forward passes one frame needs: one clean pass plus one per grid point."""
    return 1 + math.ceil(size / stride) ** 2
