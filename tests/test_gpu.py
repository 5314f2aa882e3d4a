"""The GPU path computes what the CPU path computes (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.explain.lrp import lrp
from rlviz.explain.perturbation import perturbation_saliency

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _agents():
    torch.manual_seed(0)
    net = NatureActorCritic(6)
    cpu = Agent(net)
    gpu_net = NatureActorCritic(6)
    gpu_net.load_state_dict(net.state_dict())
    return cpu, Agent(gpu_net, device="cuda")


def test_saliency_on_gpu_equals_cpu(random_obs):
    cpu, gpu = _agents()
    a, b = perturbation_saliency(cpu, random_obs), perturbation_saliency(gpu, random_obs)
    for name in ("actor", "critic"):
        x, y = getattr(a, name), getattr(b, name)
        assert (np.abs(x - y).max(axis=(1, 2)) / x.max(axis=(1, 2))).max() < 1e-3


def test_lrp_on_gpu_equals_cpu(random_obs):
    cpu, gpu = _agents()
    np.testing.assert_allclose(lrp(cpu, random_obs), lrp(gpu, random_obs), rtol=1e-3, atol=1e-6)
