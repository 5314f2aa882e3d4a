"""The heads of the networks rlviz knows, found by role rather than by attribute name.

Explanations need "the layer that scores actions" and "the layer that gives the value":
``actor``/``critic`` in an actor-critic, ``q`` in a Q-network, ``advantage``/``value`` in a
dueling Q-network, ``head`` (actions x atoms) in a distributional one. This module answers
for all of them, so interactions and LRP work on every architecture rlviz loads.

* :func:`linear_heads`: (policy head, value head) as ``nn.Linear`` on the first dense layer's
  units, for neuron interactions. A dueling net's policy head is its advantage head (Q_a - A_a
  is the same for every action, so it ranks actions alike); a QR-DQN head is folded into one
  row per action exactly (Q_a is the mean of its quantiles, a linear map); a C51 head is
  linearised at the uniform distribution (dQ_a/dz_ai = (s_i - mean s) / atoms there), an
  approximation said so in its docstring.
* :func:`distributional_lrp`: for C51 / QR-DQN, the output LRP starts from (the atoms) and the
  starting relevance per atom, R_ai = p_ai s_i (C51) or z_ai / atoms (QR-DQN), which sums to
  Q_a exactly, so relevance is conserved through the expectation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from rlviz.agents.networks import NatureDistributionalQ, NatureDuelingQ
from rlviz.explain.lrp.rules import divide


def _folded(head: nn.Linear, weights: torch.Tensor, n_actions: int) -> nn.Linear:
    """A Linear whose row a is sum_i weights[i] * row (a, i) of an actions x atoms head."""
    w = head.weight.detach().view(n_actions, -1, head.in_features)
    b = head.bias.detach().view(n_actions, -1)
    out = nn.Linear(head.in_features, n_actions).to(w.device, w.dtype)
    with torch.no_grad():
        out.weight.copy_(torch.einsum("aih,i->ah", w, weights))
        out.bias.copy_(b @ weights)
    return out


def linear_heads(net: nn.Module, kind: str) -> tuple[nn.Linear | None, nn.Linear | None]:
    """(policy head, value head) reading the first dense layer's units, or None where there is none."""
    if isinstance(net, NatureDuelingQ):
        return net.advantage, (None if net.separate_streams else net.value)
    if isinstance(net, NatureDistributionalQ):
        n = net.n_atoms
        if net.distribution == "qr":
            weights = torch.full((n,), 1.0 / n)
        else:  # C51 linearised at the uniform distribution over atoms
            weights = (net.support - net.support.mean()) / n
        return _folded(net.head, weights.to(net.head.weight), net.n_actions), None
    if kind == "actor-critic":
        critic = None if getattr(net, "critic_features", None) is not None else getattr(net, "critic", None)
        return getattr(net, "actor", None), critic
    return getattr(net, "q", None), None



def distributional_lrp(
    net: nn.Module, actions: torch.Tensor | None,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]] | None:
    """For a distributional net: (x -> atoms [N, A*atoms], y -> start) so that y * start is the
    relevance R_ai of each atom for the explained action (greedy when ``actions`` is None),
    summing to Q_a. None for other nets."""
    if not isinstance(net, NatureDistributionalQ):
        return None
    n_actions, n_atoms = net.n_actions, net.n_atoms

    def atoms(x: torch.Tensor) -> torch.Tensor:
        return net.atoms(x).reshape(x.shape[0], n_actions * n_atoms)

    def start(y: torch.Tensor) -> torch.Tensor:
        z = y.detach().view(-1, n_actions, n_atoms)
        if net.distribution == "c51":
            share = torch.softmax(z, dim=-1) * net.support  # p_ai * s_i, sums to Q_a over i
            q = share.sum(-1)
        else:
            share = z / n_atoms
            q = share.sum(-1)
        chosen = q.argmax(-1) if actions is None else actions
        mask = torch.nn.functional.one_hot(chosen, n_actions).to(z.dtype).unsqueeze(-1)
        return divide(share * mask, z).reshape(y.shape)  # y * start = R_ai

    return atoms, start
