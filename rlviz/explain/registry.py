"""Every per-pixel explanation method behind one call, with what each takes and returns.

    >>> maps = attribute(agent, obs, method="integrated-gradients", target="action", steps=64)
    >>> maps.shape                      # (N, 4, 84, 84): one map per stacked frame
    >>> attribute(agent, obs, method="gradcam").shape        # (N, 84, 84): one map per observation
    >>> print(methods_table())          # what `rlviz methods` prints

``output`` of a method: ``"frames"`` gives float32 (N, 4, 84, 84), one map per stacked frame
(gradient family, DeepLIFT, LRP); ``"map"`` gives (N, 84, 84): methods that perturb or read
all stacked frames at once (perturbation saliency, SARFA, meaningful perturbation) or a conv
layer that has mixed them (Grad-CAM). ``rank_by``: how pixel flipping orders a map's regions:
``"value"`` for signed maps (most positive first: evidence *for* the output), ``"magnitude"``
for unsigned ones or those whose sign means nothing on its own (the plain gradient, SmoothGrad).

``targets`` lists what a method can explain: "action" (the greedy action's logit), "value",
"contrast" (the chosen logit minus the mean of the others; rlviz.explain.targets) and "index"
(a given action). Methods with no targets (perturbation saliency) explain all logits or the
value by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent
from rlviz.util.errors import RlvizError

ALL_TARGETS = ("action", "value", "contrast", "index")
Option = tuple[Any, str]  # (default, what it does)


@dataclass(frozen=True)
class MethodSpec:
    """One registered method: ``fn(agent, obs, target, **options) -> float32 array``."""

    name: str
    fn: Callable[..., np.ndarray]
    output: str  # "frames" (N, 4, 84, 84) or "map" (N, 84, 84)
    rank_by: str  # "value" or "magnitude"
    targets: tuple[str, ...]
    summary: str
    options: dict[str, Option] = field(default_factory=dict)
    free_options: bool = False  # accepts options beyond those listed (LRP composite parameters)

    @property
    def uses_target(self) -> bool:
        return bool(self.targets)


def _target_kind(target: Any) -> str:
    from rlviz.explain.targets import Contrast, check_target

    check_target(target)
    if isinstance(target, str):
        return target
    return "contrast" if isinstance(target, Contrast) else "index"


# ----------------------------------------------------------------------------- adapters


def _saliency(which: str):
    def fn(agent: Agent, obs: Any, target: Any, **options: Any) -> np.ndarray:
        from rlviz.explain.perturbation import perturbation_saliency

        return getattr(perturbation_saliency(agent, obs, **options), which)

    return fn


def _gradient(agent: Agent, obs: Any, target: Any, **options: Any) -> np.ndarray:
    from rlviz.explain.gradient import gradient

    return gradient(agent, obs, target, **options)


def _gradient_x_input(agent: Agent, obs: Any, target: Any, **options: Any) -> np.ndarray:
    from rlviz.explain.gradient import gradient_x_input

    return gradient_x_input(agent, obs, target, **options)


def _lrp(composite: str):
    def fn(agent: Agent, obs: Any, target: Any, **options: Any) -> np.ndarray:
        from rlviz.explain.lrp import lrp

        return lrp(agent, obs, target=target, composite=composite, **options)

    return fn


def _lazy(module: str, function: str):
    def fn(agent: Agent, obs: Any, target: Any, **options: Any) -> np.ndarray:
        import importlib

        return getattr(importlib.import_module(module), function)(agent, obs, target, **options)

    return fn


def _lrp_composites() -> dict[str, list[str]]:
    """LRP composites and their parameters, if the LRP module imports (it is optional)."""
    try:
        import inspect

        from rlviz.explain.lrp import COMPOSITES
    except ImportError:
        return {}
    return {name: list(inspect.signature(f).parameters) for name, f in COMPOSITES.items()}


SALIENCY_OPTIONS: dict[str, Option] = {
    "stride": (5, "grid stride of the perturbation centres, px"),
    "mask_sigma": (5.0, "sigma of the Gaussian perturbation mask, px"),
    "blur_sigma": (3.0, "sigma of the blur that replaces the masked pixels, px"),
    "frames": ("all", "'all' stacked frames perturbed alike, or only the 'newest'"),
    "batch_size": (None, "perturbed frames per forward batch (default 512 on CPU)"),
    "method": ("auto", "'plain', or 'incremental' first conv layer (auto: where possible)"),
}
REFERENCE = "reference x~: None (black), a number, or an array broadcastable to the batch, uint8 0..255 or float [0,1]"


def registry() -> dict[str, MethodSpec]:
    """All methods by name, in the order `rlviz methods` lists them."""
    specs = [
        MethodSpec("saliency-actor", _saliency("actor"), "map", "magnitude", (),
                   "perturbation saliency of the logits, 1/2 ||f - f'||^2 (Greydanus et al. 2018)", SALIENCY_OPTIONS),
        MethodSpec("saliency-critic", _saliency("critic"), "map", "magnitude", (),
                   "perturbation saliency of the value, 1/2 (V - V')^2 (Greydanus et al. 2018)", SALIENCY_OPTIONS),
        MethodSpec("sarfa", _lazy("rlviz.explain.sarfa", "sarfa"), "map", "magnitude", ("action", "contrast", "index"),
                   "specific and relevant perturbation saliency of the chosen action (Puri et al. 2020)", SALIENCY_OPTIONS),
        MethodSpec("gradient", _gradient, "frames", "magnitude", ALL_TARGETS,
                   "input gradient d output / d x (Simonyan et al. 2014)", {"batch_size": (256, "frames per pass")}),
        MethodSpec("gradient-x-input", _gradient_x_input, "frames", "value", ALL_TARGETS,
                   "gradient times input (Shrikumar et al. 2016; LRP-0 on a ReLU net)",
                   {"batch_size": (256, "frames per pass")}),
        MethodSpec("smoothgrad", _lazy("rlviz.explain.smoothgrad", "smoothgrad"), "frames", "magnitude", ALL_TARGETS,
                   "gradient averaged over noisy copies of the input (Smilkov et al. 2017)",
                   {"samples": (16, "noisy copies per frame"), "sigma": (0.15, "noise std in [0,1] input units"),
                    "seed": (0, "noise generator seed"), "batch_size": (128, "inputs per pass")}),
        MethodSpec("integrated-gradients", _lazy("rlviz.explain.integrated_gradients", "integrated_gradients"),
                   "frames", "value", ALL_TARGETS,
                   "gradient integrated from a reference to the frame (Sundararajan et al. 2017)",
                   {"baseline": (None, REFERENCE), "steps": (32, "Gauss-Legendre points on the path"),
                    "batch_size": (128, "inputs per pass")}),
        MethodSpec("deeplift", _lazy("rlviz.explain.deeplift", "deeplift"), "frames", "value", ALL_TARGETS,
                   "DeepLIFT, rescale rule: contributions to f(x) - f(x~) (Shrikumar et al. 2017)",
                   {"baseline": (None, REFERENCE), "batch_size": (128, "frames per pass")}),
        MethodSpec("gradcam", _lazy("rlviz.explain.gradcam", "gradcam"), "map", "value", ALL_TARGETS,
                   "Grad-CAM on the last conv layer, upsampled (Selvaraju et al. 2017)",
                   {"layer": (None, "module name of the conv layer (default: the last one used)"),
                    "upsample": (True, "bilinear to 84x84 (False: the layer's grid)"),
                    "batch_size": (256, "frames per pass")}),
        MethodSpec("meaningful-perturbation", _lazy("rlviz.explain.meaningful_perturbation", "meaningful_perturbation"),
                   "map", "value", ALL_TARGETS,
                   "optimised smooth blur mask that deletes the output (Fong & Vedaldi 2017)",
                   {"resolution": (14, "mask grid side"), "iterations": (100, "Adam steps"), "lr": (0.1, "Adam step size"),
                    "l1": (0.5, "weight of the deleted area"), "l2": (0.2, "weight of the mask's total variation"),
                    "beta": (3.0, "TV exponent"), "blur_sigma": (3.0, "blur sigma, px"), "batch_size": (32, "frames optimised together")}),
    ]
    for composite, params in _lrp_composites().items():
        specs.append(MethodSpec(
            f"lrp-{composite}", _lrp(composite), "frames", "value", ALL_TARGETS,
            f"layer-wise relevance propagation, composite {composite} (Bach et al. 2015; Montavon et al. 2019)",
            {p: (None, "composite parameter") for p in params} | {"batch_size": (128, "frames per pass")},
        ))
    return {s.name: s for s in specs}


def method_names() -> list[str]:
    """The registered method names, e.g. ['saliency-actor', ..., 'lrp-zero']."""
    return list(registry())


def get_spec(name: str) -> MethodSpec:
    """The method ``name``; an unknown name raises an error listing the known ones."""
    specs = registry()
    if name not in specs:
        hint = " (LRP could not be imported)" if name.startswith("lrp-") and not _lrp_composites() else ""
        raise RlvizError(f"unknown explanation method {name!r}{hint}; choose from: {', '.join(specs)}")
    return specs[name]


def attribute(agent: Agent, obs: Any, method: str = "gradient-x-input", target: Any = "action", **options: Any) -> np.ndarray:
    """Maps of ``method`` for uint8 obs (4,84,84) or (N,4,84,84) (or float in [0, 1]).

    Returns float32 (N, 4, 84, 84) for methods whose ``output`` is "frames" and (N, 84, 84)
    for "map" methods, always with the batch axis. ``target``: "action", "value", "contrast",
    an action index or one per observation (see :func:`registry` for what each method takes).
    ``options``: the method's own (listed by `rlviz methods`); an unknown one is refused.
    """
    spec = get_spec(method)
    kind = _target_kind(target)
    if spec.targets and kind not in spec.targets:
        raise RlvizError(f"method {method!r} cannot explain target {kind!r}; it takes: {', '.join(spec.targets)}")
    unknown = sorted(set(options) - set(spec.options))
    if unknown and not spec.free_options:
        raise RlvizError(f"method {method!r} has no option {', '.join(unknown)}; its options: {', '.join(spec.options) or 'none'}")
    batch = obs if (obs.ndim == 4 if isinstance(obs, torch.Tensor) else np.ndim(obs) == 4) else obs[None]
    maps = np.asarray(spec.fn(agent, batch, target, **options), dtype=np.float32)
    expected = 4 if spec.output == "frames" else 3
    if maps.ndim == expected - 1:
        maps = maps[None]
    return maps


def to_map(spec: MethodSpec, maps: np.ndarray) -> np.ndarray:
    """One (N, 84, 84) map per observation, ready to be ranked: per-frame maps are summed over
    the stack (their absolute values for ``rank_by="magnitude"``)."""
    if maps.ndim == 4:
        maps = np.abs(maps).sum(axis=1) if spec.rank_by == "magnitude" else maps.sum(axis=1)
    return maps


def methods_table() -> str:
    """A plain-text list of the methods: name, output, targets, summary and options."""
    lines = []
    for spec in registry().values():
        shape = "(N, 4, 84, 84)" if spec.output == "frames" else "(N, 84, 84)"
        targets = ", ".join(spec.targets) if spec.targets else "fixed (all logits / the value)"
        lines.append(f"{spec.name}  ->  {shape}, ranked by {spec.rank_by}; targets: {targets}")
        lines.append(f"    {spec.summary}")
        for opt, (default, helptext) in spec.options.items():
            lines.append(f"    {opt}={default!r}: {helptext}")
    return "\n".join(lines)
