"""Reference inputs ("baselines") for methods that explain a difference f(x) - f(x~).

Integrated gradients and DeepLIFT attribute the change of the output between a reference x~
and the observation x. The reference is an array broadcastable to the observation batch
[N, 4, 84, 84]: one frame (84, 84), one stack (4, 84, 84), or one per observation; uint8 in
0..255 as the env gives frames (divided by 255 like the observations) or float in the
network's [0, 1] input space. ``None`` or 0 is the black frame, the usual default; a median
background of the game (DESIGN.md §8) asks "what about this frame differs from the empty
playfield".

Example:
    >>> ref = reference_input(background_uint8, x)       # (84, 84) uint8 -> [N, 4, 84, 84] float
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlviz.util.errors import RlvizError


def reference_input(baseline: Any, x: torch.Tensor) -> torch.Tensor:
    """The reference for float inputs x [N, C, H, W], as a float tensor of x's shape."""
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, int | float) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    ref = baseline.detach() if isinstance(baseline, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(np.asarray(baseline)))
    if ref.dtype == torch.uint8:
        ref = ref.float() / 255.0
    elif not ref.is_floating_point():
        raise RlvizError(f"the baseline must be uint8 (0..255) or float in [0, 1], got {ref.dtype}")
    ref = ref.to(x.device, x.dtype)
    try:
        return torch.broadcast_to(ref, x.shape).clone()
    except RuntimeError:
        raise RlvizError(
            f"a baseline of shape {tuple(ref.shape)} does not fit observations {tuple(x.shape)}; give one frame "
            f"{tuple(x.shape[-2:])}, one stack {tuple(x.shape[1:])} or one stack per observation"
        ) from None
