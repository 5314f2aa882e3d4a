"""Neural Interaction Detection for Nature-CNN policies, mapped onto the screen.

The MLP part of a Nature-CNN policy is fc1 (3,136 -> 512) followed by a head: the actor
(one row per action), the critic (value) or the Q head. Its input features are the conv3
outputs, 64 channels x 7 x 7 cells, flattened channel-major (index = c*49 + row*7 + col).
rlviz groups them by screen cell (49 groups; each cell sees one window of the screen) or by
channel (64 groups; each channel is one learned detector), then runs NID on the groups.

Grouping rule: the weight from group g to hidden unit i is the SUM of |W1[i, j]| over j in g,
the L1 norm of the unit's weights on the group. It is the largest change of unit i's input
per unit change of the group's activations (|sum_j w_ij d_j| <= sum_j |w_ij| max_j |d_j|),
so it measures how strongly the unit listens to the group as a whole. A max would rate a
cell read through one channel the same as a cell read through all 64.

Frame-conditioned: |W1[i, j]| is replaced by |W1[i, j] * a_j(t)| with the frame's conv3
activations a(t) (after ReLU), grouped the same way, so a cell that is silent in a frame
takes part in no interaction in that frame. z stays the weight-only influence of each unit.

Receptive fields are computed from the conv layers' geometry (kernel, stride, padding,
dilation), not assumed: for the Nature CNN cell (r, c) sees observation rows 8r .. 8r+35 and
columns 8c .. 8c+35. The whole 210x160 frame is resized to 84x84, so RGB boxes are a pure
scale of the observation boxes (DESIGN.md §3).

Example:
    >>> top = policy_interactions(agent, group="cell", action=2, top_k=5)
    >>> top[0].labels, top[0].rgb_boxes
    (('cell r3 c5', 'cell r4 c5'), ((76, 60, 145, 150), (76, 80, 145, 170)))
    >>> now = frame_interactions(agent, obs_batch, top_k=3)   # one list per frame
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.heads import linear_heads
from rlviz.explain.interactions import (
    N_NULL,
    Interaction,
    aggregated_influence,
    greedy_interactions,
    pairwise_strengths,
    rank_pairs,
)
from rlviz.util.errors import RlvizError

RGB_SHAPE = (210, 160)
GROUPS = ("cell", "channel")
Box = tuple[int, int, int, int]  # (x0, y0, x1, y1) in pixels, x1 and y1 exclusive


class PolicyInteraction(NamedTuple):
    """Interacting groups of a CNN policy, their strength, and where the cells sit on screen.

    ``obs_boxes``/``rgb_boxes``: each cell's full receptive field in the 84x84 observation and
    the 210x160 RGB frame; ``rgb_patches``: the stride-sized patch at the field's centre (what
    a figure fills in). All three are empty for channel groups.
    """

    features: tuple[int, ...]
    strength: float
    labels: tuple[str, ...]
    obs_boxes: tuple[Box, ...] = ()
    rgb_boxes: tuple[Box, ...] = ()
    rgb_patches: tuple[Box, ...] = ()


@dataclass
class CnnParts:
    """The pieces of a Nature-CNN-style policy that NID needs."""

    conv: nn.Sequential  # everything before the Flatten: conv3 activations after ReLU
    fc1: nn.Linear  # 3,136 -> 512, the layer NID reads as W1
    hidden: list[nn.Linear]  # further Linear layers between fc1 and the head (none for Nature)
    policy_head: nn.Linear  # actor or Q head, one row per action
    value_head: nn.Linear | None  # critic, actor-critic only
    grid: tuple[int, int, int]  # (channels, rows, cols) of the conv output
    input_hw: tuple[int, int]


def cnn_parts(agent: Agent) -> CnnParts:
    """Split an agent's net into conv stack, fc1, hidden layers and heads; refuse other nets."""
    net = agent.net
    features = getattr(net, "features", None)
    if not isinstance(features, nn.Sequential):
        raise RlvizError(
            "policy_interactions needs a Nature-CNN-style net with a .features Sequential "
            "(conv layers, Flatten, Linear); for a plain MLP use neuron_interactions(model)"
        )
    mods = list(features)
    flat = next((k for k, m in enumerate(mods) if isinstance(m, nn.Flatten)), None)
    linears = [m for m in mods[(flat or 0) + 1:] if isinstance(m, nn.Linear)]
    if flat is None or not linears:
        raise RlvizError("the net's .features has no Flatten followed by a Linear layer; NID cannot find fc1")
    # by role, not name: actor/critic, q, dueling advantage/value, distributional heads (issue #24)
    policy_head, value_head = linear_heads(net, agent.kind)
    if not isinstance(policy_head, nn.Linear):
        raise RlvizError("the net has no linear .actor (actor-critic) or .q (Q-network) head for NID to read")
    conv = nn.Sequential(*mods[:flat])
    input_hw = tuple(agent.env_spec.obs_shape[1:])
    with torch.no_grad():
        p = next(net.parameters())
        out = conv(torch.zeros((1, *agent.env_spec.obs_shape), dtype=p.dtype, device=p.device))
    if out.ndim != 4 or out[0].numel() != linears[0].in_features:
        raise RlvizError(f"conv output {tuple(out.shape[1:])} does not match fc1's {linears[0].in_features} inputs")
    return CnnParts(conv, linears[0], linears[1:], policy_head, value_head, tuple(out.shape[1:]), input_hw)


