"""Recognise a network from the shapes of its tensors, whatever its key names.

People name their layers ``network.0``, ``conv.0``/``head.0``, ``__features.0``,
``value_stream`` ...; the shapes say what the network is. A state dict is cut into layers
(a module prefix with ``weight`` and maybe ``bias``), then matched against the architectures
rlviz knows:

* the Nature-CNN conv stack: 4-D weights (32, C, 8, 8), (64, 32, 4, 4), (64, 64, 3, 3);
* dense layers (512, 3136) after it: one (shared) or two (dueling streams);
* heads on 512 units: (A, 512) alone -> Q-network; (A, 512) + (1, 512) -> actor-critic or
  dueling Q-network; (A * atoms, 512) alone -> C51 or QR-DQN (a 1-D tensor of ``atoms``
  values in the file is C51's support).

Which layer plays which part never depends on its name. Where the shapes fit more than one
architecture (a shared dense layer with heads A and 1 is an actor-critic or a dueling
Q-network) the words in the heads' key names break the tie when exactly one candidate's
words appear (``actor``/``pi``/``policy`` vs ``adv``/``advantage``); otherwise the caller
must choose with ``arch=``, and the refusal lists the candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rlviz.agents.networks import (
    ImpalaActorCritic,
    NatureActorCritic,
    NatureDistributionalQ,
    NatureDuelingQ,
    NatureQNetwork,
)
from rlviz.util.errors import RlvizError

CONV_SHAPES = ((32, None, 8, 8), (64, 32, 4, 4), (64, 64, 3, 3))
CONV_OUT = 64 * 7 * 7
HIDDEN = 512
CANDIDATES = ("nature-actor-critic", "nature-q", "nature-dueling-q", "nature-c51", "nature-qr-dqn", "impala-actor-critic")
IMPALA_CONVS_PER_STAGE = 5  # the stage's conv, then two residual blocks of two convs


@dataclass
class Layer:
    """One module of the source network: its key prefix and parameters."""

    prefix: str
    weight: torch.Tensor
    bias: torch.Tensor | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.weight.shape)


@dataclass
class Recognised:
    """A network rlviz can build, with the source's weights loaded into it."""

    net: nn.Module
    kind: str  # "actor-critic" or "q"
    architecture: dict[str, Any]
    mapping: dict[str, str] = field(default_factory=dict)  # source prefix -> role


def split_layers(state: dict[str, torch.Tensor]) -> tuple[list[Layer], dict[str, torch.Tensor]]:
    """Group ``prefix.weight`` / ``prefix.bias`` into layers; other tensors are returned apart."""
    layers: dict[str, Layer] = {}
    extras: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        prefix, _, param = key.rpartition(".")
        if param == "weight":
            layers.setdefault(prefix, Layer(prefix, tensor)).weight = tensor
        elif param != "bias":
            extras[key] = tensor
    for key, tensor in state.items():
        prefix, _, param = key.rpartition(".")
        if param == "bias":
            if prefix not in layers:
                extras[key] = tensor
            else:
                layers[prefix].bias = tensor
    return list(layers.values()), extras


def _fits(shape: tuple[int, ...], pattern: tuple[int | None, ...]) -> bool:
    return len(shape) == len(pattern) and all(p is None or s == p for s, p in zip(shape, pattern))


def _describe(layers: list[Layer]) -> str:
    return ", ".join(f"{layer.prefix + '.' if layer.prefix else ''}weight {tuple(layer.shape)}" for layer in layers[:8]) + (
        f" (+{len(layers) - 8} more)" if len(layers) > 8 else ""
    )


def _copy(dst: nn.Linear | nn.Conv2d, src: Layer, source: str) -> None:
    if tuple(dst.weight.shape) != src.shape:
        raise RlvizError(f"{source}: {src.prefix} has shape {src.shape}, expected {tuple(dst.weight.shape)}")
    with torch.no_grad():
        dst.weight.copy_(src.weight.float())
        if src.bias is None:
            dst.bias.zero_()
        else:
            dst.bias.copy_(src.bias.float().reshape(dst.bias.shape))


def _paired(dense: list[Layer], head: Layer) -> Layer:
    """The dense layer feeding ``head``: the one whose key shares the longest prefix with it."""

    def common(a: str, b: str) -> int:
        n = 0
        for x, y in zip(a, b):
            if x != y:
                break
            n += 1
        return n

    return max(dense, key=lambda d: common(d.prefix, head.prefix))


# words in the heads' key names that settle a tie the shapes leave open (never override shapes)
HEAD_HINTS = {
    "nature-actor-critic": {"actor", "critic", "pi", "policy", "vf", "logits", "action_net", "value_net"},
    "nature-dueling-q": {"adv", "advantage", "advantages", "dueling", "advantage_stream", "adv_stream"},
}


