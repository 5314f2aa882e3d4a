"""Faithfulness of explanation maps by pixel flipping (deletion and insertion curves, AOPC).

A map is faithful when the pixels it calls important really drive the output. Pixel flipping
tests that directly (Samek et al. 2017): cut the 84x84 observation into square regions, sort
them by the map's summed relevance, most relevant first, and

* deletion: replace the regions one after another (by a blurred copy of the frame, or by the
  empty playfield) and follow the explained output f; a faithful map makes f fall fast;
* insertion: start from the fully replaced frame and put the regions back in the same order;
  a faithful map makes f recover fast.

Choices (docs/faithfulness.md says why):

* regions of ``region`` x ``region`` pixels; the default 7 tiles 84x84 into 12 x 12 = 144
  regions (Samek et al. use 9x9, which does not divide 84); 145 points per curve;
* replacement (``replacement="blur"``, the default): the frame blurred by a Gaussian of sigma
  3, in all 4 stacked frames at once; this is the same "information removed" as perturbation
  saliency uses (DESIGN.md §4), it dims small objects (ball, paddles, bullets) while keeping
  brightness natural, and it is deterministic;
* ``replacement="background"``: the agent's background (the empty playfield,
  rlviz.explain.objects.background) in all 4 stacked frames: removing a region removes exactly
  what differs from the empty playfield there and leaves the static scene as it is, which is
  what removing an object means in the game (docs/objects.md argues the choice); insertion
  then starts from the empty playfield;
* explained output: the logit of the greedy action at the clean frame (``"logit"``), its
  softmax probability (``"prob"``), or the value V (``"value"``); the action is fixed for the
  whole curve;
* deletion AOPC = 1/(L+1) * mean over frames of sum_{k=0..L} (f(x_0) - f(x_k)), higher is
  better; insertion AOPC = 1/(L+1) * mean over frames of sum_{k=0..L} (f(x_k) - f(x_0)) where
  x_0 is now the fully replaced frame: the mean gain over it, higher is better;
* confidence intervals: mean +- 1.96 standard errors over frames; differences to the random
  order are paired per frame (same frames, same output), which is the comparison that matters.

Method registry: every method of ``rlviz.explain.registry`` plus "random";
``available_methods()`` lists names; ``compute_maps(agent, obs, name, target)`` returns
(N, 84, 84) float32 maps. Signed maps (gradient x input, IG, DeepLIFT, LRP) are summed over
the 4 stacked frames and ordered by value, most positive first: positive relevance is
evidence *for* the output, so deleting it first should lower the output fastest. Unsigned
maps (perturbation saliency, SARFA, |gradient|, |SmoothGrad|) are ordered by magnitude.
``METHOD@contrast`` evaluates a method's contrastive map (chosen logit against the others).
``BACKGROUND_METHODS`` (deeplift-background, integrated-gradients-background,
lrp-epsilon-gamma-reference) explain relative to the agent's background; they are reached by
name and left out of the default list, since their first use computes the background.
Each report also keeps every method's cost, frames explained per second on this machine.

Example:
    >>> report = pixel_flipping(agent, obs, methods=["saliency-actor", "gradient-x-input", "random"])
    >>> sorted(report.to_dict()["aopc"])      # deletion AOPC per method, higher = more faithful
    ['gradient-x-input', 'random', 'saliency-actor']
    >>> print(report.table())                  # Markdown: AOPC +- 95% CI, gain over random
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.objects.background import background as agent_background
from rlviz.explain.objects.background import reference_observation
from rlviz.explain.perturbation import BLUR_SIGMA, gaussian_blur
from rlviz.explain.registry import MethodSpec, attribute, get_spec, to_map
from rlviz.explain.registry import registry as explain_registry
from rlviz.explain.targets import Contrast
from rlviz.util.errors import RlvizError

OUTPUTS = ("logit", "prob", "value")
DEFAULT_REGION = 7
Z95 = 1.96

MapFn = Callable[[Agent, Any, Any], np.ndarray]
CONTRAST_SUFFIX = "@contrast"
# What a deleted region becomes (the report's ``replacement`` says it in words).
REPLACEMENTS = {
    "blur": f"gaussian blur sigma {BLUR_SIGMA:g}, all stacked frames",
    "background": "the agent's background (the empty playfield), all stacked frames",
}
# Maps relative to the agent's background: name -> (method of rlviz.explain.registry, the
# option that takes the reference). The LRP reference composite is reached through ``lrp``.
BACKGROUND_METHODS = {
    "deeplift-background": ("deeplift", "baseline"),
    "integrated-gradients-background": ("integrated-gradients", "baseline"),
    "lrp-epsilon-gamma-reference": ("lrp-epsilon-gamma-box", "reference"),
}


# --------------------------------------------------------------------------- method registry


@dataclass(frozen=True)
class Method:
    """An explanation method as the evaluation sees it: (agent, obs, target) -> (N, 84, 84) maps.

    ``signed``: the map has signs and is ordered by value (most positive first);
    ``uses_target``: the map depends on which output is explained ("action" / "value" / ints);
    ``targets``: the target kinds it can explain ("action", "value", "contrast", "index"; empty:
    it ignores the target).
    """

    name: str
    fn: MapFn
    signed: bool
    uses_target: bool
    summary: str
    targets: tuple[str, ...] = ()

    def accepts(self, target: Any) -> bool:
        """Whether this method can explain ``target`` (a method that ignores targets accepts all)."""
        if not self.targets:
            return True
        kind = target if isinstance(target, str) else ("contrast" if isinstance(target, Contrast) else "index")
        return kind in self.targets


def _batch(obs: Any) -> Any:
    """Make a single observation a batch of one; leave batches and float tensors as they are."""
    if isinstance(obs, torch.Tensor):
        return obs if obs.ndim == 4 else obs.unsqueeze(0)
    arr = np.asarray(obs)
    return arr if arr.ndim == 4 else arr[None]


def random_map(agent: Agent | None, obs: Any, target: Any = None, *, seed: int = 0) -> np.ndarray:
    """Uniform noise maps from a seeded generator: a random region order, the baseline to beat."""
    n = _batch(obs).shape[0]
    h, w = _batch(obs).shape[-2:]
    return np.random.default_rng(seed).random((n, h, w)).astype(np.float32)


def _contrastive(target: Any) -> Any:
    """The contrastive version of an action target: 'action' -> 'contrast', ints -> Contrast(ints)."""
    if isinstance(target, str):
        return "contrast" if target in ("action", "contrast") else target
    return target if isinstance(target, Contrast) else Contrast(np.asarray(target))


def _from_spec(spec: MethodSpec, contrast: bool = False) -> Method:
    """A method of rlviz.explain.registry as a map function; ``contrast``: its contrastive variant."""

    def fn(agent: Agent, obs: Any, target: Any) -> np.ndarray:
        chosen = _contrastive(target) if contrast else (target if spec.uses_target else "action")
        return to_map(spec, attribute(agent, _batch(obs), spec.name, chosen))

    name = f"{spec.name}{CONTRAST_SUFFIX}" if contrast else spec.name
    summary = f"{spec.summary}; chosen logit minus the mean of the others" if contrast else spec.summary
    targets = tuple(t for t in spec.targets if t in ("action", "index")) if contrast else spec.targets
    return Method(name, fn, spec.rank_by == "value", spec.uses_target, summary, targets)


def background_maps(agent: Agent, obs: Any, name: str, target: Any = "action", background: Any = None) -> np.ndarray:
    """(N, H, W) maps of ``name`` (one of BACKGROUND_METHODS) relative to ``background``, a
    uint8 (H, W) frame (default: the agent's cached background): its base method with that
    reference, summed over the stacked frames."""
    base, option = BACKGROUND_METHODS[name]
    bg = agent_background(agent) if background is None else np.asarray(background)
    if option == "reference":  # the LRP composite whose pixel layer decomposes relative to bg
        from rlviz.explain.lrp import lrp

        batch = _batch(obs)  # the reference as a whole stack: a first layer may read it flattened
        ref = reference_observation(bg, batch.shape[1])
        return lrp(agent, batch, target=target, composite="epsilon-gamma-reference", reference=ref).sum(axis=1)
    return to_map(get_spec(base), attribute(agent, _batch(obs), base, target, **{option: bg}))


def _against_background(name: str) -> Method:
    """A method of BACKGROUND_METHODS as the evaluation sees it (:func:`background_maps`)."""
    base, option = BACKGROUND_METHODS[name]
    spec = get_spec(base)
    summary = f"{spec.summary}, relative to the agent's background (the empty playfield)"
    if option == "reference":
        summary = "LRP epsilon-gamma with the pixel layer relative to the agent's background (docs/objects.md)"
    return Method(name, lambda agent, obs, target: background_maps(agent, obs, name, target), True, True, summary,
                  spec.targets)


def replacement_kind(replacement: str) -> str:
    """"blur" or "background": which removal a report's ``replacement`` words describe (reports
    written before the background removal existed say blur)."""
    return next((kind for kind, words in REPLACEMENTS.items() if words == replacement), "blur")


def methods_registry() -> dict[str, Method]:
    """All methods of rlviz.explain.registry (LRP ones only when importable), then "random".

    A contrastive variant of any method that takes the "contrast" target is reached by name,
    ``METHOD@contrast`` (e.g. "lrp-epsilon-gamma-box@contrast"); it is not in the default list.
    """
    registry = {name: _from_spec(spec) for name, spec in explain_registry().items()}
    registry["random"] = Method("random", lambda a, o, t: random_map(a, o, t), False, False,
                                "uniform noise from a seeded generator: random order")
    return registry


def available_methods() -> list[str]:
    """Names of the methods that can be evaluated now, e.g. ['saliency-actor', ..., 'random']."""
    return list(methods_registry())


def get_method(name: str) -> Method:
    """The registered method ``name`` (or ``METHOD@contrast``); an unknown name raises an error listing the known ones."""
    registry = methods_registry()
    if name.endswith(CONTRAST_SUFFIX):
        base = name[: -len(CONTRAST_SUFFIX)]
        spec = get_spec(base)
        if "contrast" not in spec.targets:
            raise RlvizError(f"method {base!r} has no contrastive variant; it takes: {', '.join(spec.targets) or 'no target'}")
        return _from_spec(spec, contrast=True)
    if name in BACKGROUND_METHODS:
        return _against_background(name)
    if name not in registry:
        try:
            get_spec(name)
        except RlvizError as e:  # the registry's error lists its methods; add the background ones
            raise RlvizError(f"{e}; relative to the agent's background: {', '.join(BACKGROUND_METHODS)}") from None
    return registry[name]


def compute_maps(agent: Agent, obs: Any, name: str, target: Any = "action", *, seed: int = 0) -> np.ndarray:
    """Maps (N, 84, 84) float32 of method ``name`` for the ``target`` output; ``seed`` drives "random"."""
    method = get_method(name)
    if name == "random":
        maps = random_map(agent, obs, target, seed=seed)
    else:
        maps = method.fn(agent, obs, target)
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    return np.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0)


def _target_of(output: str) -> str:
    if output not in OUTPUTS:
        raise RlvizError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    return "value" if output == "value" else "action"


# --------------------------------------------------------------------------- regions and orders


def check_region(region: int, size: int = 84) -> int:
    """The number of regions per side; ``region`` must divide the frame size."""
    if region < 1 or size % region:
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        raise RlvizError(f"region size must divide {size}; choose one of {divisors}, got {region}")
    return size // region


def region_scores(maps: np.ndarray, region: int) -> np.ndarray:
    """Summed relevance per region: maps (N, H, W) -> (N, R) with R = (H/region)^2, row-major."""
    n, h, w = maps.shape
    g = check_region(region, h)
    if h != w:
        raise RlvizError(f"maps must be square, got {h}x{w}")
    return maps.astype(np.float64).reshape(n, g, region, g, region).sum(axis=(2, 4)).reshape(n, g * g)


def region_order(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Region indices, most relevant first (N, R); ties are broken by a seeded random shuffle,
    so a constant map behaves like a random order rather than a raster scan."""
    n, r = scores.shape
    orders = np.empty((n, r), dtype=np.int64)
    for i in range(n):
        perm = rng.permutation(r)
        orders[i] = perm[np.argsort(-scores[i, perm], kind="stable")]
    return orders


