"""LRP rules (Montavon et al. 2019, DESIGN.md §5): one small class each, a few lines of math.

Every rule works on a layer z = W a + b (``layers.Dense``, ``layers.Conv``, ``layers.Pool``)
and is used in two steps:

- ``prepare(layer, a, z)`` in the forward pass: computes what does not depend on the
  relevance, typically q = z / (rho(W) a + rho(b)) stabilised.
- ``backward(layer, state, g)`` in the backward pass. The relevance arriving at the layer's
  output is R = z * g (g is the gradient-like quantity flowing back; ReLU, Flatten and
  max-pool pass relevance through unchanged in this form). With s = R / z_rho = g * q the
  rule returns c = rho(W)^T s, and the relevance of the inputs is a * c.

Rules whose input relevance is not of the form a * c (z^B, w^2, flat) set ``direct = True``
and return the input relevance itself.

A rule never knows which layer it sits on; composites.py decides that.
"""

from __future__ import annotations

from typing import Any

import torch

from rlviz.util.errors import RlvizError


def stabilize(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + epsilon * sign(z), with sign(0) = +1."""
    if epsilon == 0:
        return z
    return torch.where(z >= 0, z + epsilon, z - epsilon)


def divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, and 0 where den == 0 (a unit with no contributions passes no relevance)."""
    return torch.where(den == 0, torch.zeros((), dtype=num.dtype, device=num.device), num / den)


def ratio(z: torch.Tensor, den: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z / stabilize(den, epsilon); a stabilised denominator is never 0, so only LRP-0 needs the check."""
    return z / stabilize(den, epsilon) if epsilon > 0 else divide(z, den)


def _nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0:
            raise RlvizError(f"LRP parameter {name} must be >= 0, got {value}")


class Rule:
    """Base class: how one layer passes relevance from its outputs to its inputs."""

    direct = False  # True: backward() returns the inputs' relevance, not c

    def prepare(self, layer: Any, a: torch.Tensor, z: torch.Tensor) -> Any:
        raise NotImplementedError

    def backward(self, layer: Any, state: Any, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _weights(layer: Any, rule: Rule) -> torch.Tensor:
    if layer.weight is None:
        raise RlvizError(f"the {rule!r} rule needs a layer with weights; use epsilon for {layer.kind} layers")
    return layer.weight


def _plus(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.clamp(min=0)


def _minus(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.clamp(max=0)


class Epsilon(Rule):
    """LRP-epsilon: R_j = sum_k a_j w_jk / (z_k + eps sign(z_k)) R_k. epsilon=0 is LRP-0."""

    def __init__(self, epsilon: float = 1e-6) -> None:
        _nonnegative(epsilon=epsilon)
        self.epsilon = float(epsilon)

    def prepare(self, layer, a, z):
        return ratio(z, z, self.epsilon)

    def backward(self, layer, q, g):
        return layer.transpose(g * q, layer.weight)


class Zero(Epsilon):
    """LRP-0: R_j = sum_k a_j w_jk / z_k R_k (epsilon = 0; a zero z_k passes nothing)."""

    def __init__(self) -> None:
        super().__init__(0.0)


class Gamma(Rule):
    """LRP-gamma: w -> w + gamma w+, b -> b + gamma b+ in numerator and denominator."""

    def __init__(self, gamma: float = 0.25, stabilizer: float = 1e-6) -> None:
        _nonnegative(gamma=gamma, stabilizer=stabilizer)
        self.gamma, self.stabilizer = float(gamma), float(stabilizer)

    def prepare(self, layer, a, z):
        w = _weights(layer, self)
        w = w + self.gamma * w.clamp(min=0)
        b = None if layer.bias is None else layer.bias + self.gamma * layer.bias.clamp(min=0)
        return w, ratio(z, layer.forward(a, w, b), self.stabilizer)

    def backward(self, layer, state, g):
        w, q = state
        return layer.transpose(g * q, w)


class ZPlus(Rule):
    """z+: only positive contributions (a_j w_jk)+ and b+ count, in numerator and denominator."""

    def __init__(self, stabilizer: float = 1e-6) -> None:
        _nonnegative(stabilizer=stabilizer)
        self.stabilizer = float(stabilizer)

    def prepare(self, layer, a, z):
        w = _weights(layer, self)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        zp = layer.forward(a.clamp(min=0), wp, _plus(layer.bias))
        negative = a < 0 if bool((a < 0).any()) else None  # after a ReLU there are none
        if negative is not None:
            zp = zp + layer.forward(a.clamp(max=0), wn)  # negative input times negative weight
        return wp, wn, negative, ratio(z, zp, self.stabilizer)

    def backward(self, layer, state, g):
        wp, wn, negative, q = state
        c = layer.transpose(g * q, wp)
        if negative is not None:
            c = torch.where(negative, layer.transpose(g * q, wn), c)
        return c


class AlphaBeta(Rule):
    """alpha-beta: alpha * (positive contributions) - beta * (negative ones), alpha - beta = 1."""

    def __init__(self, alpha: float = 2.0, beta: float = 1.0, stabilizer: float = 1e-6) -> None:
        _nonnegative(stabilizer=stabilizer)
        if abs(alpha - beta - 1.0) > 1e-9 or beta < 0:
            raise RlvizError(f"alpha-beta needs alpha - beta = 1 and beta >= 0, got alpha={alpha}, beta={beta}")
        self.alpha, self.beta, self.stabilizer = float(alpha), float(beta), float(stabilizer)

    def prepare(self, layer, a, z):
        w = _weights(layer, self)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        ap, an = a.clamp(min=0), a.clamp(max=0)
        plus_of_ap, minus_of_ap = layer.forward_many(ap, [wp, wn])
        zp, zn = plus_of_ap, minus_of_ap
        negative = a < 0 if bool((a < 0).any()) else None
        if negative is not None:
            minus_of_an, plus_of_an = layer.forward_many(an, [wp, wn])  # an * wn > 0, an * wp < 0
            zp, zn = zp + plus_of_an, zn + minus_of_an
        zp = zp + _bias_view(layer, _plus(layer.bias))
        zn = zn + _bias_view(layer, _minus(layer.bias))
        qp, qn = ratio(z, zp, self.stabilizer), ratio(z, zn, self.stabilizer)
        return wp, wn, negative, qp, qn

    def backward(self, layer, state, g):
        wp, wn, negative, qp, qn = state
        sp, sn = self.alpha * (g * qp), -self.beta * (g * qn)
        pairs = [(sp, wp)] + ([(sn, wn)] if self.beta else [])
        c = layer.transpose_sum(pairs)
        if negative is not None:
            pairs = [(sp, wn)] + ([(sn, wp)] if self.beta else [])
            c = torch.where(negative, layer.transpose_sum(pairs), c)
        return c


class ZBox(Rule):
    """z^B for inputs bounded by low <= x <= high (the pixel layer; here [0, 1]).

    R_i = sum_j (x_i w_ij - l_i w_ij+ - h_i w_ij-) / sum_i (same) R_j; the bias is not part of
    the denominator (DESIGN.md §5). low and high are numbers or tensors shaped like one input.
    """

    direct = True

    def __init__(self, low: float | torch.Tensor = 0.0, high: float | torch.Tensor = 1.0, stabilizer: float = 1e-6) -> None:
        _nonnegative(stabilizer=stabilizer)
        self.low, self.high, self.stabilizer = low, high, float(stabilizer)

    def prepare(self, layer, a, z):
        w = _weights(layer, self)
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        zb = layer.unbias(z)  # = W x, already computed by the layer itself
        terms = [(a, w)]  # (input factor, weight) pairs of the numerator
        for bound, v in ((self.low, wp), (self.high, wn)):
            full = _bound(bound, a)
            if full is not None:  # a bound of 0 contributes nothing
                zb = zb - layer.forward(full, v)
                terms.append((bound if not isinstance(bound, torch.Tensor) else full, v))
        return terms, ratio(z, zb, self.stabilizer)

    def backward(self, layer, state, g):
        terms, q = state
        parts = layer.transpose_each(g * q, [v for _, v in terms])
        relevance = terms[0][0] * parts[0]
        for (x, _), part in zip(terms[1:], parts[1:]):
            relevance = relevance.sub_(part * x) if isinstance(x, torch.Tensor) else relevance.sub_(part, alpha=x)
        return relevance


class Reference(Rule):
    """Relative to a reference input x~ (DESIGN.md §8): deep Taylor with the root point taken
    on the segment from x towards x~ (e.g. the game's empty playfield).

    R_i = sum_j w_ij (x_i - x~_i) / (sum_i' w_i'j (x_i' - x~_i') + eps sign) R_j. Like z^B the bias
    is not in the denominator, so the layer conserves sum R up to the stabiliser; what a unit
    whose inputs all equal the reference receives is dropped (no input differs, none can
    explain it), so input relevance lands only where x differs from x~. ``reference`` is a
    number or a tensor shaped like one input (or broadcastable to it).
    """

    direct = True

    def __init__(self, reference: float | torch.Tensor, stabilizer: float = 1e-6) -> None:
        _nonnegative(stabilizer=stabilizer)
        self.reference, self.stabilizer = reference, float(stabilizer)

    def prepare(self, layer, a, z):
        w = _weights(layer, self)
        reference = self.reference
        if isinstance(reference, torch.Tensor) and reference.numel() == a[0].numel() and reference.shape != a.shape[1:]:
            reference = reference.reshape(a.shape[1:])  # e.g. a first Linear after a Flatten
        ref = _bound(reference, a)
        d = a if ref is None else a - ref  # x - x~
        return d, w, ratio(z, layer.forward(d, w), self.stabilizer)

    def backward(self, layer, state, g):
        d, w, q = state
        return d * layer.transpose(g * q, w)

    def __repr__(self) -> str:
        shape = tuple(self.reference.shape) if isinstance(self.reference, torch.Tensor) else self.reference
        return f"Reference(reference={shape!r}, stabilizer={self.stabilizer!r})"


class WSquare(Rule):
    """w^2: R_i = sum_j w_ij^2 / sum_i w_ij^2 R_j (ignores the input values)."""

    direct = True

    def __init__(self, stabilizer: float = 0.0) -> None:
        _nonnegative(stabilizer=stabilizer)
        self.stabilizer = float(stabilizer)

    def _rho(self, w: torch.Tensor) -> torch.Tensor:
        return w * w

    def prepare(self, layer, a, z):
        w = self._rho(_weights(layer, self))
        ones = torch.ones((1, *a.shape[1:]), dtype=a.dtype, device=a.device)
        return w, ratio(z, layer.forward(ones, w), self.stabilizer)

    def backward(self, layer, state, g):
        w, q = state
        return layer.transpose(g * q, w)


class Flat(WSquare):
    """flat: w^2 with every weight set to 1; relevance spread evenly over the receptive field."""

    def _rho(self, w: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(w)


def _bias_view(layer: Any, bias: torch.Tensor | None) -> torch.Tensor | float:
    if bias is None:
        return 0.0
    return bias.view(-1, 1, 1) if layer.kind == "conv" else bias


def _bound(value: float | torch.Tensor, a: torch.Tensor) -> torch.Tensor | None:
    """A bound as a tensor broadcastable to a's batch (None for the constant 0: no term)."""
    if not isinstance(value, torch.Tensor):
        if value == 0:
            return None
        return torch.full((1, *a.shape[1:]), float(value), dtype=a.dtype, device=a.device)
    value = value.to(dtype=a.dtype, device=a.device)
    if value.ndim < a.ndim:
        value = value.expand(a.shape[1:]).unsqueeze(0)
    return value.contiguous()
