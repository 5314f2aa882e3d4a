"""Which output an explanation explains: one scalar per observation, from (logits, value).

Every gradient-family and LRP method in rlviz takes the same ``target``:

* ``"action"``: the logit (Q-value) of the greedy action of each observation;
* ``"value"``: V(s) (max_a Q for a Q-network);
* an int, or one int per observation: that action's logit;
* ``"contrast"`` (greedy action) or ``Contrast(actions)``: "why this move rather than the
  others", the chosen logit minus the **mean** of the other logits,
  ``f_a - 1/(A-1) sum_{b != a} f_b``.

Why the mean and not the logsumexp of the others (which would give the log-odds of the
action, log P(a) / (1 - P(a))): the mean is linear in the logits, so

* a contrastive map is exactly the chosen action's map minus the mean of the others' maps,
  for every method that is linear in its starting signal (gradient, gradient x input,
  integrated gradients, DeepLIFT, every LRP rule): one backward pass with the signed start
  vector ``onehot(a) - (1 - onehot(a)) / (A - 1)`` (contrastive LRP, Gu et al. 2018);
* like the softmax (and the logsumexp), it ignores whatever shifts all logits equally, which is
  the point: in Pong NOOP/FIRE and RIGHT/RIGHTFIRE act alike, and relevance for one logit alone
  mostly explains what all moves share;
* it needs no probabilities, so it means the same for Q-networks (the advantage of ``a`` over
  the average move, as in a dueling head) and actor-critics.

Example:
    >>> logits = torch.tensor([[1.0, 3.0, 2.0]]); value = torch.tensor([0.5])
    >>> explained_output(logits, value, "contrast")      # 3 - (1 + 2) / 2
    tensor([1.5000])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlviz.util.errors import RlvizError

TARGET_HELP = "'action', 'value', 'contrast' or an action index"


@dataclass(frozen=True)
class Contrast:
    """The contrastive target for given actions (None: each observation's greedy action)."""

    actions: Any = None


Target = str | int | Sequence[int] | np.ndarray | Contrast


def _actions(spec: Any, n: int, n_actions: int, device: torch.device) -> torch.Tensor:
    actions = torch.as_tensor(np.asarray(spec), device=device).long().reshape(-1)
    if actions.numel() == 1:
        actions = actions.expand(n)
    if actions.numel() != n:
        raise RlvizError(f"got {actions.numel()} target actions for {n} observations; give one or one per observation")
    if ((actions < 0) | (actions >= n_actions)).any():
        raise RlvizError(f"target action out of range for a network with {n_actions} actions")
    return actions


def check_target(target: Any) -> None:
    """Refuse a target that names nothing, before any work."""
    if isinstance(target, str) and target not in ("action", "value", "contrast"):
        raise RlvizError(f"target must be {TARGET_HELP}, got {target!r}")


def start_weights(logits: torch.Tensor, target: Any) -> torch.Tensor | None:
    """The weights w with explained output = sum_b w_b f_b (None for the value).

    One-hot of the action for an action target; ``onehot(a) - (1 - onehot(a)) / (A - 1)`` for a
    contrastive one. LRP starts from R = f * w, the gradient methods differentiate sum(w * f).
    """
    check_target(target)
    if isinstance(target, str) and target == "value":
        return None
    n, a = logits.shape
    if isinstance(target, Contrast) or (isinstance(target, str) and target == "contrast"):
        spec = target.actions if isinstance(target, Contrast) else None
        actions = logits.argmax(-1) if spec is None else _actions(spec, n, a, logits.device)
        onehot = torch.nn.functional.one_hot(actions, a).to(logits.dtype)
        if a < 2:
            raise RlvizError("a contrastive target needs at least two actions")
        return onehot - (1.0 - onehot) / (a - 1)
    actions = logits.argmax(-1) if isinstance(target, str) else _actions(target, n, a, logits.device)
    return torch.nn.functional.one_hot(actions, a).to(logits.dtype)


def explained_output(logits: torch.Tensor, value: torch.Tensor, target: Any) -> torch.Tensor:
    """The scalar per observation that ``target`` names (see the module docstring): shape (N,)."""
    weights = start_weights(logits, target)
    if weights is None:
        return value
    return (logits * weights.detach()).sum(-1)


def slice_target(target: Any, lo: int, hi: int) -> Any:
    """The part of a per-observation target that belongs to observations lo..hi-1."""
    if isinstance(target, str):
        return target
    if isinstance(target, Contrast):
        if target.actions is None:
            return target
        arr = np.asarray(target.actions).reshape(-1)
        return Contrast(arr if arr.size == 1 else arr[lo:hi])
    arr = np.asarray(target).reshape(-1)
    return arr if arr.size == 1 else arr[lo:hi]


def fix_actions(target: Any, logits: torch.Tensor) -> Any:
    """'action' -> the greedy actions, 'contrast' -> Contrast(greedy actions): the same output
    however the network changes later (sanity checks explain a randomised copy)."""
    greedy = logits.argmax(-1).cpu().numpy()
    if isinstance(target, str) and target == "action":
        return greedy
    if isinstance(target, str) and target == "contrast":
        return Contrast(greedy)
    if isinstance(target, Contrast) and target.actions is None:
        return Contrast(greedy)
    return target


def repeat_target(target: Any, times: int) -> Any:
    """A per-observation target for a batch where each observation appears ``times`` times in a
    row (observation-major: integrated-gradient paths, SmoothGrad samples)."""
    if isinstance(target, str):
        return target
    if isinstance(target, Contrast):
        if target.actions is None or np.asarray(target.actions).size == 1:
            return target
        return Contrast(np.repeat(np.asarray(target.actions).reshape(-1), times))
    arr = np.asarray(target).reshape(-1)
    return arr if arr.size == 1 else np.repeat(arr, times)
