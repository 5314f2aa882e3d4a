"""Canonizers: view the model as LRP needs it, without changing it.

BatchNorm after a Linear/Conv2d is folded into that layer: LRP sees one affine layer with
weight W * s and bias (b - mean) * s + beta, s = gamma / sqrt(var + eps). The fold is
temporary in the strongest sense: the folded weights exist only inside one LRP call and the
module's parameters are never written, so nothing needs undoing and a failure cannot leave
the model changed. BatchNorm is evaluated with its running statistics (eval semantics).
"""

from __future__ import annotations

import torch
from torch import nn

from rlviz.util.errors import RlvizError

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
FOLDABLE = (nn.Linear, nn.Conv2d)


def batchnorm_pairs(model: nn.Module) -> dict[nn.Module, nn.Module]:
    """{layer: batchnorm} for each BatchNorm that directly follows a Linear/Conv2d in a Sequential."""
    pairs: dict[nn.Module, nn.Module] = {}
    for container in model.modules():
        if isinstance(container, nn.Sequential):
            children = list(container.children())
            for layer, norm in zip(children, children[1:]):
                if isinstance(layer, FOLDABLE) and isinstance(norm, NORMS):
                    pairs[layer] = norm
    return pairs


def _scale_shift(norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    if norm.training:
        raise RlvizError("LRP needs the network in eval mode (BatchNorm is in training mode); call net.eval() first")
    if norm.running_mean is None or norm.running_var is None:
        raise RlvizError("LRP can fold BatchNorm only with running statistics (track_running_stats=True)")
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale.detach(), shift.detach()


def fold_batchnorm(
    weight: torch.Tensor, bias: torch.Tensor | None, norm: nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the layer followed by ``norm``, as one affine layer (new tensors)."""
    scale, shift = _scale_shift(norm)
    folded_weight = weight * scale.view(-1, *([1] * (weight.ndim - 1)))
    folded_bias = shift if bias is None else bias * scale + shift
    return folded_weight, folded_bias


def apply_batchnorm(z: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """The (eval-mode) output of ``norm`` for input z, computed without calling the module."""
    scale, shift = _scale_shift(norm)
    shape = (-1, *([1] * (z.ndim - 2)))
    return z * scale.view(shape) + shift.view(shape)
