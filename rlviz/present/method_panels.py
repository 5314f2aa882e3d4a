"""Any registered explanation method as a video panel: parse the panel's name, compute its map
through the registry, and say how it is coloured.

A panel is named ``METHOD`` or ``METHOD:OPTION=VALUE:...`` (colons, as commas separate panels;
``METHOD@contrast`` is short for ``METHOD:target=contrast``, as in ``rlviz faithfulness``):

    >>> panel = parse_method_panel("integrated-gradients:target=contrast:steps=16")
    >>> panel.method, panel.target, panel.options
    ('integrated-gradients', 'contrast', {'steps': 16})
    >>> maps = panel_maps(panel, agent, obs)          # (N, 84, 84), what the panel draws

The map is ``rlviz.attribute``'s output reduced to one map per observation as pixel flipping
ranks it (``registry.to_map``: per-frame maps summed over the stack, their magnitudes for
unsigned methods). Colours reuse the video's palette (``colormaps``), no second one: a signed
map is drawn like LRP (red: for the explained output, violet: against), an unsigned one like
the actor's saliency (a sky-blue fill, strength = how much).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.explain.registry import MethodSpec, attribute, get_spec, registry, to_map
from rlviz.present import colormaps
from rlviz.util.errors import RlvizError

# maps >= 0 by construction although pixel flipping ranks them by value: Grad-CAM ends in a
# ReLU, meaningful perturbation's map is 1 - mask. Drawn as a fill: "against" never occurs.
NON_NEGATIVE = ("gradcam", "meaningful-perturbation")
TARGET_WORDS = {"action": "this move", "value": "the value", "contrast": "this move, not others"}


@dataclass(frozen=True)
class MethodPanel:
    key: str  # the panel's name as given, e.g. "deeplift:target=contrast"
    method: str
    target: Any = "action"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> MethodSpec:
        return get_spec(self.method)

    @property
    def signed(self) -> bool:
        """Drawn red/violet (True) or as a fill of magnitude (False)."""
        return self.spec.rank_by == "value" and self.method not in NON_NEGATIVE

    @property
    def explains(self) -> str:
        """What the map explains, in words: 'the move', 'the value', 'action 3', ..."""
        if not self.spec.uses_target:  # perturbation saliency: all logits, or the value
            return "the value" if self.method.endswith("critic") else "the move scores"
        return TARGET_WORDS.get(self.target, f"action {self.target}") if isinstance(self.target, str | int) else "the move"


def _value(text: str) -> Any:
    """'16' -> 16, '0.5' -> 0.5, 'true' -> True, 'none' -> None, anything else stays text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


CONTRAST = "@contrast"  # as in `rlviz faithfulness --methods`: METHOD@contrast = METHOD:target=contrast


def is_method_panel(name: str) -> bool:
    return name.split(":", 1)[0].strip().removesuffix(CONTRAST) in registry()


def parse_method_panel(name: str) -> MethodPanel:
    """``METHOD[:OPTION=VALUE...]`` -> a checked :class:`MethodPanel` (``target`` is one of
    the options; ``METHOD@contrast`` means target=contrast); an unknown method, option or
    target is refused in one line."""
    method, *parts = [p.strip() for p in name.split(":")]
    options: dict[str, Any] = {}
    if method.endswith(CONTRAST):
        method, options["target"] = method.removesuffix(CONTRAST), "contrast"
    spec = get_spec(method)
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise RlvizError(f"panel {name!r}: options are written OPTION=VALUE after a colon, e.g. {method}:target=contrast")
        options[key.strip()] = _value(value.strip())
    target = options.pop("target", "action")
    if target != "action" and not spec.uses_target:
        raise RlvizError(f"method {method!r} has no target (it explains {MethodPanel(name, method).explains}); drop target=")
    unknown = sorted(set(options) - set(spec.options))
    if unknown and not spec.free_options:
        raise RlvizError(f"method {method!r} has no option {', '.join(unknown)}; its options: target, {', '.join(spec.options)}")
    from rlviz.explain.registry import _target_kind

    if spec.uses_target and _target_kind(target) not in spec.targets:
        raise RlvizError(f"method {method!r} cannot explain target {target!r}; it takes: {', '.join(spec.targets)}")
    return MethodPanel(name, method, target, options)


def panel_maps(panel: MethodPanel, agent: Agent, obs: np.ndarray) -> np.ndarray:
    """The panel's (N, 84, 84) maps for observations ``obs``: ``rlviz.attribute`` reduced by
    ``registry.to_map`` (what pixel flipping ranks)."""
    return to_map(panel.spec, attribute(agent, obs, panel.method, panel.target, **panel.options))


def overlay(game: np.ndarray, values: np.ndarray, scale: float, signed: bool) -> np.ndarray:
    """The panel's image: LRP's red/violet for a signed map, the actor's blue fill otherwise."""
    if signed:
        return colormaps.relevance_overlay(game, values, scale)
    return colormaps.saliency_overlay(game, np.abs(values), None, scale, 1.0)


def title(panel: MethodPanel) -> str:
    """The panel's heading: the method and what it explains (its legend says the colours)."""
    why = {"this move": "why this move", "this move, not others": "why this move, not others",
           "the value": "what sets the value"}.get(panel.explains, f"what changes {panel.explains}")
    return f"{panel.method}: {why}"


def legend_ends(panel: MethodPanel) -> tuple[str, str]:
    """The words at the two ends of the panel's colour bar."""
    return ("against", "for") if panel.signed else ("0", "strongest")
