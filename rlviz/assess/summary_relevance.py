"""Where on the screen each channel's relevance lies: running moments of excitatory gradient x input.

For a channel c of a conv layer (or a group of fc1 units) let S_c be its activation summed over
space (after the ReLU). Its relevance on the input is taken as R_c(p) = x_p dS+_c/dx_p, where
S+_c is S_c with every negative weight set to zero and every ReLU kept as the real forward pass
opened or closed it: gradient x input along the excitatory paths only (the numerator of LRP's
z+ rule, before its per-layer normalisation). Its mean place on the 84x84 screen is

    (sum_p y_p R_c(p), sum_p x_p R_c(p)) / sum_p R_c(p).

The three sums are directional derivatives of S+_c along v = y * x, x * x and x, and for a net
whose ReLUs are fixed a directional derivative is one linear forward pass of v (no biases). So
one pass of three stacked directions gives the moments of EVERY channel of every layer at once
(a Jacobian-vector product) instead of one backward pass per channel: cheap enough for every
frame, and three running sums per channel and move, exact when split and merged.

Why excitatory and not plain gradient x input (LRP-0): R+ >= 0 (inputs in [0, 1], weights
>= 0), so the mean place is a true weighted mean and lies on the screen. Plain gradient x input
is signed; measured on agents/pong (100 frames), 10 of the 54 live conv3 channels had a
negative summed relevance and others cancelled to places such as x = 728 or y = -1978 pixels.
Plain gradient x input also credits the uniform grey of the court; the excitatory version
still does, where the weights that read it are positive. A channel that never fired has no
place (NaN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def moment_directions(x: torch.Tensor) -> torch.Tensor:
    """[3N, C, H, W]: the directions y * x, x * x (column) and x stacked along the batch."""
    h, w = x.shape[-2:]
    ys = torch.arange(h, dtype=x.dtype, device=x.device)[:, None]
    xs = torch.arange(w, dtype=x.dtype, device=x.device)[None, :]
    return torch.cat([x * ys, x * xs, x], dim=0)


def relevance_moments(pairs: list[tuple[nn.Conv2d, nn.Module]], x: torch.Tensor, activations: list[torch.Tensor],
                      dense: tuple[nn.Linear, torch.Tensor, torch.Tensor] | None = None
                      ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Per conv layer [N, C, 3]: (sum y R_c, sum x R_c, sum R_c) of each channel's excitatory
    gradient x input, from the post-ReLU ``activations`` of the same forward pass. ``dense`` = (fc1, its
    post-ReLU output [N, U], one-hot groups [U, G]) adds the moments of each group of fc1 units
    (its units' activations summed), [N, G, 3]; else None."""
    n = x.shape[0]
    out = []
    with torch.no_grad():
        t = moment_directions(x.detach())
        for (conv, _), act in zip(pairs, activations):
            mask = (act > 0).to(t.dtype).repeat(3, 1, 1, 1)
            t = F.conv2d(t, conv.weight.clamp_min(0), stride=conv.stride) * mask  # excitatory paths only
            out.append(t.sum(dim=(2, 3)).reshape(3, n, -1).permute(1, 2, 0).contiguous())
        groups = None
        if dense is not None:
            linear, hidden, onehot = dense
            mask = (hidden > 0).to(t.dtype).repeat(3, 1)
            tangent = (t.flatten(1) @ linear.weight.clamp_min(0).T) * mask  # [3N, U]
            groups = (tangent @ onehot.to(t.dtype)).reshape(3, n, -1).permute(1, 2, 0).contiguous()
    return out, groups