def _name_hint(found: list[str], parts: dict[str, Any]) -> str | None:
    """The one candidate the head names point to, if exactly one does."""
    words: set[str] = set()
    for layer in parts.get("heads", []) + parts.get("fc", []):
        tokens = [t for t in re.split(r"[^A-Za-z_]+|\.", layer.prefix.lower()) if t]
        words |= set(tokens) | {w for t in tokens for w in t.split("_")}
    hinted = [name for name in found if HEAD_HINTS.get(name, set()) & words]
    return hinted[0] if len(hinted) == 1 else None


def _impala_parts(convs: list[Layer], dense: list[Layer]) -> dict[str, Any] | None:
    """The IMPALA CNN's parts: stages of 5 3x3 convs in module order (the state dict's key
    order; the four residual convs of a stage have equal shapes, so order alone tells them
    apart), then a dense layer on the flattened 84x84 grid and actor / critic heads."""
    n = len(convs)
    if n == 0 or n % IMPALA_CONVS_PER_STAGE or any(c.shape[2:] != (3, 3) for c in convs):
        return None
    channels, c_in, size = [], convs[0].shape[1], 84
    for k in range(0, n, IMPALA_CONVS_PER_STAGE):
        out = convs[k].shape[0]
        if convs[k].shape[1] != c_in or any(c.shape[:2] != (out, out) for c in convs[k + 1 : k + IMPALA_CONVS_PER_STAGE]):
            return None
        channels.append(out)
        c_in, size = out, (size + 1) // 2
    fc = [d for d in dense if d.shape[1] == c_in * size * size]
    if len(fc) != 1 or len(dense) != 3:
        return None
    hidden = fc[0].shape[0]
    heads = [d for d in dense if d is not fc[0] and d.shape[1] == hidden]
    if len(heads) != 2 or min(h.shape[0] for h in heads) != 1 or max(h.shape[0] for h in heads) < 2:
        return None
    return {
        "convs": convs, "fc": fc, "heads": heads, "channels": channels, "hidden": hidden,
        "value": next(h for h in heads if h.shape[0] == 1), "action": next(h for h in heads if h.shape[0] > 1),
    }


