"""Where on the screen each channel's relevance lies: LRP-z+ moments in one forward pass.

For a channel c of a conv layer start LRP at its strongest cells, those within 10% of its
spatial maximum (Summit reads a channel by its maximum; a wall fires equally along its length),
with their activation as relevance (R_k = a_k there, zero elsewhere); for a group of fc1 units
at all its units. Propagate it to the input with the z+
rule (DESIGN.md §5; no bias): R_j = sum_k a_j w+_jk / z_k R_k, z_k = sum_j a_j w+_jk. The
channel's place on the 84x84 screen is the relevance-weighted mean (sum_p y_p R_p, sum_p x_p R_p)
/ sum_p R_p over the pixels p (all stacked frames).

Computed forward, for every channel of every layer at once: give each unit k the moments
(Y_k, X_k, M_k) of the input relevance that one unit of relevance at k produces. A pixel p has
(y_p, x_p, 1); a unit above has (Y, X, M)_k = sum_j a_j w+_jk (Y, X, M)_j / z_k, which is one
convolution with the positive weights of a_j (Y, X, M)_j, divided by z_k (zero where z_k = 0:
z+ passes no relevance there). The channel's moments on a frame are sum_k a_k (Y, X, M)_k over
its strongest cells. LRP is linear in the starting relevance, so this equals one backward LRP pass per
channel (tested), at the cost of about four forward passes per batch; the sums over frames are
exact running sums that split and merge.

Why z+: its relevance is never negative (inputs in [0, 1], positive weights), so the mean place
is a true weighted mean that lies on the screen, and it is conservative (a cell's relevance, its
activation, is all passed down unless the cell had no positive input), so strongly firing cells
weigh most. Gradient x input (LRP-0) was tried first: on agents/pong 10 of 54 live conv3
channels had a negative summed relevance and others cancelled to places such as x = 728 px. Its
excitatory part alone (negative weights zeroed, no normalisation) put every channel near the
screen's centre: weakly firing cells over the grey court carried as much relevance as the cell
that fired on the ball. Starting from all of a channel's cells does the same for a channel that
fires weakly all over the court; starting from its peak says where the pixels that make its
strongest response lie, the reading Summit's activations and the dataset examples use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _propagate(numerator: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Divide the positive-weight sums by z, zero where z = 0 (the cell receives no relevance)."""
    return torch.where(z > 0, numerator / torch.where(z > 0, z, torch.ones_like(z)), torch.zeros_like(numerator))


PEAK_SHARE = 0.9  # a cell within 10% of its channel's spatial maximum counts as a peak (as for the peaks by third)


def peak_cells(act: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W]: the activation where it is within 10% of its channel's spatial maximum, else 0."""
    peak = act.amax(dim=(2, 3), keepdim=True)
    return torch.where((act >= PEAK_SHARE * peak) & (peak > 0), act, torch.zeros_like(act))


def relevance_moments(pairs: list[tuple[nn.Conv2d, nn.Module]], x: torch.Tensor, activations: list[torch.Tensor],
                      dense: tuple[nn.Linear, torch.Tensor, torch.Tensor] | None = None
                      ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Per conv layer [N, C, 3]: (sum y R, sum x R, sum R) of the LRP-z+ relevance on the input of
    each channel's peak cells, from the post-ReLU ``activations`` of the same forward pass. ``dense`` = (fc1, its
    post-ReLU output [N, U], one-hot groups [U, G]) adds each group of fc1 units (relevance: its
    units' activations), [N, G, 3]; else None."""
    n = x.shape[0]
    h, w = x.shape[-2:]
    out = []
    with torch.no_grad():
        ys = torch.arange(h, dtype=x.dtype, device=x.device)[:, None].expand(h, w)
        xs = torch.arange(w, dtype=x.dtype, device=x.device)[None, :].expand(h, w)
        a = x.detach()
        per_unit = torch.stack([ys.expand_as(a), xs.expand_as(a), torch.ones_like(a)])  # [3, N, C, H, W]
        for (conv, _), act in zip(pairs, activations):
            weight = conv.weight.clamp_min(0)
            z = F.conv2d(a, weight, stride=conv.stride)
            num = F.conv2d((a * per_unit).flatten(0, 1), weight, stride=conv.stride).unflatten(0, (3, n))
            per_unit = _propagate(num, z)
            a = act.detach()
            out.append((peak_cells(a) * per_unit).sum(dim=(3, 4)).permute(1, 2, 0).contiguous())
        groups = None
        if dense is not None:
            linear, hidden, onehot = dense
            weight = linear.weight.clamp_min(0)
            z = a.flatten(1) @ weight.T
            num = (a * per_unit).flatten(2) @ weight.T  # [3, N, U]
            moments = hidden.detach() * _propagate(num, z)
            groups = (moments @ onehot.to(moments.dtype)).permute(1, 2, 0).contiguous()
    return out, groups
