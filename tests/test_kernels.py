"""rlviz's faster kernels compute what PyTorch's own ops compute."""

from __future__ import annotations

import pytest
import torch

import rlviz.explain.kernels as kernels
from rlviz.bench import _forward_with_rlviz_kernels
from rlviz.explain.kernels import linear_relu


@pytest.fixture(params=["fast", "fallback"])
def kernel_choice(request, monkeypatch):
    """Run each test with oneDNN where this machine has it, and with the plain fallback."""
    if request.param == "fast" and not kernels.onednn_linear_available():
        pytest.skip("this PyTorch build has no oneDNN linear")
    if request.param == "fallback":
        monkeypatch.setattr(kernels, "onednn_linear_available", lambda: False)
    return request.param


@pytest.mark.parametrize("rows", [1, 289, 512])
def test_linear_relu_equals_addmm_then_relu(kernel_choice, rows):
    gen = torch.Generator().manual_seed(rows)
    x, w, b = torch.randn(rows, 3136, generator=gen), torch.randn(512, 3136, generator=gen), torch.randn(512, generator=gen)
    with torch.inference_mode():
        got = linear_relu(x, w, b)
        want = torch.relu(x.double() @ w.double().t() + b.double()).float()  # an independent, more precise oracle
    assert got.shape == (rows, 512)
    assert (got >= 0).all()
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)


def test_net_forward_through_rlviz_kernels_equals_the_nets_own(kernel_choice, pong_agent, random_obs):
    forward = _forward_with_rlviz_kernels(pong_agent)
    x = torch.from_numpy(random_obs).float().div(255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        logits, values = forward(x)
        want_logits, want_values = pong_agent.forward(x)
    torch.testing.assert_close(logits, want_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(values, want_values, rtol=1e-4, atol=1e-5)
