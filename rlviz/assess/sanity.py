"""Sanity checks for explanation maps: do they depend on the model, and only on what it computes?

* Cascading randomisation (Adebayo et al. 2018): re-initialise the network's layers from the
  output heads down, one more layer per step, on a deep copy, and recompute every method's
  maps. A method whose maps stay the same while the network turns into noise explains the
  input, not the model. Similarity is the Spearman rank correlation between the original
  and the randomised map of each frame; a method is flagged when |rho| stays above
  ``threshold`` (0.5) after all layers are random. "random" ignores the model, so it is
  always flagged: a built-in positive control for the flag.
* Input invariance (Kindermans et al. 2017): shift the input by a constant c and compensate in
  the first layer's bias, b' = b - c * sum(W) per output channel. The two networks compute
  the same function of the original frame (exactly, for a layer without padding), so a
  method that explains the function should give the same map for both.

Both work on copies: the user's agent is never modified.

Example:
    >>> report = cascading_randomization(agent, obs, methods=["saliency-actor", "gradient-x-input"])
    >>> print(report.table())
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.assess.faithfulness import (
    _batch,
    _num,
    available_methods,
    compute_maps,
    get_method,
)
from rlviz.util.errors import RlvizError

DEFAULT_THRESHOLD = 0.5
DEFAULT_SHIFT = -0.5


# --------------------------------------------------------------------------- Spearman


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of a 1-D array, ties given their average rank (as scipy's "average")."""
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    starts = np.r_[True, sorted_vals[1:] != sorted_vals[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    counts = np.diff(np.r_[first, values.size])
    avg = first + (counts - 1) / 2.0
    ranks = np.empty(values.size, np.float64)
    ranks[order] = avg[group]
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (flattened), with average ranks for ties.

    A constant map has no order: two constant maps count as identical (1), one constant map
    against a varying one as unrelated (0). Never NaN.
    """
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    na, nb = np.sqrt((ra**2).sum()), np.sqrt((rb**2).sum())
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float((ra * rb).sum() / (na * nb))


# --------------------------------------------------------------------------- layers


def _parameterised_calls(net: nn.Module, x: torch.Tensor) -> tuple[list[str], set[str]]:
    """Leaf modules with parameters in forward call order, and those whose output is a net output."""
    leaves = {name: m for name, m in net.named_modules() if not list(m.children()) and list(m.parameters(recurse=False))}
    calls: list[str] = []
    kept: dict[str, Any] = {}  # holding outputs keeps their memory from being reused

    def hook(name: str):
        def fn(module, inputs, output):
            if name not in calls:
                calls.append(name)
            kept[name] = output

        return fn

    handles = [m.register_forward_hook(hook(name)) for name, m in leaves.items()]
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        for h in handles:
            h.remove()
    outs = out if isinstance(out, (tuple, list)) else (out,)
    out_ptrs = {o.untyped_storage().data_ptr() for o in outs if isinstance(o, torch.Tensor)}
    heads = {n for n, o in kept.items() if isinstance(o, torch.Tensor) and o.untyped_storage().data_ptr() in out_ptrs}
    return calls, heads


def randomization_steps(agent: Agent) -> list[list[str]]:
    """Groups of module names to randomise, top first: the output heads together, then every
    other layer with parameters in reverse forward order (e.g. [actor, critic], fc, conv3, ...)."""
    x = torch.zeros((1, *agent.env_spec.obs_shape), device=agent.device)
    calls, heads = _parameterised_calls(agent.net, x)
    if not calls:
        raise RlvizError("the network has no layers with parameters to randomise")
    if not heads:
        heads = {calls[-1]}
    top = [n for n in calls if n in heads]
    return [top] + [[n] for n in reversed(calls) if n not in heads]


def _reinitialise(module: nn.Module, seed: int) -> None:
    """Fresh random parameters, drawn as at construction, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
            return
        with torch.no_grad():
            for p in module.parameters(recurse=False):
                std = float(p.std()) if p.numel() > 1 else 0.0
                p.normal_(0.0, std if std > 0 else 0.01)


def randomized_copy(agent: Agent, names: Iterable[str], *, seed: int = 0) -> Agent:
    """A deep copy of ``agent`` with the named modules re-initialised (the original is untouched)."""
    clone = copy.deepcopy(agent)
    modules = dict(clone.net.named_modules())
    for k, name in enumerate(names):
        if name not in modules:
            raise RlvizError(f"the network has no module {name!r}; modules: {', '.join(n for n in modules if n)}")
        _reinitialise(modules[name], seed * 1000 + k)
    return clone


def _fixed_target(agent: Agent, x: torch.Tensor, target: Any) -> Any:
    """'action' becomes the original greedy actions, so a randomised copy explains the same action."""
    if isinstance(target, str) and target == "action":
        logits, _ = agent(x)
        return logits.argmax(-1).cpu().numpy()
    return target


def _methods(methods: Iterable[str] | None) -> list[str]:
    names = list(methods) if methods is not None else available_methods()
    for name in names:
        get_method(name)
    if not names:
        raise RlvizError("no methods to check; name at least one, e.g. methods=['saliency-actor']")
    return names


# --------------------------------------------------------------------------- cascading randomisation


@dataclass
class SanityReport:
    """Spearman rho between original and randomised maps, per method, frame and step."""

    steps: list[str]  # labels; steps[0] == "none"
    rho: dict[str, np.ndarray]  # method -> (n_frames, n_steps) signed maps as ordered
    rho_abs: dict[str, np.ndarray]  # same on |map|
    examples: dict[str, np.ndarray]  # method -> (n_steps, 84, 84): the first frame's map per step
    threshold: float = DEFAULT_THRESHOLD
    target: str = "action"

    @property
    def methods(self) -> list[str]:
        return list(self.rho)

    def final_rho(self) -> dict[str, float]:
        """Mean rho over frames once every layer is random."""
        return {m: float(r[:, -1].mean()) for m, r in self.rho.items()}

    def flagged(self) -> list[str]:
        """Methods whose maps barely change: |mean rho| > threshold with all layers random."""
        return [m for m, r in self.final_rho().items() if abs(r) > self.threshold]

    def table(self) -> str:
        """A Markdown table: mean rho per method (rows) after each randomisation step (columns)."""
        head = "| method | " + " | ".join(self.steps[1:]) + " | flagged |"
        lines = [f"Spearman rho with the original map (target {self.target}; flag: |rho| > {self.threshold:g} "
                 "after all layers are random)", "", head, "|---" * (len(self.steps) + 1) + "|"]
        flagged = set(self.flagged())
        for m, r in self.rho.items():
            cells = " | ".join(f"{v:.2f}" for v in r[:, 1:].mean(axis=0))
            lines.append(f"| {m} | {cells} | {'yes' if m in flagged else 'no'} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "target": self.target,
            "threshold": self.threshold,
            "frames": int(next(iter(self.rho.values())).shape[0]),
            "rho": {m: [_num(v) for v in r.mean(axis=0)] for m, r in self.rho.items()},
            "rho_abs": {m: [_num(v) for v in r.mean(axis=0)] for m, r in self.rho_abs.items()},
            "rho_per_frame": {m: [[_num(v) for v in row] for row in r] for m, r in self.rho.items()},
            "final_rho": {m: _num(v) for m, v in self.final_rho().items()},
            "flagged": self.flagged(),
        }


def cascading_randomization(
    agent: Agent,
    obs: Any,
    *,
    methods: Iterable[str] | None = None,
    target: str = "action",
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
) -> SanityReport:
    """Adebayo et al.'s cascading randomisation on a deep copy of the agent (never the agent).

    Step 0 is the trained network; step s re-initialises the s top-most layer groups
    (:func:`randomization_steps`). ``target`` "action" keeps explaining the original greedy
    action at every step; "value" explains the value.
    """
    names = _methods(methods)
    x = to_float_obs(_batch(obs), agent.device)
    fixed = _fixed_target(agent, x, target)
    groups = randomization_steps(agent)
    labels = ["none"] + ["+".join(g) for g in groups]
    original = {m: compute_maps(agent, x, m, fixed, seed=seed) for m in names}
    n = x.shape[0]
    rho = {m: np.ones((n, len(labels))) for m in names}
    rho_abs = {m: np.ones((n, len(labels))) for m in names}
    examples = {m: np.zeros((len(labels), *x.shape[-2:]), np.float32) for m in names}
    for m in names:
        examples[m][0] = original[m][0]
    for s in range(1, len(labels)):
        randomized = randomized_copy(agent, [name for g in groups[:s] for name in g], seed=seed)
        for m in names:
            maps = compute_maps(randomized, x, m, fixed, seed=seed)
            for i in range(n):
                rho[m][i, s] = spearman(original[m][i], maps[i])
                rho_abs[m][i, s] = spearman(np.abs(original[m][i]), np.abs(maps[i]))
            examples[m][s] = maps[0]
    return SanityReport(labels, rho, rho_abs, examples, threshold, str(target))


# --------------------------------------------------------------------------- input invariance


def input_layers(agent: Agent) -> list[str]:
    """Names of the layers with parameters that read the raw input (one per trunk: an
    actor-critic with separate trunks has two), in forward call order."""
    x = torch.zeros((1, *agent.env_spec.obs_shape), device=agent.device)
    readers: list[str] = []

    def hook(name: str):
        def fn(module, inputs):
            if inputs and inputs[0] is x and name not in readers:
                readers.append(name)

        return fn

    handles = [m.register_forward_pre_hook(hook(name)) for name, m in agent.net.named_modules()
               if not list(m.children()) and list(m.parameters(recurse=False))]
    try:
        with torch.no_grad():
            agent.net(x)
    finally:
        for h in handles:
            h.remove()
    if not readers:
        raise RlvizError("no layer with parameters reads the raw input; the network transforms it first, "
                         "so a bias cannot compensate an input shift")
    return readers


def _compensate(net: nn.Module, name: str, shift: float) -> None:
    """In place: b' = b - shift * sum(W) for the layer ``name`` of ``net`` (Conv2d without padding or Linear)."""
    layer = dict(net.named_modules())[name]
    if isinstance(layer, nn.Conv2d):
        padding = layer.padding if isinstance(layer.padding, str) else tuple(layer.padding)
        if padding not in ("valid", (0, 0)):
            raise RlvizError(f"the first layer {name!r} pads its input; the bias cannot compensate a shift there")
        dims: tuple[int, ...] = (1, 2, 3)
    elif isinstance(layer, nn.Linear):
        dims = (1,)
    else:
        raise RlvizError(f"the first layer {name!r} is a {type(layer).__name__}; input invariance needs Conv2d or Linear")
    if layer.bias is None:
        raise RlvizError(f"the first layer {name!r} has no bias to compensate the shift with")
    with torch.no_grad():
        layer.bias -= shift * layer.weight.sum(dim=dims)


def shifted_copy(agent: Agent, shift: float) -> Agent:
    """A copy whose first layer(s) expect inputs x + shift: b' = b - shift * sum(W) per output unit.

    Exact for a Conv2d without padding (every output sees only real pixels) or a Linear layer;
    in float32 the new bias is rounded, which moves outputs by about 1e-7 relative.
    """
    clone = copy.deepcopy(agent)
    for name in input_layers(agent):
        _compensate(clone.net, name, shift)
    return clone


def check_shift(agent: Agent, x: torch.Tensor, shift: float, tol: float = 1e-5) -> float:
    """Max |output difference| between net(x) and the compensated net at x + shift, in float64.

    This checks the construction itself (not float32 rounding): it fails when something runs
    before the first layer (a normalisation, padding) so that the bias cannot compensate.
    """
    a64 = copy.deepcopy(agent.net).double()
    s64 = copy.deepcopy(agent.net).double()
    for name in input_layers(agent):
        _compensate(s64, name, shift)
    with torch.no_grad():
        outs_a, outs_s = a64(x.double()), s64(x.double() + shift)
    outs_a = outs_a if isinstance(outs_a, (tuple, list)) else (outs_a,)
    outs_s = outs_s if isinstance(outs_s, (tuple, list)) else (outs_s,)
    diff = max(float((p - q).abs().max()) for p, q in zip(outs_a, outs_s))
    if diff > tol:
        raise RlvizError(
            f"shift compensation is not exact (outputs differ by {diff:.2e}); the network must start "
            "with a Conv2d/Linear layer without padding that sees the raw input"
        )
    return diff


@dataclass
class InvarianceReport:
    """How much each method's map moves when the input is shifted and the bias compensates."""

    shift: float
    output_max_diff: float  # float64 check of the compensation
    output_max_diff_float32: float
    relative_change: dict[str, np.ndarray]  # method -> (n_frames,) ||m' - m|| / ||m||
    rho: dict[str, np.ndarray]  # method -> (n_frames,) Spearman rho of m' with m
    tolerance: float = 0.01

    def invariant(self) -> dict[str, bool]:
        """True where the map changed by less than ``tolerance`` (relative L2) on average."""
        return {m: bool(v.mean() < self.tolerance) for m, v in self.relative_change.items()}

    def table(self) -> str:
        inv = self.invariant()
        lines = [f"input shift c = {self.shift:g}, bias compensated (outputs equal to {self.output_max_diff:.1e})", "",
                 "| method | relative change | Spearman rho | invariant |", "|---|---|---|---|"]
        for m in self.relative_change:
            lines.append(f"| {m} | {self.relative_change[m].mean():.3g} | {self.rho[m].mean():.3f} | "
                         f"{'yes' if inv[m] else 'no'} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift": self.shift,
            "output_max_diff": self.output_max_diff,
            "output_max_diff_float32": self.output_max_diff_float32,
            "tolerance": self.tolerance,
            "relative_change": {m: _num(v.mean()) for m, v in self.relative_change.items()},
            "rho": {m: _num(v.mean()) for m, v in self.rho.items()},
            "invariant": self.invariant(),
        }


def input_invariance(
    agent: Agent,
    obs: Any,
    *,
    methods: Iterable[str] | None = None,
    shift: float = DEFAULT_SHIFT,
    target: str = "action",
    seed: int = 0,
    tolerance: float = 0.01,
) -> InvarianceReport:
    """Kindermans et al.'s input-invariance test: maps for (net, x) versus (net', x + shift).

    The default shift -0.5 turns inputs in [0, 1] into [-0.5, 0.5], the mean-centred
    preprocessing many pipelines use, so both networks see plausible inputs.
    """
    names = _methods(methods)
    x = to_float_obs(_batch(obs), agent.device)
    shifted = shifted_copy(agent, shift)
    diff64 = check_shift(agent, x, shift)
    with torch.no_grad():
        la, va = agent.forward(x)
        ls, vs = shifted.forward(x + shift)
    diff32 = float(max((la - ls).abs().max(), (va - vs).abs().max()))
    fixed = _fixed_target(agent, x, target)
    rel, rho = {}, {}
    for m in names:
        a = compute_maps(agent, x, m, fixed, seed=seed).astype(np.float64)
        b = compute_maps(shifted, x + shift, m, fixed, seed=seed).astype(np.float64)
        na = np.sqrt((a**2).sum(axis=(1, 2)))
        nd = np.sqrt(((b - a) ** 2).sum(axis=(1, 2)))
        rel[m] = np.where(na > 0, nd / np.maximum(na, 1e-30), np.where(nd > 0, np.inf, 0.0))
        rho[m] = np.array([spearman(a[i], b[i]) for i in range(x.shape[0])])
    return InvarianceReport(float(shift), diff64, diff32, rel, rho, tolerance)
