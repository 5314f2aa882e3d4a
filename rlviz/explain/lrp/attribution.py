"""Run LRP on a policy network: one forward and one modified backward pass per batch.

How it works. For the duration of one call, forward hooks sit on the network's Linear and
Conv2d layers (and average pools and BatchNorms). Each hook lets the layer compute its output
z as usual, asks the composite for the layer's rule, lets the rule precompute its
denominators from the layer's input a, and hands z on through a small autograd Function
whose backward applies the rule instead of the layer's gradient. Between the hooked layers
ordinary autograd runs: ReLU, Flatten and max-pool then pass relevance through unchanged
(with R = activation * gradient). One ``torch.autograd.grad`` call from the chosen output
gives the relevance of the input as x * gradient, plus what rules such as z^B deposit directly.

Nothing is written to the model: no parameter, buffer or ``.grad`` changes, BatchNorm is
folded on the fly (canonizers.py), and every hook is removed before the call returns, also
when it raises. Calls are serialised by a lock, so sequential use from several threads is
safe; a plain forward of the same network on another thread during an LRP call is not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.lrp.canonizers import (
    NORMS,
    apply_batchnorm,
    batchnorm_pairs,
    fold_batchnorm,
)
from rlviz.explain.lrp.composites import Composite, make_composite
from rlviz.explain.lrp.layers import Conv, Dense, Pool
from rlviz.explain.lrp.rules import Rule, divide
from rlviz.explain.targets import Contrast, slice_target, start_weights
from rlviz.util.errors import RlvizError

LAYERS = (nn.Linear, nn.Conv2d)
POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
# Modules that pass relevance through as they pass gradients: piecewise-linear through 0
# (ReLU, LeakyReLU: a * da/dz = z), reshapes, identity, and max-pool (winner takes all).
PASS_THROUGH = (
    nn.ReLU, nn.LeakyReLU, nn.Flatten, nn.Unflatten, nn.Identity, nn.Sequential,
    nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, *DROPOUTS,
)
SUPPORTED = "Linear, Conv2d, BatchNorm after a Linear/Conv2d, ReLU, LeakyReLU, Flatten, max/average pooling, Dropout"

_LOCK = threading.RLock()

Target = str | int | Sequence[int] | np.ndarray | torch.Tensor | Contrast


class _Pass:
    """The state of one LRP pass: layers seen so far and relevance deposited at the input."""

    def __init__(self, composite: Composite, root: torch.Tensor, record: list | None) -> None:
        self.composite, self.root, self.record = composite, root, record
        self.deposits: list[torch.Tensor] = []
        self.ran: set[int] = set()
        self.n_layers = 0
        self.norm_inputs: dict[int, torch.Tensor] = {}
        self.nodes: list[_Node] = []

    def release(self) -> None:
        """Drop the tensors the nodes hold. Each node's output carries a grad_fn whose context
        points back at the node, a cycle through C++ autograd objects that Python's garbage
        collector cannot free: without this every call would leak its activations."""
        for node in self.nodes:
            node.a = node.z = node.z_seen = node.state = node.layer = None
        self.nodes.clear()
        self.norm_inputs.clear()

    def once(self, module: nn.Module, name: str) -> None:
        if id(module) in self.ran:
            raise RlvizError(
                f"module {name!r} ({type(module).__name__}) runs twice in one forward pass; LRP needs "
                "every layer to run once: give each use its own module"
            )
        self.ran.add(id(module))


class _Node:
    """One hooked layer in one pass: its rule, the rule's state, and where its relevance goes."""

    def __init__(
        self, name: str, layer: Any, rule: Rule, state: Any, a: torch.Tensor, z: torch.Tensor, pass_: _Pass, to_root: bool
    ) -> None:
        self.name, self.layer, self.rule, self.state = name, layer, rule, state
        self.a, self.z, self.pass_, self.to_root = a, z, pass_, to_root
        self.z_seen = z.clone() if pass_.record is not None else None  # z itself may be ReLU'd in place
        pass_.nodes.append(self)

    def backward(self, g: torch.Tensor) -> torch.Tensor | None:
        out = self.rule.backward(self.layer, self.state, g)
        relevance_in = out if self.rule.direct else self.a * out
        if self.pass_.record is not None:
            per_sample = lambda t: t.reshape(t.shape[0], -1).sum(1)  # noqa: E731
            self.pass_.record.append((self.name, per_sample(self.z_seen * g), per_sample(relevance_in)))
        if not self.rule.direct:
            return out
        if self.to_root:  # relevance of the observation itself: collected, not a gradient
            self.pass_.deposits.append(out.reshape(self.pass_.root.shape))
            return None
        return divide(out, self.a)  # as a gradient (relevance on zero activations is lost)


