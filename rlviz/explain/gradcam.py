"""Grad-CAM (Selvaraju et al. 2017) on the last convolution the explained output depends on.

    w_k = mean over (i, j) of d target / d A_k(i, j)      map = ReLU(sum_k w_k A_k)

A is the output of the conv module (before its activation, as Captum's LayerGradCam on that
module). The map is one coarse grid (7 x 7 for the Nature CNN) bilinearly upsampled to 84 x 84
(``align_corners=False``); it has no per-stacked-frame maps, so it is (N, 84, 84). The layer:
by default the last ``nn.Conv2d`` in forward order whose output the target depends on (for an
actor-critic with separate trunks, the actor's for an action, the critic's for the value); or
name one with ``layer="features.4"``.

Example:
    >>> cam = gradcam(agent, obs)              # (N, 84, 84), >= 0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.targets import Target, check_target, explained_output, slice_target
from rlviz.util.errors import RlvizError


def gradcam(
    agent: Agent,
    obs: Any,
    target: Target = "action",
    *,
    layer: str | None = None,
    upsample: bool = True,
    batch_size: int = 256,
) -> np.ndarray:
    """Grad-CAM maps: float32 (N, 84, 84) (or the layer's grid (N, h, w) with ``upsample=False``)."""
    check_target(target)
    named = dict(agent.net.named_modules())
    if layer is not None and layer not in named:
        convs = [n for n, m in named.items() if isinstance(m, nn.Conv2d)]
        raise RlvizError(f"the network has no layer {layer!r}; its conv layers: {', '.join(convs)}")
    candidates = {layer: named[layer]} if layer is not None else {n: m for n, m in named.items() if isinstance(m, nn.Conv2d)}
    if not candidates:
        raise RlvizError("Grad-CAM needs a conv layer; the network has none")
    x_all = to_float_obs(obs, agent.device)
    out = []
    for lo in range(0, x_all.shape[0], batch_size):
        x = x_all[lo : lo + batch_size]
        seen: list[tuple[str, torch.Tensor]] = []

        def hook(name: str, seen: list = seen):
            def fn(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                seen.append((name, output))

            return fn

        handles = [m.register_forward_hook(hook(n)) for n, m in candidates.items()]
        try:
            with torch.inference_mode(False), torch.enable_grad():
                logits, value = agent.forward(x.detach().clone().requires_grad_(True))
                y = explained_output(logits, value, slice_target(target, lo, lo + x.shape[0]))
                acts = [a for _, a in seen if a.requires_grad]
                grads = torch.autograd.grad(y.sum(), acts, allow_unused=True) if y.requires_grad and acts else []
        finally:
            for handle in handles:
                handle.remove()
        used = [(a, g) for a, g in zip(acts, grads) if g is not None and a.ndim == 4]
        if not used:
            if layer is not None or not seen:
                raise RlvizError(f"the explained output does not depend on layer {layer or 'any conv layer'}")
            a = seen[-1][1]
            cam = torch.zeros((x.shape[0], *a.shape[-2:]), device=x.device)
        else:
            a, g = used[-1]
            weights = g.mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((weights * a).sum(1)).detach()
        if upsample:
            cam = F.interpolate(cam[:, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
        out.append(cam)
    return torch.cat(out).float().cpu().numpy()