def pixel_steps(orders: np.ndarray, region: int, size: int = 84, regions_per_step: int = 1) -> np.ndarray:
    """For every pixel, the step (1..L) at which its region is replaced: (N, size, size) int."""
    n, r = orders.shape
    g = size // region
    position = np.empty_like(orders)
    position[np.arange(n)[:, None], orders] = np.arange(r)[None]
    step = position // regions_per_step + 1  # (N, R)
    step = step.reshape(n, g, 1, g, 1)
    return np.broadcast_to(step, (n, g, region, g, region)).reshape(n, size, size)


# --------------------------------------------------------------------------- curves


def _curves(
    agent: Agent,
    x: torch.Tensor,
    removed: torch.Tensor,
    steps: np.ndarray,
    n_steps: int,
    actions: torch.Tensor,
    mode: str,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """Outputs along the deletion or insertion path, every output at once: {output: (N, L+1)}."""
    n = x.shape[0]
    ks = torch.arange(n_steps + 1, device=x.device)
    steps_t = torch.from_numpy(np.ascontiguousarray(steps)).to(x.device)
    per_batch = max(1, batch_size // (n_steps + 1))
    out = {o: np.empty((n, n_steps + 1), np.float64) for o in OUTPUTS}
    with torch.no_grad():
        for lo in range(0, n, per_batch):
            hi = min(n, lo + per_batch)
            # mask[k] marks the pixels whose region is among the first k replaced
            mask = (steps_t[lo:hi, None] <= ks[None, :, None, None])[:, :, None]  # (b, L+1, 1, H, W)
            clean, gone = x[lo:hi, None], removed[lo:hi, None]
            inputs = torch.where(mask, gone, clean) if mode == "deletion" else torch.where(mask, clean, gone)
            logits, value = agent.forward(inputs.reshape(-1, *x.shape[1:]))
            logits = logits.reshape(hi - lo, n_steps + 1, -1).double()
            a = actions[lo:hi, None, None].expand(-1, n_steps + 1, 1)
            out["logit"][lo:hi] = logits.gather(2, a).squeeze(2).cpu().numpy()
            out["prob"][lo:hi] = torch.softmax(logits, -1).gather(2, a).squeeze(2).cpu().numpy()
            out["value"][lo:hi] = value.reshape(hi - lo, n_steps + 1).double().cpu().numpy()
    return out


def deletion_aopc(curves: np.ndarray) -> np.ndarray:
    """Per-frame deletion AOPC: 1/(L+1) sum_k (f(x_0) - f(x_k)) for curves (N, L+1)."""
    return (curves[:, :1] - curves).mean(axis=1)


def insertion_aopc(curves: np.ndarray) -> np.ndarray:
    """Per-frame insertion AOPC: 1/(L+1) sum_k (f(x_k) - f(x_0)), x_0 the fully replaced frame."""
    return (curves - curves[:, :1]).mean(axis=1)


def mean_ci(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% half-width (1.96 standard errors) over ``axis``; NaN half-width for one sample."""
    values = np.asarray(values, np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, Z95 * values.std(axis=axis, ddof=1) / np.sqrt(n)


def _num(v: Any) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


@dataclass
class FaithfulnessReport:
    """Deletion and insertion curves (per method, per frame) for one explained output."""

    output: str
    region: int
    regions_per_step: int
    deletion: dict[str, np.ndarray]  # method -> (n_frames, L+1)
    insertion: dict[str, np.ndarray]
    actions: np.ndarray  # greedy action per frame, fixed along each curve
    seed: int = 0
    replacement: str = REPLACEMENTS["blur"]
    extra: dict[str, Any] = field(default_factory=dict)
    frames_per_second: dict[str, float] = field(default_factory=dict)  # cost of each method's maps, here

    @property
    def methods(self) -> list[str]:
        return list(self.deletion)

    @property
    def n_frames(self) -> int:
        return int(self.actions.shape[0])

    @property
    def n_steps(self) -> int:
        return int(next(iter(self.deletion.values())).shape[1] - 1)

    def aopc_per_frame(self, kind: str = "deletion") -> dict[str, np.ndarray]:
        """Per-frame AOPC for every method, ``kind`` "deletion" or "insertion"."""
        if kind == "deletion":
            return {m: deletion_aopc(c) for m, c in self.deletion.items()}
        if kind == "insertion":
            return {m: insertion_aopc(c) for m, c in self.insertion.items()}
        raise RlvizError(f"kind must be 'deletion' or 'insertion', got {kind!r}")

    @property
    def aopc(self) -> dict[str, float]:
        """Deletion AOPC per method (mean over frames); higher means more faithful."""
        return {m: float(v.mean()) for m, v in self.aopc_per_frame("deletion").items()}

    @property
    def insertion_aopc(self) -> dict[str, float]:
        """Insertion AOPC per method (mean over frames); higher means more faithful."""
        return {m: float(v.mean()) for m, v in self.aopc_per_frame("insertion").items()}

    def ci(self, kind: str = "deletion") -> dict[str, float]:
        """95% half-width of the AOPC per method (NaN with a single frame)."""
        return {m: float(mean_ci(v)[1]) for m, v in self.aopc_per_frame(kind).items()}

    def vs_random(self, kind: str = "deletion") -> dict[str, tuple[float, float]]:
        """Paired AOPC difference to the random order per method: (mean, 95% half-width)."""
        per = self.aopc_per_frame(kind)
        if "random" not in per:
            return {}
        return {m: tuple(float(t) for t in mean_ci(v - per["random"])) for m, v in per.items() if m != "random"}

    def table(self) -> str:
        """A Markdown table: method, deletion and insertion AOPC with 95% CI, gain over random."""
        dele, ins = self.aopc, self.insertion_aopc
        dci, ici = self.ci("deletion"), self.ci("insertion")
        diff = self.vs_random("deletion")
        lines = [
            f"output: {self.output}, {self.n_frames} frames, {self.n_steps} steps of {self.region}x{self.region} px",
            "",
            "| method | deletion AOPC | insertion AOPC | deletion - random | frames/s |",
            "|---|---|---|---|---|",
        ]
        for m in sorted(self.methods, key=lambda k: -dele[k]):
            gain = f"{diff[m][0]:+.3g} ± {diff[m][1]:.2g}" if m in diff else "—"
            fps = f"{self.frames_per_second[m]:.3g}" if m in self.frames_per_second else "—"
            lines.append(f"| {m} | {dele[m]:.3g} ± {dci[m]:.2g} | {ins[m]:.3g} ± {ici[m]:.2g} | {gain} | {fps} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary: AOPC per method with 95% intervals, mean curves with bands."""

        def ci_pair(values: np.ndarray) -> list[float | None]:
            mean, half = mean_ci(values)
            return [_num(mean - half), _num(mean + half)]

        def curves(data: dict[str, np.ndarray]) -> dict[str, Any]:
            result = {}
            for m, c in data.items():
                mean, half = mean_ci(c)
                result[m] = {"mean": [_num(v) for v in mean], "ci95_half_width": [_num(v) for v in half]}
            return result

        dele, ins = self.aopc_per_frame("deletion"), self.aopc_per_frame("insertion")
        return {
            "output": self.output,
            "frames": self.n_frames,
            "region": self.region,
            "regions": (84 // self.region) ** 2,
            "regions_per_step": self.regions_per_step,
            "steps": self.n_steps,
            "replacement": self.replacement,
            "seed": self.seed,
            "actions": [int(a) for a in self.actions],
            "aopc": {m: _num(v.mean()) for m, v in dele.items()},
            "aopc_ci95": {m: ci_pair(v) for m, v in dele.items()},
            "insertion_aopc": {m: _num(v.mean()) for m, v in ins.items()},
            "insertion_aopc_ci95": {m: ci_pair(v) for m, v in ins.items()},
            "aopc_minus_random": {m: {"mean": _num(d[0]), "ci95_half_width": _num(d[1])}
                                  for m, d in self.vs_random("deletion").items()},
            "insertion_aopc_minus_random": {m: {"mean": _num(d[0]), "ci95_half_width": _num(d[1])}
                                            for m, d in self.vs_random("insertion").items()},
            "curves": {"deletion": curves(self.deletion), "insertion": curves(self.insertion)},
            "frames_per_second": {m: _num(v) for m, v in self.frames_per_second.items()},
            **self.extra,
        }


def _resolve_methods(methods: Iterable[str] | None, maps: Mapping[str, np.ndarray] | None) -> list[str]:
    if methods is None:
        names = available_methods() if not maps else ["random"]
    else:
        names = list(methods)
    if maps:
        names = [m for m in names if m not in maps] + list(maps)
    for name in names:
        if not maps or name not in maps:
            get_method(name)  # unknown names fail before any work
    if not names:
        raise RlvizError("no methods to evaluate; name at least one, e.g. methods=['saliency-actor', 'random']")
    return names


def pixel_flipping_outputs(
    agent: Agent,
    obs: Any,
    *,
    methods: Iterable[str] | None = None,
    outputs: Sequence[str] = OUTPUTS,
    region: int = DEFAULT_REGION,
    regions_per_step: int = 1,
    seed: int = 0,
    maps: Mapping[str, np.ndarray] | None = None,
    batch_size: int = 512,
    replacement: str = "blur",
    background: np.ndarray | None = None,
) -> dict[str, FaithfulnessReport]:
    """Deletion and insertion curves for several outputs at once: {output: FaithfulnessReport}.

    Forward passes are shared: the logit, probability and value along one path come from the
    same batch, and a map that does not depend on the target (saliency, random, or one given
    in ``maps``) is flipped once for all outputs. ``maps`` adds ready-made maps
    {name: (N, 84, 84)}, ordered by value like signed maps. A method that cannot explain an
    output (SARFA has no value map) is left out of that output's report. Each report's
    ``frames_per_second`` holds the time each method's maps took (wall clock, this machine).
    ``replacement``: what a deleted region becomes, "blur" or "background" (the agent's, or
    ``background``, a uint8 (84, 84) frame, when given).
    """
    if replacement not in REPLACEMENTS:
        raise RlvizError(f"replacement must be one of {', '.join(REPLACEMENTS)}, got {replacement!r}")
    outputs = list(outputs)
    for o in outputs:
        _target_of(o)
    if regions_per_step < 1:
        raise RlvizError(f"regions_per_step must be at least 1, got {regions_per_step}")
    names = _resolve_methods(methods, maps)
    x = to_float_obs(_batch(obs), agent.device)
    n, _, h, w = x.shape
    if h != w:
        raise RlvizError(f"observations must be square, got {h}x{w}")
    g = check_region(region, h)
    n_steps = -(-g * g // regions_per_step)
    for name, given in (maps or {}).items():
        if np.shape(given) != (n, h, w):
            raise RlvizError(f"map {name!r} has shape {np.shape(given)}; expected ({n}, {h}, {w}), one per observation")
    with torch.no_grad():
        removed = _removed(agent, x, replacement, background)
        logits, _ = agent.forward(x)
    actions = logits.argmax(-1)
    cache: dict[tuple[str, str | None], tuple[dict, dict]] = {}
    seconds: dict[str, float] = {}
    computed: dict[str, int] = {}
    reports = {
        o: FaithfulnessReport(o, region, regions_per_step, {}, {}, actions.cpu().numpy(), seed, REPLACEMENTS[replacement])
        for o in outputs
    }
    for name in names:
        for o in outputs:
            target = _target_of(o)
            given = maps is not None and name in maps
            if not given and not get_method(name).accepts(target):
                continue
            key = (name, target if not given and get_method(name).uses_target else None)
            if key not in cache:
                if given:
                    m = np.asarray(maps[name], np.float32)
                else:
                    began = time.perf_counter()
                    m = compute_maps(agent, x, name, target, seed=seed)
                    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - began
                    computed[name] = computed.get(name, 0) + n
                # the same generator seed for every method: tie-breaking is identical across methods
                orders = region_order(region_scores(m, region), np.random.default_rng(seed))
                steps = pixel_steps(orders, region, h, regions_per_step)
                cache[key] = (
                    _curves(agent, x, removed, steps, n_steps, actions, "deletion", batch_size),
                    _curves(agent, x, removed, steps, n_steps, actions, "insertion", batch_size),
                )
            dele, ins = cache[key]
            reports[o].deletion[name] = dele[o]
            reports[o].insertion[name] = ins[o]
    for report in reports.values():
        report.frames_per_second = {m: computed[m] / max(seconds[m], 1e-9) for m in computed if m in report.deletion}
    return reports


def _removed(agent: Agent, x: torch.Tensor, replacement: str, background: np.ndarray | None) -> torch.Tensor:
    """What every pixel of x becomes once its region is deleted: x blurred, or the background."""
    if replacement == "blur":
        return gaussian_blur(x, BLUR_SIGMA)
    bg = agent_background(agent) if background is None else np.asarray(background)
    if bg.shape != tuple(x.shape[-2:]):
        raise RlvizError(f"the background must be one frame of shape {tuple(x.shape[-2:])}, got {bg.shape}")
    return reference_observation(bg, x.shape[1]).to(x.device, x.dtype)[None].expand_as(x).contiguous()


def pixel_flipping(
    agent: Agent,
    obs: Any,
    *,
    methods: Iterable[str] | None = None,
    region: int = DEFAULT_REGION,
    output: str = "logit",
    regions_per_step: int = 1,
    seed: int = 0,
    maps: Mapping[str, np.ndarray] | None = None,
    batch_size: int = 512,
    replacement: str = "blur",
    background: np.ndarray | None = None,
) -> FaithfulnessReport:
    """Deletion/insertion curves and AOPC of each method's maps for uint8 obs (N, 4, 84, 84).

    ``output``: "logit" (greedy action's logit), "prob" (its softmax probability) or "value".
    ``methods``: names from :func:`available_methods` (default: all, "random" included).
    ``region`` must divide 84 (default 7: 144 regions); ``regions_per_step`` > 1 shortens the
    curves. ``seed`` drives the random baseline and tie-breaking. ``replacement``: what a
    deleted region becomes, "blur" (default) or "background" (the agent's empty playfield, or
    ``background``).
    """
    return pixel_flipping_outputs(
        agent, obs, methods=methods, outputs=[output], region=region, regions_per_step=regions_per_step,
        seed=seed, maps=maps, batch_size=batch_size, replacement=replacement, background=background,
    )[output]


# --------------------------------------------------------------------------- end to end


def collect_frames(agent: Agent, *, frames: int = 20, seed: int = 0, spacing: int = 8, env: Any = None) -> np.ndarray:
    """Observations (frames, 4, 84, 84) uint8 from greedy play: every ``spacing``-th step, so that
    the frames spread over the game instead of repeating its first second. A finished episode
    is followed by one with the next seed."""
    from rlviz.play.rollout import env_for, play

    if frames < 1 or spacing < 1:
        raise RlvizError(f"frames and spacing must be at least 1, got {frames} and {spacing}")
    own_env = env is None
    env = env_for(agent, render_mode=None) if own_env else env
    collected: list[np.ndarray] = []
    episode = 0
    try:
        while len(collected) < frames and episode < frames + 10:
            for step in play(agent, env, seed=seed + episode, max_steps=(frames - len(collected)) * spacing):
                if step.step % spacing == spacing - 1:
                    collected.append(step.obs)
                    if len(collected) == frames:
                        break
            episode += 1
    finally:
        if own_env:
            env.close()
    if not collected:
        raise RlvizError("the agent's episodes ended before any frame was collected; lower --spacing")
    return np.stack(collected)