class _Relevance(torch.autograd.Function):
    """Identity in the forward pass; the layer's LRP rule in the backward pass."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, node: _Node) -> torch.Tensor:
        ctx.node = node
        return node.z  # handed over in a non-tensor argument, so autograd does not treat it as an input

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        return ctx.node.backward(g), None


def _is_the_observation(a: torch.Tensor, root: torch.Tensor) -> bool:
    """Whether a layer's input is the observation itself or the same memory reshaped (Flatten,
    view): then relevance that a rule gives the input directly (z^B, flat) is deposited on the
    observation. Any other input (x / 255, a permutation) gets it back as a gradient, through
    which an input of exactly 0 keeps none (x * gradient)."""
    if a is root:
        return True
    return (
        a._base is root and a.numel() == root.numel() and a.data_ptr() == root.data_ptr()
        and a.is_contiguous() and root.is_contiguous()
    )


def _layer_hook(pass_: _Pass, name: str, norm: nn.Module | None) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        pass_.once(module, name)
        a = inputs[0]
        with torch.no_grad():
            z = output.detach()
            if isinstance(module, POOLS):
                layer: Any = Pool(module, a.shape)
            else:
                weight = module.weight.detach()
                bias = None if module.bias is None else module.bias.detach()
                if norm is not None:
                    weight, bias = fold_batchnorm(weight, bias, norm)
                    z = apply_batchnorm(z, norm)
                if isinstance(module, nn.Linear):
                    layer = Dense(weight, bias, a.shape)
                else:
                    layer = Conv(module, weight, bias, a.shape)
                pass_.n_layers += 1
            reads_root = _is_the_observation(a, pass_.root)
            rule = pass_.composite.rule_for(layer.kind, first=layer.kind != "pool" and (reads_root or pass_.n_layers == 1))
            state = rule.prepare(layer, a.detach(), z)
        out = _Relevance.apply(a, _Node(name, layer, rule, state, a.detach(), z, pass_, reads_root))
        if norm is not None:
            pass_.norm_inputs[id(norm)] = out
        return out

    return hook


def _norm_hook(pass_: _Pass, name: str) -> Callable:
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        pass_.once(module, name)
        if pass_.norm_inputs.pop(id(module), None) is not inputs[0]:
            raise RlvizError(
                f"BatchNorm {name!r} does not take the output of the layer before it; LRP cannot fold it"
            )
        return inputs[0]  # the layer before already applied this BatchNorm

    return hook


def _check_hook(name: str, paired: bool) -> Callable:
    """Runs before a module: refuses what LRP cannot explain, before it can change anything."""

    def hook(module: nn.Module, inputs: tuple) -> None:
        kind = type(module).__name__
        if isinstance(module, NORMS):
            if not paired:
                raise RlvizError(
                    f"BatchNorm {name!r} does not directly follow a Linear/Conv2d in an nn.Sequential; "
                    "LRP can only fold it there"
                )
            if module.training:
                raise RlvizError("LRP needs the network in eval mode (BatchNorm is in training mode); call net.eval() first")
        elif isinstance(module, DROPOUTS):
            if module.training:
                raise RlvizError(f"LRP needs the network in eval mode ({kind} {name!r} is training); call net.eval() first")
        else:
            raise RlvizError(
                f"LRP does not support layer {name!r} ({kind}); supported: {SUPPORTED}. "
                "Use perturbation saliency for this network"
            )

    return hook


def _install(net: nn.Module, pass_: _Pass, handles: list) -> None:
    pairs = batchnorm_pairs(net)
    paired_norms = {id(norm): layer for layer, norm in pairs.items()}
    for name, module in net.named_modules():
        name = name or type(module).__name__
        if isinstance(module, LAYERS + POOLS):
            handles.append(module.register_forward_hook(_layer_hook(pass_, name, pairs.get(module))))
        elif isinstance(module, NORMS):
            handles.append(module.register_forward_pre_hook(_check_hook(name, id(module) in paired_norms)))
            handles.append(module.register_forward_hook(_norm_hook(pass_, name)))
        elif isinstance(module, DROPOUTS):
            handles.append(module.register_forward_pre_hook(_check_hook(name, False)))
        elif isinstance(module, PASS_THROUGH):
            continue
        elif not any(True for _ in module.children()) or any(True for _ in module.parameters(recurse=False)):
            handles.append(module.register_forward_pre_hook(_check_hook(name, False)))


def relevance(
    net: nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    start: Callable[[torch.Tensor], torch.Tensor] | torch.Tensor,
    composite: Composite,
    *,
    record: list | None = None,
) -> torch.Tensor:
    """LRP relevance of input x (same shape and dtype) for the output y = forward(x).

    ``net`` is the module whose layers get rules (``forward`` runs it). The starting relevance
    is y * start, where ``start`` is a tensor shaped like y or a function of y (e.g. the one-hot
    of its argmax): start = one-hot gives R = f_a * onehot(a). If ``record`` is a list, one entry
    (layer name, sum of output relevance, sum of input relevance), each per sample, is appended
    per layer in backward order: for checking conservation.
    """
    with _LOCK, torch.inference_mode(False), torch.enable_grad():
        x = (x.clone() if x.is_inference() else x.detach()).requires_grad_(True)
        pass_ = _Pass(composite, x, record)
        handles: list = []
        try:
            _install(net, pass_, handles)
            y = forward(x)
            grad_out = start(y) if callable(start) else start
            if not y.requires_grad:  # the output ignores the input: no relevance anywhere
                return torch.zeros_like(x).detach()
            (grad,) = torch.autograd.grad(y, x, grad_out.to(y.dtype), allow_unused=True)
        finally:
            for handle in handles:
                handle.remove()
            pass_.release()
    parts = ([] if grad is None else [x.detach() * grad]) + pass_.deposits
    if not parts:
        return torch.zeros_like(x).detach()
    result = parts[0]
    for part in parts[1:]:
        result = result + part
    return result


def _policy(agent: Agent | nn.Module) -> tuple[nn.Module, Callable, torch.device]:
    """(the module to hook, x -> (logits [N, A], value [N]), device) for an Agent or a plain net."""
    if isinstance(agent, Agent):
        return agent.net, agent.forward, agent.device
    if not isinstance(agent, nn.Module):
        raise RlvizError(f"LRP explains an rlviz Agent or a torch nn.Module, got {type(agent).__name__}")
    param = next(agent.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = agent(x)
        if isinstance(out, (tuple, list)):
            return out[0], out[1].reshape(out[1].shape[0])
        return out, out.max(dim=-1).values  # a Q-network: its value is max_a Q

    return agent, forward, device


def _targets(target: Target, n: int) -> Any:
    if isinstance(target, str):
        if target not in ("action", "value", "contrast"):
            raise RlvizError(f"LRP target must be 'action', 'value', 'contrast' or an action index, got {target!r}")
        return target
    if isinstance(target, Contrast):
        return target
    actions = torch.as_tensor(np.asarray(target)).long().reshape(-1)
    if actions.numel() == 1:
        actions = actions.expand(n)
    if actions.numel() != n:
        raise RlvizError(f"got {actions.numel()} target actions for {n} observations; give one or one per observation")
    return actions


def lrp(
    agent: Agent | nn.Module,
    obs: Any,
    *,
    target: Target = "action",
    composite: str | Composite = "epsilon-gamma-box",
    batch_size: int = 128,
    **overrides: Any,
) -> np.ndarray:
    """Layer-wise relevance propagation maps for a batch of observations.

    obs: uint8 observations as the env gives them, (4, 84, 84) or (N, 4, 84, 84), or floats
    in [0, 1]. Returns float32 relevance of shape (N, 4, 84, 84) (N = 1 for a single
    observation): positive where a pixel speaks for the explained output.

    target: "action" explains the logit (Q-value) of the greedy action, starting from
    R = f_a * onehot(a); "value" explains V(s) (max_a Q for a Q-network); an int (or one int
    per observation) explains that action's logit. composite: a name from
    ``composites.COMPOSITES`` (default epsilon-gamma-box) or a Composite; ``overrides`` set
    its parameters, e.g. ``gamma=0.5, epsilon=1e-9, low=0.0, high=1.0``; the composite
    "epsilon-gamma-reference" explains relative to ``reference=`` (e.g. the game's background).

    agent: an rlviz Agent, or a plain nn.Module taking float [N, C, H, W] in [0, 1] and
    returning (logits, value) or one tensor of Q-values. Each batch of ``batch_size`` frames
    costs one forward and one backward pass.

    target "contrast" (or ``Contrast(actions)``) starts from R = f * (onehot(a) - (1 -
    onehot(a)) / (A - 1)): the chosen logit against the mean of the others (contrastive LRP;
    rlviz.explain.targets says why the mean).

    Example:
        >>> maps = lrp(agent, obs_stack, target="value", composite="epsilon-plus-flat")
    """
    rules = make_composite(composite, **overrides)
    if batch_size < 1:
        raise RlvizError(f"batch_size must be at least 1, got {batch_size}")
    net, forward, device = _policy(agent)
    param = next(net.parameters(), None)
    x_all = to_float_obs(obs, device, unit_range=isinstance(agent, Agent))
    if param is not None and param.is_floating_point():
        x_all = x_all.to(param.dtype)
    if x_all.shape[0] == 0:  # an empty batch explains nothing
        return np.zeros(tuple(x_all.shape), np.float32)
    targets = _targets(target, x_all.shape[0])
    maps = []
    for begin in range(0, x_all.shape[0], batch_size):
        x = x_all[begin : begin + batch_size]
        if isinstance(targets, str | Contrast):
            chosen = slice_target(targets, begin, begin + batch_size)
        else:
            chosen = targets[begin : begin + batch_size].to(device)

        def explained(inp: torch.Tensor, chosen: Any = chosen) -> torch.Tensor:
            logits, value = forward(inp)
            return value if isinstance(chosen, str) and chosen == "value" else logits

        def start(y: torch.Tensor, chosen: Any = chosen) -> torch.Tensor:
            if isinstance(chosen, str) and chosen == "value":
                return torch.ones_like(y)
            if y.ndim != 2:
                raise RlvizError(f"LRP expects logits of shape (N, actions), got {tuple(y.shape)}")
            # start_weights refuses an action outside the network's range
            return start_weights(y.detach(), chosen.cpu().numpy() if isinstance(chosen, torch.Tensor) else chosen)

        # imported here: rlviz.explain.heads uses lrp.rules, so a top-level import would make
        # "import rlviz.explain.heads" before the lrp package fail half-way (an import cycle)
        from rlviz.explain.heads import distributional_lrp

        heads = distributional_lrp(net, None if isinstance(chosen, str) else chosen)  # C51 / QR-DQN (issue #24)
        if heads is not None:  # start at the atoms with relevance that sums to Q_a (rlviz.explain.heads)
            explained, start = heads  # type: ignore[assignment]
        maps.append(relevance(net, explained, x, start, rules).detach().float().cpu())
    return (maps[0] if len(maps) == 1 else torch.cat(maps)).numpy()
