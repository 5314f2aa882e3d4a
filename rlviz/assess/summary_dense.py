"""The fully connected layer (fc1) in a summary: its units in groups, read per frame.

fc1 has 512 units and no screen layout, so a summary reads it in groups. **A unit joins the
move it pushes hardest**: the group of unit u is argmax_a W[a, u], where W is the Jacobian of
the centred outputs f_a - mean_b f_b with respect to fc1's output (for the linear heads of the
Nature actor-critic, Q and dueling networks it is the head's weight matrix, centred over the
moves; taken at fc1 = 0 otherwise). The rule is a pure function of the weights, so every
episode, process and Ray worker gets the same groups, and it names the group in the network's
own terms ("the units that push UP most"), which is what the graph's last step needs. A
clustering of the 3136-wide weight rows (k-means) would group units by what they read instead;
its groups have no names, and its result depends on an initialisation.

Per frame, with h_u = fc1's output and t_ui = sum over the 7x7 places of X_i * W1[u, i] (the one
term of u's input that reads channel i of the last conv layer):

* **group activation**: the mean of h_u over the group's units;
* **influence** of channel i on group G (Summit's, for a dense layer): sum over G's active units
  of t_ui. Inactive units pass nothing on. With the biases of the active units it adds up to
  the group's summed activation;
* **contribution** of G to the chosen move: sum over G of h_u dT/dh_u, with T = f_a - mean_b f_b
  (gradient x activation, as for the last conv layer);
* **path** from channel i through G to the move: sum over G's active units of dT/dh_u t_ui.
  Summed over the groups it is channel i's contribution to the move (gradient x activation of
  the conv layer), exactly; so the graph's conv -> group edges split each channel's push.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class DenseGroups:
    """fc1's units in groups: ``groups[u]`` is unit u's group, ``labels[g]`` the move group g pushes."""

    name: str
    groups: tuple[int, ...]
    labels: tuple[str, ...]

    @property
    def units(self) -> int:
        return len(self.groups)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def sizes(self) -> np.ndarray:
        return np.bincount(np.asarray(self.groups, np.int64), minlength=self.n_groups)

    def onehot(self) -> torch.Tensor:
        """[U, G] float32, 1 where unit u is in group g."""
        return torch.nn.functional.one_hot(torch.tensor(self.groups, dtype=torch.int64), self.n_groups).float()


@dataclass
class DenseReadout:
    """What a batch of frames says about fc1's groups (float32 on CPU)."""

    activations: torch.Tensor  # [N, G] mean of h_u over each group's units
    influences: torch.Tensor  # [N, G, C_last] sum over the group's active units of t_ui
    paths: torch.Tensor  # [N, G, C_last] sum over the group's active units of dT/dh_u t_ui
    contributions: torch.Tensor  # [N, G] sum over the group of h_u dT/dh_u


def dense_layer(net: nn.Module) -> tuple[nn.Linear, nn.Module] | None:
    """(fc1, its ReLU) when ``net.features`` continues after the last conv ReLU with Flatten,
    Linear, ReLU (the Nature CNN); None otherwise (then a summary stops at the conv layers)."""
    mods = list(getattr(net, "features", []))
    last = max((k for k, m in enumerate(mods) if isinstance(m, nn.Conv2d)), default=None)
    if last is None or last + 4 >= len(mods):
        return None
    flat, linear, relu = mods[last + 2:last + 5]
    if isinstance(flat, nn.Flatten) and isinstance(linear, nn.Linear) and isinstance(relu, nn.ReLU):
        return linear, relu
    return None


def output_weights(forward, relu: nn.Module, obs_shape: tuple[int, ...], n_actions: int,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """[A, U]: d(f_a - mean_b f_b) / d h_u at h = 0, read by replacing fc1's output in one
    forward pass (``forward``: float obs -> (outputs, value))."""
    units = None

    def replace(_m, _i, out):
        nonlocal units
        units = torch.zeros_like(out[:1], requires_grad=True)
        return units.expand_as(out)

    handle = relu.register_forward_hook(replace)
    try:
        with torch.enable_grad():
            outputs, _ = forward(torch.zeros((1, *obs_shape), device=device))
            centred = outputs[0] - outputs[0].mean()
            rows = [torch.autograd.grad(centred[a], units, retain_graph=a + 1 < n_actions)[0][0]
                    for a in range(n_actions)]
    finally:
        handle.remove()
    return torch.stack(rows).detach().cpu()


def group_units(weights: torch.Tensor, action_names: list[str], name: str = "fc1") -> DenseGroups:
    """Each unit into the group of the move its output weight favours most (the first on a tie)."""
    groups = torch.argmax(weights, dim=0)  # first maximum on ties
    return DenseGroups(name, tuple(int(g) for g in groups), tuple(action_names))


def read_dense(last: torch.Tensor, hidden: torch.Tensor, grad_hidden: torch.Tensor, linear: nn.Linear,
               onehot: torch.Tensor) -> DenseReadout:
    """Group readings of one batch from the last conv layer's output ``last`` [N, C, H, W], fc1's
    output ``hidden`` [N, U] and dT/dh ``grad_hidden`` [N, U] (see the module docstring)."""
    c = last.shape[1]
    with torch.no_grad():
        w = linear.weight.detach().reshape(linear.out_features, c, -1)  # [U, C, HW]
        terms = torch.einsum("ncp,ucp->nuc", last.flatten(2), w)  # t_ui [N, U, C]
        active = (hidden > 0).to(terms.dtype)
        onehot = onehot.to(terms.dtype)
        influences = torch.einsum("nuc,ug->ngc", terms * active[..., None], onehot)
        paths = torch.einsum("nuc,ug->ngc", terms * (active * grad_hidden)[..., None], onehot)
        sizes = onehot.sum(0).clamp_min(1)
        return DenseReadout(hidden @ onehot / sizes, influences, paths, (hidden * grad_hidden) @ onehot)
