"""DeepLIFT with the rescale rule (Shrikumar et al. 2017): contributions of (x - x~) to
f(x) - f(x~), propagated with finite-difference slopes through the nonlinearities.

Linear layers pass multipliers back as the gradient does; each elementwise nonlinearity y =
g(z) (ReLU, LeakyReLU, ...) passes back the slope (g(z) - g(z~)) / (z - z~) between the
observation's and the reference's pre-activation instead of g'(z) (where z = z~, g'(z)).
Then ``(x - x~) * multiplier`` sums exactly to f(x) - f(x~) for a network of linear layers and
such nonlinearities ("summation to delta"; tested).

How: the observation and the reference go through the network as one batch [x; x~]; forward
hooks on the nonlinearity modules replace each output y by ``y + m * (z - z.detach())``, which
has the same value and the slope m as its derivative. Nonlinearities applied as functions
(not modules), and max-pooling, are differentiated as usual. Every hook is removed when the
call returns.

Example:
    >>> dl = deeplift(agent, obs, baseline=background)    # (N, 4, 84, 84), signed
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.references import reference_input
from rlviz.explain.targets import (
    Target,
    check_target,
    explained_output,
    fix_actions,
    slice_target,
)

NONLINEAR = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.GELU, nn.SiLU)
SAME = 1e-7  # |z - z~| below this counts as no change: use the local derivative


def _rescale_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    z = inputs[0]
    half = z.shape[0] // 2
    with torch.no_grad():
        dz = z[:half] - z[half:]
        dy = output[:half] - output[half:]
        h = 1e-3
        local = (module.forward(z[:half] + h) - module.forward(z[:half] - h)) / (2 * h)
        slope = torch.where(dz.abs() > SAME, dy / torch.where(dz.abs() > SAME, dz, torch.ones_like(dz)), local)
        slope = torch.cat([slope, slope])  # the reference half gets the same slopes (unused)
    return output.detach() + slope * (z - z.detach())


def deeplift(
    agent: Agent,
    obs: Any,
    target: Target = "action",
    *,
    baseline: Any = None,
    batch_size: int = 128,
) -> np.ndarray:
    """DeepLIFT-rescale for uint8 obs (4,84,84) or (N,4,84,84): float32 (N, 4, 84, 84), signed.

    ``baseline``: the reference x~ (rlviz.explain.references; default the black frame).
    "action" explains the greedy action at x. One forward and one backward pass of 2N inputs.
    """
    check_target(target)
    x_all = to_float_obs(obs, agent.device)
    ref_all = reference_input(baseline, x_all)
    with torch.no_grad():
        target = fix_actions(target, agent.forward(x_all)[0])
    modules = [m for m in agent.net.modules() if isinstance(m, NONLINEAR)]
    out = []
    for lo in range(0, x_all.shape[0], batch_size):
        x, ref = x_all[lo : lo + batch_size], ref_all[lo : lo + batch_size]
        b = x.shape[0]
        handles = [m.register_forward_hook(_rescale_hook) for m in modules]
        try:
            with torch.inference_mode(False), torch.enable_grad():
                both = torch.cat([x, ref]).detach().requires_grad_(True)
                logits, value = agent.forward(both)
                chosen = slice_target(target, lo, lo + b)
                y = explained_output(logits[:b], value[:b], chosen)
                if not y.requires_grad:
                    out.append(torch.zeros_like(x))
                    continue
                (g,) = torch.autograd.grad(y.sum(), both, allow_unused=True)
        finally:
            for handle in handles:
                handle.remove()
        g = torch.zeros_like(both) if g is None else g
        out.append(((x - ref) * g[:b]).detach())
    return torch.cat(out).float().cpu().numpy()