# ---------------------------------------------------------------------------------------------
# screen geometry
# ---------------------------------------------------------------------------------------------


def _leaves(conv: nn.Module) -> list[nn.Module]:
    """The conv stack's leaf modules in order. In a residual block (IMPALA) that is the conv path,
    whose receptive field contains the skip path's, so the walk below stays exact."""
    return [m for m in conv.modules() if not any(True for _ in m.children())]


def receptive_field_boxes(parts: CnnParts) -> np.ndarray:
    """Each conv cell's receptive field in the observation, (rows*cols, 4) as (x0, y0, x1, y1).

    Walks the conv stack backwards: an output range [s, e] of a layer with kernel k, stride st,
    padding pd and dilation d comes from the input range [s*st - pd, e*st - pd + (k-1)*d].
    Clipped to the observation; x1, y1 exclusive.
    """
    layers = []
    for m in _leaves(parts.conv):
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, pd = (nn.modules.utils._pair(getattr(m, a)) for a in ("kernel_size", "stride", "padding"))
            d = nn.modules.utils._pair(getattr(m, "dilation", 1))
            layers.append((k, s, pd, d))
        elif len(list(m.children())) or not isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Identity, nn.Dropout)):
            raise RlvizError(f"cannot map receptive fields through {type(m).__name__}")
    _, rows, cols = parts.grid
    boxes = np.zeros((rows * cols, 4), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            lo, hi = [r, c], [r, c]
            for k, s, pd, d in reversed(layers):
                for ax in (0, 1):
                    lo[ax] = lo[ax] * s[ax] - pd[ax]
                    hi[ax] = hi[ax] * s[ax] - pd[ax] + (k[ax] - 1) * d[ax]
            h, w = parts.input_hw
            boxes[r * cols + c] = (max(lo[1], 0), max(lo[0], 0), min(hi[1], w - 1) + 1, min(hi[0], h - 1) + 1)
    return boxes


def _jump(parts: CnnParts) -> tuple[int, int]:
    """Distance in observation pixels between neighbouring cells (product of strides)."""
    jy = jx = 1
    for m in _leaves(parts.conv):
        if hasattr(m, "stride") and not isinstance(m, nn.Flatten):
            s = nn.modules.utils._pair(m.stride)
            jy, jx = jy * s[0], jx * s[1]
    return jy, jx


def scale_box(box: Any, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> Box:
    """A pixel box scaled between image sizes (whole-frame resize), rounded outwards."""
    sy, sx = to_hw[0] / from_hw[0], to_hw[1] / from_hw[1]
    x0, y0, x1, y1 = (float(v) for v in box)
    return (
        max(0, math.floor(x0 * sx + 1e-9)),
        max(0, math.floor(y0 * sy + 1e-9)),
        min(to_hw[1], math.ceil(x1 * sx - 1e-9)),
        min(to_hw[0], math.ceil(y1 * sy - 1e-9)),
    )


@dataclass
class _Geometry:
    labels: list[str]
    obs_boxes: list[Box]
    rgb_boxes: list[Box]
    rgb_patches: list[Box]


def cell_geometry(parts: CnnParts, group: str, rgb_shape: tuple[int, int]) -> _Geometry:
    channels, rows, cols = parts.grid
    if group == "channel":
        return _Geometry([f"channel {c}" for c in range(channels)], [], [], [])
    fields = receptive_field_boxes(parts)
    jy, jx = _jump(parts)
    obs_boxes, rgb_boxes, patches, labels = [], [], [], []
    for idx, (x0, y0, x1, y1) in enumerate(fields.tolist()):
        cy, cx = (y0 + y1) / 2.0, (x0 + x1) / 2.0
        obs_boxes.append((x0, y0, x1, y1))
        rgb_boxes.append(scale_box((x0, y0, x1, y1), parts.input_hw, rgb_shape))
        patch = (cx - jx / 2.0, cy - jy / 2.0, cx + jx / 2.0, cy + jy / 2.0)
        patches.append(scale_box(patch, parts.input_hw, rgb_shape))
        labels.append(f"cell r{idx // cols} c{idx % cols}")
    return _Geometry(labels, obs_boxes, rgb_boxes, patches)


def label_pairs(items: list[Interaction], geo: _Geometry, group: str) -> list[PolicyInteraction]:
    out = []
    for it in items:
        f = it.features
        labels = tuple(geo.labels[j] for j in f)
        if group == "cell":
            out.append(PolicyInteraction(f, it.strength, labels, tuple(geo.obs_boxes[j] for j in f),
                                         tuple(geo.rgb_boxes[j] for j in f), tuple(geo.rgb_patches[j] for j in f)))
        else:
            out.append(PolicyInteraction(f, it.strength, labels))
    return out


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------


def check_group(group: str) -> None:
    if group not in GROUPS:
        raise RlvizError(f"group must be 'cell' or 'channel', got {group!r}")


def policy_influence(agent: Agent, action: int | str | None = None, parts: CnnParts | None = None) -> torch.Tensor:
    """z over fc1's units: the policy (all actions summed), one action, or ``"value"``."""
    parts = parts or cnn_parts(agent)
    later = [m.weight.detach().double().cpu() for m in parts.hidden]
    if action == "value":
        if parts.value_head is None:
            raise RlvizError(
                "this net has no value head on the analysed fc1 (a Q-network, or a critic with its own trunk); "
                "pass an action index or None (all actions)"
            )
        return aggregated_influence(later + [parts.value_head.weight.detach().double().cpu()], None)
    if action is not None and (isinstance(action, str) or not 0 <= int(action) < agent.n_actions):
        raise RlvizError(f"action must be None, 'value' or an index 0..{agent.n_actions - 1}, got {action!r}")
    return aggregated_influence(later + [parts.policy_head.weight.detach().double().cpu()], action)


def grouped_weights(parts: CnnParts, group: str, activations: torch.Tensor | None = None) -> torch.Tensor:
    """|W1| summed over each group: (units, groups), or (N, units, groups) with activations.

    ``activations`` (N, C, H, W) conv outputs make it |W1[i, j] * a_j| summed per group.
    """
    check_group(group)
    c, h, w = parts.grid
    w1 = parts.fc1.weight.detach().double().cpu().abs().reshape(-1, c, h * w)  # channel-major flatten
    if activations is None:
        return w1.sum(1) if group == "cell" else w1.sum(2)
    a = activations.detach().double().cpu().abs().reshape(-1, c, h * w)
    return torch.einsum("icg,ncg->nig", w1, a) if group == "cell" else torch.einsum("icg,ncg->nic", w1, a)


def policy_interaction_matrix(agent: Agent, *, group: str = "cell", action: int | str | None = None) -> np.ndarray:
    """Weight-only pairwise strengths between groups, (G, G) with zero diagonal."""
    parts = cnn_parts(agent)
    z = policy_influence(agent, action, parts)
    return pairwise_strengths(grouped_weights(parts, group), z).numpy()


def policy_interactions(
    agent: Agent,
    *,
    group: str = "cell",
    action: int | str | None = None,
    top_k: int | None = None,
    order: int | str | None = 2,
    rgb_shape: tuple[int, int] = RGB_SHAPE,
    n_null: int = N_NULL,
    seed: int = 0,
) -> list[PolicyInteraction]:
    """Which screen cells (or channels) the policy combines, from its weights, strongest first.

    ``action``: None = the policy as a whole (all action rows summed), an int = the regions
    the agent combines to choose that action, ``"value"`` = the critic. ``order=2`` ranks
    pairs; ``order=None`` gives any-order sets with the shuffle cut-off (see interactions.py).
    """
    check_group(group)
    parts = cnn_parts(agent)
    z = policy_influence(agent, action, parts)
    gw = grouped_weights(parts, group)
    if order == 2:
        items = rank_pairs(pairwise_strengths(gw, z), top_k)
    elif order in (None, "any"):
        items = greedy_interactions(gw, z, top_k=top_k, n_null=n_null, seed=seed)
    else:
        raise RlvizError(f"order must be 2 (pairwise) or None / 'any', got {order!r}")
    return label_pairs(items, cell_geometry(parts, group, rgb_shape), group)


# ---------------------------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------------------------


def conv_activations(agent: Agent, obs: Any, *, batch_size: int = 64) -> torch.Tensor:
    """The conv output (after its ReLU) for a batch of observations: (N, C, H, W) float32."""
    parts = cnn_parts(agent)
    x = to_float_obs(obs, agent.device)
    outs = []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            outs.append(parts.conv(x[s:s + batch_size]).float().cpu())
    return torch.cat(outs)


def activation_interaction_matrices(
    agent: Agent, activations: torch.Tensor, *, group: str = "cell", action: int | str | None = None,
    batch_size: int = 16,
) -> np.ndarray:
    """Per-frame pairwise strengths (N, G, G) with |W1 * a| in place of |W1|; zero diagonal."""
    parts = cnn_parts(agent)
    if tuple(activations.shape[1:]) != parts.grid:
        raise RlvizError(f"activations must have shape (N, {', '.join(map(str, parts.grid))}), "
                         f"got {tuple(activations.shape)}")
    z = policy_influence(agent, action, parts)
    out = []
    for s in range(0, activations.shape[0], batch_size):
        gw = grouped_weights(parts, group, activations[s:s + batch_size])  # (n, units, G)
        zw = gw * z[None, :, None]  # z_i >= 0: z_i min(x, y) = min(z_i x, z_i y)
        m = torch.minimum(zw[:, :, :, None], zw[:, :, None, :]).sum(1)  # (n, G, G)
        m.diagonal(dim1=1, dim2=2).zero_()
        out.append(m)
    return torch.cat(out).numpy()


def frame_interactions(
    agent: Agent,
    obs: Any,
    *,
    group: str = "cell",
    action: int | str | None = None,
    top_k: int | None = 5,
    rgb_shape: tuple[int, int] = RGB_SHAPE,
) -> list[list[PolicyInteraction]]:
    """The pairs active in each frame (uint8 (4,84,84) or (N,4,84,84)), strongest first.

    Weight-only NID ignores the screen; here each weight counts only as much as the conv
    activation it multiplies in this frame, so the pairs are those the agent combines now.
    To explain a chosen action, pass its index as ``action``.
    """
    check_group(group)
    parts = cnn_parts(agent)
    mats = activation_interaction_matrices(agent, conv_activations(agent, obs), group=group, action=action)
    geo = cell_geometry(parts, group, rgb_shape)
    return [label_pairs(rank_pairs(m, top_k), geo, group) for m in mats]


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
