"""The affine map of one layer, z = W a + b, with the few operations LRP rules need.

A rule only ever asks three things of a layer: apply the map with other weights
(``forward``), apply the transposed map to a vector (``transpose``), and know its own
weight and bias. ``Dense`` and ``Conv`` answer for ``nn.Linear`` and ``nn.Conv2d`` (any
stride, padding, dilation, groups); ``Pool`` for average pooling, which has no weights and
so only serves the epsilon / LRP-0 rule. Weights are passed in, never read from the module,
so that BatchNorm can be folded in without touching the module (see canonizers.py).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from rlviz.util.errors import RlvizError


class Dense:
    """``nn.Linear`` as z = a W^T + b over the last dimension."""

    kind = "dense"

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, in_shape: torch.Size) -> None:
        self.weight, self.bias, self.in_shape = weight, bias, in_shape

    def forward(self, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        return F.linear(a, weight, bias)

    def forward_many(self, a: torch.Tensor, weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """W_i a for several weight matrices in one product (no bias)."""
        out = F.linear(a, torch.cat(list(weights), 0))
        return list(out.split([w.shape[0] for w in weights], dim=-1))

    def transpose(self, s: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return s @ weight

    def transpose_sum(self, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """sum_i W_i^T s_i in one product."""
        return torch.cat([s for s, _ in pairs], -1) @ torch.cat([w for _, w in pairs], 0)

    def transpose_each(self, s: torch.Tensor, weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """W_i^T s for several weight matrices in one product."""
        out = s @ torch.cat(list(weights), 1)
        return list(out.split([w.shape[1] for w in weights], dim=-1))

    def unbias(self, z: torch.Tensor) -> torch.Tensor:
        """z - b, i.e. W a, without recomputing the product."""
        return z if self.bias is None else z - self.bias


class Conv:
    """``nn.Conv2d`` with zero padding; the transpose is the convolution's input gradient."""

    kind = "conv"

    def __init__(self, module: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None, in_shape: torch.Size) -> None:
        if module.padding_mode != "zeros":
            raise RlvizError(f"LRP supports Conv2d with zero padding only, got padding_mode={module.padding_mode!r}")
        self.weight, self.bias, self.in_shape = weight, bias, in_shape
        self.stride, self.dilation, self.groups = module.stride, module.dilation, module.groups
        self.padding = _int_padding(module)

    def _conv(self, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        return F.conv2d(a, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        return self._conv(a, weight, bias)

    def forward_many(self, a: torch.Tensor, weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if self.groups != 1:
            return [self._conv(a, w) for w in weights]
        out = self._conv(a, torch.cat(list(weights), 0))
        return list(out.split([w.shape[0] for w in weights], dim=1))

    def transpose(self, s: torch.Tensor, weight: torch.Tensor, in_shape: Sequence[int] | None = None) -> torch.Tensor:
        shape = list(in_shape if in_shape is not None else self.in_shape)
        shape[0] = s.shape[0]
        if self._blocked:
            return self._transpose_blocked(s, weight, shape)
        return torch.nn.grad.conv2d_input(shape, weight, s, self.stride, self.padding, self.dilation, self.groups)

    @property
    def _blocked(self) -> bool:
        """Whether the transpose can run as a stride-1 convolution over stride x stride blocks."""
        kernel = self.weight.shape[2:]
        return (
            self.groups == 1
            and tuple(self.dilation) == (1, 1)
            and any(st > 1 for st in self.stride)
            and all(k % st == 0 for k, st in zip(kernel, self.stride))
        )

    def _transpose_blocked(self, s: torch.Tensor, weight: torch.Tensor, shape: list[int]) -> torch.Tensor:
        # W^T s of a strided convolution, rewritten on stride x stride pixel blocks (space to
        # depth) as a stride-1 transposed convolution with C*sh*sw channels. Same numbers as the
        # strided input gradient, but several times faster on CPU for the Nature CNN's 8x8/4 and 4x4/2.
        # channels_last makes oneDNN's stride-1 transposed convolution ~4x faster on CPU.
        (sh, sw), (ph, pw) = self.stride, self.padding
        out_ch, in_ch, kh, kw = weight.shape
        blocks = weight.reshape(out_ch, in_ch, kh // sh, sh, kw // sw, sw).permute(0, 1, 3, 5, 2, 4)
        blocks = blocks.reshape(out_ch, in_ch * sh * sw, kh // sh, kw // sw)
        out = F.conv_transpose2d(s.contiguous(memory_format=torch.channels_last), blocks)
        n, _, hb, wb = out.shape
        out = out.permute(0, 2, 3, 1).reshape(n, hb, wb, in_ch, sh, sw)  # a view when out is channels_last
        out = out.permute(0, 3, 1, 4, 2, 5).reshape(n, in_ch, hb * sh, wb * sw)
        height, width = shape[2] + 2 * ph, shape[3] + 2 * pw  # rows past the last window get nothing
        if (height, width) != (hb * sh, wb * sw):
            out = F.pad(out, (0, width - wb * sw, 0, height - hb * sh))
        if ph or pw:
            out = out[:, :, ph : ph + shape[2], pw : pw + shape[3]]
        return out

    def transpose_sum(self, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        if self.groups != 1:
            return sum(self.transpose(s, w) for s, w in pairs)  # type: ignore[return-value]
        return self.transpose(torch.cat([s for s, _ in pairs], 1), torch.cat([w for _, w in pairs], 0))

    def transpose_each(self, s: torch.Tensor, weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if self.groups != 1:
            return [self.transpose(s, w) for w in weights]
        # Stacking the weights along their input-channel axis gives every W_i^T s in one call.
        shape = list(self.in_shape)
        shape[1] *= len(weights)
        out = self.transpose(s, torch.cat(list(weights), 1), shape)
        return list(out.chunk(len(weights), dim=1))

    def unbias(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.bias is None else z - self.bias.view(-1, 1, 1)


class Pool:
    """Average pooling as a linear map without weights: only the epsilon / LRP-0 rule applies."""

    kind = "pool"
    weight = None
    bias = None

    def __init__(self, module: nn.Module, in_shape: torch.Size) -> None:
        self.module, self.in_shape = module, in_shape

    def forward(self, a: torch.Tensor, weight: None = None, bias: None = None) -> torch.Tensor:
        return self.module.forward(a)  # .forward, not __call__: bypasses LRP's own hooks

    def transpose(self, s: torch.Tensor, weight: None = None) -> torch.Tensor:
        with torch.enable_grad():
            probe = torch.zeros(self.in_shape, dtype=s.dtype, device=s.device, requires_grad=True)
            (out,) = torch.autograd.grad(self.module.forward(probe), probe, s)
        return out


def _int_padding(module: nn.Conv2d) -> tuple[int, int]:
    """Conv2d padding as two ints ('same' only where it is symmetric)."""
    if not isinstance(module.padding, str):
        return tuple(module.padding)  # type: ignore[return-value]
    if module.padding == "valid":
        return (0, 0)
    total = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size)]
    if any(t % 2 for t in total):
        raise RlvizError("LRP supports padding='same' only for odd kernel sizes; give the padding as numbers")
    return (total[0] // 2, total[1] // 2)
