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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.kernels import linear_relu
from rlviz.util.errors import RlvizError

MASK_SIGMA = 5.0
BLUR_SIGMA = 3.0
STRIDE = 5
CPU_BATCH = 512  # perturbed frames per forward batch; measured fastest here (docs/speed.md)
GPU_BATCH = 8192  # large enough to fill a GPU; not yet measured on one


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


def _axis_gaussians(size: int, stride: int, sigma: float) -> np.ndarray:
    """g_a(p) for every grid centre a along one axis, [G, size] float64; a mask is g_a(row) g_b(col)."""
    centres = grid_centres(size, stride)
    axis = np.arange(size, dtype=np.float64)
    return np.exp(-((axis[None, :] - centres[:, None]) ** 2) / (2.0 * sigma**2))


@lru_cache(maxsize=8)
def _masks(size: int, stride: int, sigma: float, device: str) -> torch.Tensor:
    """All masks of the grid, [K, 1, size, size] float32, built once per configuration."""
    g = _axis_gaussians(size, stride, sigma)
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


@lru_cache(maxsize=8)
def _cached_interpolation(size: int, centres: tuple) -> np.ndarray:
    u = interpolation_matrix(size, np.asarray(centres))
    u.setflags(write=False)
    return u


def grid_to_map(grid: np.ndarray, size: int, centres: np.ndarray) -> np.ndarray:
    """Interpolate scores [..., G, G] to maps [..., size, size] (score (i,j) lands at (i,j)):
    U grid U^T, as two matrix products with U built once per grid (a video draws a map a frame)."""
    u = _cached_interpolation(size, tuple(np.asarray(centres).tolist()))
    return (u @ np.asarray(grid, dtype=np.float64) @ u.T).astype(np.float32)