def candidates(state: dict[str, torch.Tensor], n_actions: tuple[int, ...]) -> tuple[list[str], dict[str, Any]]:
    """The architectures the tensors can form (names of CANDIDATES) and the parts found."""
    layers, extras = split_layers(state)
    convs = [layer for layer in layers if layer.weight.ndim == 4]
    dense = [layer for layer in layers if layer.weight.ndim == 2]
    others = [layer for layer in layers if layer.weight.ndim not in (2, 4)]
    parts: dict[str, Any] = {"layers": layers}
    impala = _impala_parts(convs, dense) if not others else None
    if impala is not None:
        parts.update(impala)
        return ["impala-actor-critic"], parts
    if len(convs) != 3 or others:
        return [], parts
    ordered = []
    for pattern in CONV_SHAPES:
        match = [c for c in convs if _fits(c.shape, pattern)]
        if len(match) != 1:
            return [], parts
        ordered.append(match[0])
    if ordered[0].shape[1] < 1:
        return [], parts
    parts["convs"] = ordered
    fc = [d for d in dense if d.shape == (HIDDEN, CONV_OUT)]
    heads = [d for d in dense if d.shape[1] == HIDDEN and d.shape != (HIDDEN, CONV_OUT)]
    if len(fc) + len(heads) != len(dense) or not fc:
        return [], parts
    parts["fc"], parts["heads"] = fc, heads
    found: list[str] = []
    if len(heads) == 2 and min(h.shape[0] for h in heads) == 1 and max(h.shape[0] for h in heads) > 1:
        parts["value"] = next(h for h in heads if h.shape[0] == 1)
        parts["action"] = next(h for h in heads if h.shape[0] > 1)
        if len(fc) == 1:
            found += ["nature-actor-critic", "nature-dueling-q"]
        elif len(fc) == 2:
            found += ["nature-dueling-q"]
    elif len(heads) == 1 and len(fc) == 1:
        out = heads[0].shape[0]
        parts["action"] = heads[0]
        if out in n_actions or not n_actions:
            found.append("nature-q")
        else:
            atoms = [out // a for a in n_actions if out % a == 0 and out // a > 1]
            if atoms:
                parts["atoms"], parts["n_actions"] = atoms[0], out // atoms[0]
                supports = [t for t in extras.values() if t.ndim == 1 and t.numel() == atoms[0] and t.is_floating_point()]
                parts["support"] = supports[0] if len(supports) == 1 else None
                found += ["nature-c51"] if parts["support"] is not None else ["nature-c51", "nature-qr-dqn"]
    return found, parts


def recognise(
    state: dict[str, torch.Tensor], source: str, *, n_actions: tuple[int, ...] = (), arch: str | None = None,
) -> Recognised:
    """Build the rlviz network the tensors of ``state`` form, with their weights loaded.

    ``n_actions``: the action counts the game allows (minimal set, full set), used to tell a
    Q head from a distributional one. ``arch`` picks among several fitting architectures."""
    if arch is not None and arch not in CANDIDATES:
        raise RlvizError(f"unknown architecture {arch!r}; choose one of {', '.join(CANDIDATES)}")
    found, parts = candidates(state, n_actions)
    if not found:
        raise RlvizError(
            f"{source}: its tensors do not form an architecture rlviz knows ({', '.join(CANDIDATES)}); "
            f"layers found: {_describe(parts['layers'])}"
        )
    if arch is None and len(found) > 1:
        arch = _name_hint(found, parts)
    if arch is None:
        if len(found) > 1:
            raise RlvizError(f"{source} fits several architectures: {', '.join(found)}; pick one with --arch (arch=)")
        arch = found[0]
    elif arch not in found:
        raise RlvizError(f"{source} does not have the shapes of {arch}; it fits {', '.join(found)}")
    convs, action = parts["convs"], parts["action"]
    in_channels = int(convs[0].shape[1])
    n = int(action.shape[0])
    mapping = {c.prefix: f"conv{i}" for i, c in enumerate(convs)}
    if arch == "impala-actor-critic":
        return _impala(parts, source, n, in_channels, mapping)
    if arch == "nature-actor-critic":
        net: nn.Module = NatureActorCritic(n, in_channels)
        heads = {"actor": (net.actor, action), "critic": (net.critic, parts["value"])}
        kind, options = "actor-critic", {}
    elif arch == "nature-q":
        net = NatureQNetwork(n, in_channels)
        heads, kind, options = {"q": (net.q, action)}, "q", {}
    elif arch == "nature-dueling-q":
        separate = len(parts["fc"]) == 2
        options = {"separate_streams": separate}
        net = NatureDuelingQ(n, in_channels, **options)
        heads, kind = {"advantage": (net.advantage, action), "value": (net.value, parts["value"])}, "q"
    else:
        distribution = "c51" if arch == "nature-c51" else "qr"
        n = int(parts["n_actions"])
        options = {"n_atoms": int(parts["atoms"]), "distribution": distribution}
        net = NatureDistributionalQ(n, in_channels, **options)
        if distribution == "c51" and parts.get("support") is not None:
            support = parts["support"].float()
            options.update(v_min=float(support[0]), v_max=float(support[-1]))
            net.support.copy_(support)
        elif distribution == "c51":
            options.update(v_min=-10.0, v_max=10.0)  # C51's published support when the file stores none
        heads, kind = {"head": (net.head, action)}, "q"
    for i, conv in zip((0, 2, 4), convs):
        _copy(net.features[i], conv, source)
    if arch == "nature-dueling-q" and len(parts["fc"]) == 2:
        adv_fc = _paired(parts["fc"], action)
        value_fc = next(f for f in parts["fc"] if f is not adv_fc)
        if adv_fc is value_fc or _paired(parts["fc"], parts["value"]) is not value_fc:
            raise RlvizError(f"{source}: cannot tell which dense layer feeds which dueling head from the key names")
        _copy(net.features[7], adv_fc, source)
        _copy(net.value_dense[0], value_fc, source)
        mapping.update({adv_fc.prefix: "advantage dense", value_fc.prefix: "value dense"})
    else:
        _copy(net.features[7], parts["fc"][0], source)
        mapping[parts["fc"][0].prefix] = "dense"
    for role, (module, layer) in heads.items():
        _copy(module, layer, source)
        mapping[layer.prefix] = role
    architecture = {"name": "nature-distributional-q" if arch in ("nature-c51", "nature-qr-dqn") else arch,
                    "n_actions": n, "in_channels": in_channels}
    if options:
        architecture["options"] = options
    return Recognised(net.eval(), kind, architecture, mapping)


def _impala(parts: dict[str, Any], source: str, n: int, in_channels: int, mapping: dict[str, str]) -> Recognised:
    options = {"channels": list(parts["channels"]), "hidden": int(parts["hidden"])}
    net = ImpalaActorCritic(n, in_channels, **options)
    convs = parts["convs"]
    for k, stage in enumerate(net.features[: len(options["channels"])]):
        targets = (stage.conv, stage.res0.conv0, stage.res0.conv1, stage.res1.conv0, stage.res1.conv1)
        for target, layer in zip(targets, convs[k * IMPALA_CONVS_PER_STAGE : (k + 1) * IMPALA_CONVS_PER_STAGE]):
            _copy(target, layer, source)
    dense = next(m for m in net.features if isinstance(m, nn.Linear))
    _copy(dense, parts["fc"][0], source)
    _copy(net.actor, parts["action"], source)
    _copy(net.critic, parts["value"], source)
    mapping.update({parts["fc"][0].prefix: "dense", parts["action"].prefix: "actor", parts["value"].prefix: "critic"})
    architecture = {"name": "impala-actor-critic", "n_actions": n, "in_channels": in_channels, "options": options}
    return Recognised(net.eval(), "actor-critic", architecture, mapping)
