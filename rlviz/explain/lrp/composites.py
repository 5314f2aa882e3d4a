"""Composites: which LRP rule goes on which layer. A composite never does math.

A layer is one of: the *first* layer (the first Linear/Conv2d to run, the one that reads the
observation), another ``conv`` layer, a ``dense`` layer (nn.Linear, including the heads), or a
``pool`` layer (average pooling, always epsilon). Named composites (DESIGN.md §5):

| name                  | first layer       | other convs        | dense           |
|-----------------------|-------------------|--------------------|-----------------|
| epsilon-gamma-box     | z^B on [low,high] | gamma (0.25)       | epsilon (1e-6)  |
| epsilon-plus-flat     | flat              | z+                 | epsilon (1e-6)  |
| epsilon-alpha2-beta1  | z^B on [low,high] | alpha2-beta1       | epsilon (1e-6)  |
| epsilon               | epsilon           | epsilon            | epsilon (1e-6)  |
| zero                  | LRP-0             | LRP-0              | LRP-0           |
| epsilon-gamma-reference | reference x~    | gamma (0.25)       | epsilon (1e-6)  |

epsilon-gamma-box uses the settings of zennit's EpsilonGammaBox (Montavon et al. 2019's
recommendation for the Nature CNN; the dense/output layers get epsilon=1e-6, which is LRP-0 up
to the stabiliser). epsilon-alpha2-beta1 puts z^B, not alpha-beta, on the pixel layer: the
observation is bounded to [0, 1] and z^B is the rule made for such inputs (zennit's
EpsilonAlpha2Beta1 uses alpha-beta there too; pass ``box=False`` for that).

epsilon-gamma-reference is epsilon-gamma-box with the pixel layer decomposed relative to a
reference observation x~ (``rules.Reference``, DESIGN.md §8), normally the game's background:
relevance then lands where the frame differs from the empty playfield, i.e. on the objects.
It needs ``reference=`` and so lives in ``REFERENCE_COMPOSITES``, apart from the composites
that run on any input.

Example:
    >>> composite = make_composite("epsilon-gamma-box", gamma=0.5)
    >>> composite.rule_for("conv", first=False)
    Gamma(gamma=0.5, stabilizer=1e-06)
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from rlviz.explain.lrp.rules import (
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    Reference,
    Rule,
    ZBox,
    Zero,
    ZPlus,
)
from rlviz.util.errors import RlvizError

Bound = float | torch.Tensor


@dataclass(frozen=True)
class Composite:
    """A rule per kind of layer; ``first`` goes on the layer that reads the observation."""

    name: str
    first: Rule
    conv: Rule
    dense: Rule
    pool: Rule

    def rule_for(self, kind: str, *, first: bool) -> Rule:
        """The rule for a layer of this kind ('conv', 'dense' or 'pool')."""
        if kind == "pool":
            return self.pool
        if first:
            return self.first
        return self.conv if kind == "conv" else self.dense


def epsilon_gamma_box(
    *, gamma: float = 0.25, epsilon: float = 1e-6, low: Bound = 0.0, high: Bound = 1.0, stabilizer: float = 1e-6
) -> Composite:
    """First layer z^B on [low, high], other convs gamma, dense layers epsilon (the default)."""
    dense = Epsilon(epsilon)
    return Composite("epsilon-gamma-box", ZBox(low, high, stabilizer), Gamma(gamma, stabilizer), dense, dense)


def epsilon_plus_flat(*, epsilon: float = 1e-6, stabilizer: float = 1e-6) -> Composite:
    """First layer flat, other convs z+, dense layers epsilon."""
    dense = Epsilon(epsilon)
    return Composite("epsilon-plus-flat", Flat(), ZPlus(stabilizer), dense, dense)


def epsilon_alpha2_beta1(
    *,
    alpha: float = 2.0,
    beta: float = 1.0,
    epsilon: float = 1e-6,
    low: Bound = 0.0,
    high: Bound = 1.0,
    stabilizer: float = 1e-6,
    box: bool = True,
) -> Composite:
    """First layer z^B (alpha-beta with box=False), other convs alpha-beta, dense epsilon."""
    conv = AlphaBeta(alpha, beta, stabilizer)
    dense = Epsilon(epsilon)
    first = ZBox(low, high, stabilizer) if box else conv
    return Composite("epsilon-alpha2-beta1", first, conv, dense, dense)


def epsilon(*, epsilon: float = 1e-6) -> Composite:
    """LRP-epsilon on every layer."""
    rule = Epsilon(epsilon)
    return Composite("epsilon", rule, rule, rule, rule)


def zero() -> Composite:
    """LRP-0 on every layer (equals gradient x input on a ReLU net)."""
    rule = Zero()
    return Composite("zero", rule, rule, rule, rule)


COMPOSITES: dict[str, Callable[..., Composite]] = {
    "epsilon-gamma-box": epsilon_gamma_box,
    "epsilon-plus-flat": epsilon_plus_flat,
    "epsilon-alpha2-beta1": epsilon_alpha2_beta1,
    "epsilon": epsilon,
    "zero": zero,
}


def epsilon_gamma_reference(
    *, reference: Any = None, gamma: float = 0.25, epsilon: float = 1e-6, stabilizer: float = 1e-6
) -> Composite:
    """First layer relative to ``reference`` (x~), other convs gamma, dense layers epsilon.

    reference: the background as the env gives observations (uint8, one frame (H, W) or a stack
    (C, H, W)) or floats in [0, 1] shaped like one input."""
    if reference is None:
        raise RlvizError(
            "composite 'epsilon-gamma-reference' needs reference=<background>, e.g. "
            "reference=rlviz.background(agent) (a uint8 frame or stack, or floats in [0, 1])"
        )
    dense = Epsilon(epsilon)
    return Composite(
        "epsilon-gamma-reference", Reference(_as_input(reference), stabilizer), Gamma(gamma, stabilizer), dense, dense
    )


def _as_input(reference: Any) -> torch.Tensor:
    """A reference as a float tensor on the network's input scale ([0, 1]; uint8 is divided by 255)."""
    if isinstance(reference, torch.Tensor):
        return reference.float() / 255.0 if reference.dtype == torch.uint8 else reference
    arr = np.asarray(reference)
    if arr.dtype == np.uint8:
        return torch.from_numpy(arr.astype(np.float32) / 255.0)
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


REFERENCE_COMPOSITES: dict[str, Callable[..., Composite]] = {
    "epsilon-gamma-reference": epsilon_gamma_reference,
}


def make_composite(composite: str | Composite = "epsilon-gamma-box", **overrides: Any) -> Composite:
    """A composite by name, with its parameters overridden (e.g. gamma=0.5, epsilon=1e-9)."""
    if isinstance(composite, Composite):
        if overrides:
            raise RlvizError("parameter overrides apply to a composite given by name, not to a Composite object")
        return composite
    factories = {**COMPOSITES, **REFERENCE_COMPOSITES}
    if composite not in factories:
        raise RlvizError(f"unknown LRP composite {composite!r}; choose one of: {', '.join(factories)}")
    factory = factories[composite]
    allowed = list(inspect.signature(factory).parameters)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        hint = f"it takes: {', '.join(allowed)}" if allowed else "it takes no parameters"
        raise RlvizError(f"composite {composite!r} has no parameter {', '.join(unknown)}; {hint}")
    return factory(**overrides)