def _incremental_split(agent: Agent):
    """(first conv, rest of the forward) for nets rlviz knows the structure of, else None.

    The rest runs on what the incremental path builds (a fresh channels_last tensor it owns),
    so ReLUs work in place, and fc1 reads the channels_last conv output as a free view, with
    its weight columns reordered once to match, through oneDNN's fused linear + ReLU where
    it runs (see rlviz.explain.kernels): the same arithmetic as the net's forward, with less
    memory traffic and a faster kernel."""
    from rlviz.agents.networks import NatureActorCritic, NatureQNetwork

    net = agent.net
    if not isinstance(net, (NatureActorCritic, NatureQNetwork)):
        return None
    f = net.features
    conv = f[0]
    if not isinstance(conv, torch.nn.Conv2d) or conv.padding != (0, 0) or conv.dilation != (1, 1) or conv.groups != 1:
        return None
    if conv.kernel_size[0] != conv.kernel_size[1] or conv.stride[0] != conv.stride[1]:
        return None
    conv2, conv3, fc = f[2], f[4], f[7]
    channels = conv3.out_channels
    heads = [net.actor, net.critic] if isinstance(net, NatureActorCritic) else [net.q]
    head_w = torch.cat([h.weight for h in heads])
    head_b = torch.cat([h.bias for h in heads])
    fc_w = None

    def rest(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal fc_w
        h = torch.nn.functional.conv2d(h.relu_(), conv2.weight, conv2.bias, stride=conv2.stride).relu_()
        h = torch.nn.functional.conv2d(h, conv3.weight, conv3.bias, stride=conv3.stride).relu_()
        side = h.shape[-1]
        if fc_w is None:  # columns from (channel, row, col) to (row, col, channel) order
            fc_w = fc.weight.reshape(-1, channels, side, side).permute(0, 2, 3, 1).reshape(fc.weight.shape[0], -1)
        flat = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # a view when h is channels_last
        hidden = linear_relu(flat, fc_w, fc.bias)
        out = torch.addmm(head_b, hidden, head_w.t())
        if len(heads) == 2:
            return out[:, :-1], out[:, -1]
        return out, out.max(dim=-1).values

    return conv, rest


@lru_cache(maxsize=8)
def _mask_profiles(size: int, stride: int, sigma: float, kernel: int, step: int, device: str) -> torch.Tensor:
    """The 1-D mask profile under each first-layer receptive field: [G, cells, kernel] with
    [a, i, d] = g_a(step * i + d), where g_a is the Gaussian of centre a along one axis
    (a mask is g_a(row) * g_b(col), with no truncation)."""
    profiles = torch.from_numpy(_axis_gaussians(size, stride, sigma)).unfold(1, kernel, step)  # [G, cells, kernel]
    return profiles.float().contiguous().to(device)


def _first_layer_changes(conv: torch.nn.Conv2d, delta: torch.Tensor, profiles: torch.Tensor) -> torch.Tensor:
    """conv1(M_ab * D) without the bias for every mask (a, b) of the grid, exactly:
    [N, G, G, cells, cells, out_channels].

    The first layer is linear and a mask is separable, M_ab(y, x) = g_a(y) g_b(x), so the
    output at cell (i, j) is sum_{dy,dx} g_a(4i+dy) g_b(4j+dx) Q_ij(dy, dx), where
    Q_ij(dy, dx) = sum_k W[:, k, dy, dx] D[k, 4i+dy, 4j+dx] does not depend on the mask.
    Q costs one conv pass per frame; contracting it with the two profiles costs about 1/20
    of the 289 conv passes it replaces (incremental inference on occlusions, after Krypton,
    Nakandala et al. 2019, here with the mask's separability)."""
    kernel, step = conv.kernel_size[0], conv.stride[0]
    patches = delta.unfold(2, kernel, step).unfold(3, kernel, step)  # [N, C, cells, cells, kernel, kernel]
    q = torch.einsum("nkijyx,okyx->nijyxo", patches, conv.weight)
    r = torch.einsum("bjx,nijyxo->nijybo", profiles, q)  # columns: contract dx with g_b
    return torch.einsum("aiy,nijybo->nabijo", profiles, r)  # rows: contract dy with g_a


def _incremental_scores(agent, x, delta, scorer, n_scores, k, batch_size, sigma, stride, split):
    """Scores with the first conv layer's output built from conv1(I) and the separable masks."""
    conv, rest = split
    n, _, h, _ = x.shape
    profiles = _mask_profiles(h, stride, sigma, conv.kernel_size[0], conv.stride[0], str(agent.device))
    g = profiles.shape[0]
    base = conv(x).permute(0, 2, 3, 1)  # conv1(I) with the bias, [N, cells, cells, out], once per frame
    scores = [torch.empty(n, k, device=agent.device) for _ in range(n_scores)]
    per_chunk = max(1, batch_size // k)
    for f0 in range(0, n, per_chunk):
        f1 = min(n, f0 + per_chunk)
        frames = f1 - f0
        # conv1(I + M*D) = conv1(I) + conv1(M*D), written straight into a channels_last batch
        flat = torch.empty((frames * k, *base.shape[1:]), device=agent.device)  # [B, cells, cells, out]
        out = flat.view(frames, g, g, *base.shape[1:])
        for f in range(f0, f1):  # one frame at a time: its temporaries stay in cache
            torch.add(_first_layer_changes(conv, delta[f : f + 1], profiles), base[f, None, None], out=out[f - f0 : f - f0 + 1])
        flat = flat.permute(0, 3, 1, 2)  # [B, out, cells, cells] in channels_last memory
        logits, values = [], []
        for lo in range(0, flat.shape[0], batch_size):
            lg, val = rest(flat[lo : lo + batch_size])
            logits.append(lg)
            values.append(val)
        logits = torch.cat(logits).reshape(frames, k, -1)
        values = torch.cat(values).reshape(frames, k)
        frame_idx = torch.arange(f0, f1, device=agent.device)[:, None]
        for score, part in zip(scores, scorer(logits, values, frame_idx), strict=True):
            score[f0:f1] = part
    return [score.reshape(-1) for score in scores]


def _plain_scores(agent, x, delta, masks, scorer, n_scores, batch_size):
    """Every perturbed frame through the whole network, in batches."""
    n, c, h, w = x.shape
    k = masks.shape[0]
    scores = [torch.empty(n * k, device=agent.device) for _ in range(n_scores)]
    # Work through the n*k perturbed inputs in batches; each batch is written straight
    # into a channels_last buffer (the layout the convolutions run fastest on).
    buffer = torch.empty((batch_size, c, h, w), device=agent.device).contiguous(memory_format=torch.channels_last)
    for lo in range(0, n * k, batch_size):
        hi = min(n * k, lo + batch_size)
        batch = buffer[: hi - lo]
        for start in range(lo, hi):  # one slice per frame: broadcasting, no gathers
            f, m = divmod(start, k)
            if start != lo and m != 0:
                continue
            stop = min(hi, (f + 1) * k)
            # I' = I + M * (A(I) - I)
            torch.addcmul(x[f], masks[m : m + stop - start], delta[f], out=batch[start - lo : stop - lo])
        frame_idx = torch.arange(lo, hi, device=agent.device) // k
        logits, values = agent.forward(batch)
        for score, part in zip(scores, scorer(logits, values, frame_idx), strict=True):
            score[lo:hi] = part
    return scores


# A scorer maps the perturbed outputs (logits [..., A], values [...]) and the index of each
# one's frame (a tensor broadcastable to values) to a tuple of scores shaped like values.
Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]


def greydanus_scorer(clean_logits: torch.Tensor, clean_values: torch.Tensor) -> Scorer:
    """Actor 1/2 ||f(I) - f(I')||^2 and critic 1/2 (V(I) - V(I'))^2 (Greydanus et al. 2018)."""

    def scorer(logits: torch.Tensor, values: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        actor = 0.5 * ((logits - clean_logits[idx]) ** 2).sum(-1)
        critic = 0.5 * (values - clean_values[idx]) ** 2
        return actor, critic

    return scorer


def perturbed_scores(
    agent: Agent,
    obs: Any,
    make_scorer: Callable[[torch.Tensor, torch.Tensor], Scorer],
    n_scores: int,
    *,
    stride: int = STRIDE,
    mask_sigma: float = MASK_SIGMA,
    blur_sigma: float = BLUR_SIGMA,
    frames: str = "all",
    batch_size: int | None = None,
    method: str = "auto",
) -> tuple[list[np.ndarray], np.ndarray]:
    """The perturbation machinery with any score: ([n_scores grids (N, G, G) float64], centres).

    ``make_scorer(clean_logits, clean_values)`` is called once with the unperturbed outputs
    and returns the :data:`Scorer` applied to every batch of perturbed outputs; SARFA
    (rlviz.explain.sarfa) reuses the same 289 perturbed passes as perturbation saliency this way.
    The options are those of :func:`perturbation_saliency`.
    """
    if frames not in ("all", "newest"):
        raise RlvizError(f"frames must be 'all' or 'newest', got {frames!r}")
    if method not in ("auto", "plain", "incremental"):
        raise RlvizError(f"method must be 'auto', 'plain' or 'incremental', got {method!r}")
    if batch_size is None:
        batch_size = CPU_BATCH if agent.device.type == "cpu" else GPU_BATCH
    if batch_size < 1:
        raise RlvizError(f"batch_size must be at least 1, got {batch_size}")
    x = to_float_obs(obs, agent.device)
    if tuple(x.shape[1:]) != tuple(agent.env_spec.obs_shape):
        raise RlvizError(f"this agent takes observations of shape {agent.env_spec.obs_shape} (or a batch of them), got {tuple(x.shape)}")
    n, _, h, w = x.shape
    if h != w:
        raise RlvizError(f"observations must be square, got {h}x{w}")
    centres = grid_centres(h, stride)
    masks = _masks(h, stride, float(mask_sigma), str(agent.device))  # [K, 1, H, W]
    k = masks.shape[0]
    with torch.inference_mode():
        delta = gaussian_blur(x, blur_sigma) - x  # A(I) - I, once per frame
        if frames == "newest":
            delta[:, :-1] = 0
        clean_logits, clean_values = agent.forward(x)
        scorer = make_scorer(clean_logits, clean_values)
        split = _incremental_split(agent) if method != "plain" else None
        if method == "incremental" and split is None:
            raise RlvizError("incremental saliency needs a Nature-CNN net from rlviz.agents.networks; use method='plain'")
        if split is not None:
            scores = _incremental_scores(agent, x, delta, scorer, n_scores, k, batch_size, float(mask_sigma), stride, split)
        else:
            scores = _plain_scores(agent, x, delta, masks, scorer, n_scores, batch_size)
    g = len(centres)
    grids = [np.nan_to_num(s.reshape(n, g, g).double().cpu().numpy(), nan=0.0, posinf=0.0) for s in scores]
    return grids, centres


def perturbation_saliency(
    agent: Agent,
    obs: Any,
    *,
    stride: int = STRIDE,
    mask_sigma: float = MASK_SIGMA,
    blur_sigma: float = BLUR_SIGMA,
    frames: str = "all",
    batch_size: int | None = None,
    method: str = "auto",
) -> Saliency:
    """Actor and critic perturbation saliency for uint8 obs (4,84,84) or (N,4,84,84).

    ``frames="all"`` applies the same mask to every stacked frame (default);
    ``frames="newest"`` perturbs only the newest frame, as in the paper. Returns maps of
    shape (N, 84, 84), or (84, 84) for a single observation.

    ``method="plain"`` runs every perturbed frame through the whole network;
    ``"incremental"`` (chosen by ``"auto"`` for rlviz's Nature-CNN nets) builds the first
    conv layer's output of every perturbed frame from conv1(I) and the separable masks, at a
    small fraction of the cost, and runs only the rest of the net per perturbation; the
    same arithmetic in another order, so its maps agree with the plain ones to 1e-4 (tested).

    ``batch_size`` is the number of perturbed frames per forward batch: by default 512 on a
    CPU (the fastest measured on this project's machine) and 8192 on a GPU, to fill it.
    """
    single = np.asarray(obs).ndim == 3 if not isinstance(obs, torch.Tensor) else obs.ndim == 3
    (actor_grid, critic_grid), centres = perturbed_scores(
        agent, obs, greydanus_scorer, 2, stride=stride, mask_sigma=mask_sigma, blur_sigma=blur_sigma,
        frames=frames, batch_size=batch_size, method=method,
    )
    h = int(obs.shape[-1]) if isinstance(obs, torch.Tensor) else np.asarray(obs).shape[-1]
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
