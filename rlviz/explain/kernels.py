"""Faster CPU kernels for the saliency hot loop, each checked against PyTorch's own op.

On this project's machine (AMD EPYC, torch 2.13 CPU) PyTorch's ``addmm`` goes to MKL's
sgemm, which runs fc1 of the Nature CNN at about 95 GMAC/s; oneDNN's fused linear + ReLU
(the op PyTorch's compiler uses for frozen CPU graphs) runs the same product at about
215 GMAC/s (measured in one process; docs/speed.md, step 5). The oneDNN op is private, so
it is used only after a one-time probe shows it exists and agrees with ``addmm``; otherwise
(GPU, builds without oneDNN, a future PyTorch without the op) the plain op runs.
"""

from __future__ import annotations

from functools import lru_cache

import torch


@lru_cache(maxsize=1)
def onednn_linear_available() -> bool:
    """Whether oneDNN's fused linear + ReLU runs here and matches addmm on a probe."""
    op = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if op is None or not torch.backends.mkldnn.is_available():
        return False
    gen = torch.Generator().manual_seed(0)
    x, w, b = (torch.randn(*shape, generator=gen) for shape in ((17, 40), (24, 40), (24,)))
    try:
        with torch.inference_mode():
            fused = op(x, w, b, "relu", [], "")
    except (RuntimeError, NotImplementedError):
        return False
    return torch.allclose(fused, torch.addmm(b, x, w.t()).relu_(), rtol=1e-5, atol=1e-5)


def linear_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """relu(x @ weight.T + bias), through oneDNN on CPU where it is available."""
    if x.device.type == "cpu" and x.dtype == torch.float32 and onednn_linear_available():
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu", [], "")
    return torch.addmm(bias, x, weight.t()).relu_()
