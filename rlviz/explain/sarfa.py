"""SARFA (Puri et al., ICLR 2020): saliency of what is *specific* to the chosen action and
*relevant* to it, scored on the same 289 blurred perturbations as perturbation saliency.

For a perturbation that changes the action distribution from P to P' (softmax of the logits,
or of the Q-values) and the chosen action a:

    dP = P(a) - P'(a)                              relevance: the perturbation lowers a
    D  = KL(P_rem || P'_rem)                       P_rem: the other actions' probabilities, renormalised
    K  = 1 / (1 + D)                               specificity: the others keep their order
    S  = 2 dP K / (dP + K) where dP > 0, else 0    the harmonic mean of the two

A region that shifts all logits equally changes neither P nor P': S = 0 there, while
perturbation saliency 1/2 ||f - f'||^2 lights it up (tested with such a decoy). Grid scores
are interpolated to the 84x84 map as in perturbation saliency (DESIGN.md §4 and §10).

Example:
    >>> maps = sarfa(agent, obs)     # (N, 84, 84), >= 0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import Scorer, grid_to_map, perturbed_scores
from rlviz.explain.targets import Contrast, check_target
from rlviz.util.errors import RlvizError


def sarfa_score(p: torch.Tensor, q: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """SARFA for probabilities before (p) and after (q) a perturbation, [..., A], chosen ``action`` [...]."""
    a = action.unsqueeze(-1)
    dp = (p.gather(-1, a) - q.gather(-1, a)).squeeze(-1)
    keep = torch.ones_like(p, dtype=torch.bool).scatter(-1, a, False)
    p_rem = torch.where(keep, p, 0.0)
    q_rem = torch.where(keep, q, 0.0)
    p_rem = p_rem / p_rem.sum(-1, keepdim=True).clamp_min(1e-30)
    q_rem = q_rem / q_rem.sum(-1, keepdim=True).clamp_min(1e-30)
    ratio = torch.where(p_rem > 0, p_rem / q_rem.clamp_min(1e-30), 1.0)
    kl = (p_rem * torch.log(ratio)).sum(-1).clamp_min(0.0)
    k = 1.0 / (1.0 + kl)
    score = 2.0 * dp * k / (dp + k)
    return torch.where(dp > 0, score, torch.zeros_like(score))


def _make_scorer(target: Any):
    def make(clean_logits: torch.Tensor, clean_values: torch.Tensor) -> Scorer:
        n, n_actions = clean_logits.shape
        if n_actions < 2:
            raise RlvizError("SARFA needs at least two actions")
        if isinstance(target, str):
            actions = clean_logits.argmax(-1)
        else:
            actions = torch.as_tensor(np.asarray(target), device=clean_logits.device).long().reshape(-1)
            actions = actions.expand(n) if actions.numel() == 1 else actions
            if actions.numel() != n or ((actions < 0) | (actions >= n_actions)).any():
                raise RlvizError(f"give one target action in 0..{n_actions - 1}, or one per observation ({n})")
        p = torch.softmax(clean_logits.double(), -1)

        def scorer(logits: torch.Tensor, values: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor]:
            q = torch.softmax(logits.double(), -1)
            pi = p[idx].expand_as(q)
            ai = actions[idx].expand(q.shape[:-1])
            return (sarfa_score(pi, q, ai).float(),)

        return scorer

    return make


def sarfa(agent: Agent, obs: Any, target: Any = "action", **options: Any) -> np.ndarray:
    """SARFA maps for uint8 obs (N, 4, 84, 84): float32 (N, 84, 84), >= 0.

    ``target``: "action" (the greedy action; "contrast" means the same here, SARFA is
    contrastive by construction) or an action index (one, or one per observation). The value
    has no action distribution to be specific about and is refused. ``options``: those of
    :func:`rlviz.explain.perturbation.perturbation_saliency` (stride, mask_sigma, blur_sigma,
    frames, batch_size, method).
    """
    check_target(target)
    if isinstance(target, str) and target == "value":
        raise RlvizError("SARFA explains an action, not the value; use target='action' or an action index")
    if isinstance(target, Contrast):
        target = "action" if target.actions is None else target.actions
    (grid,), centres = perturbed_scores(agent, obs, _make_scorer(target), 1, **options)
    size = int(obs.shape[-1]) if isinstance(obs, torch.Tensor) else np.asarray(obs).shape[-1]
    maps = grid_to_map(grid, size, centres)
    return maps if maps.ndim == 3 else maps[None]
