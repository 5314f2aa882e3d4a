"""Neural Interaction Detection (Tsang, Cheng, Liu, ICLR 2018) on the weights of an MLP.

A feature interaction is created where features meet in a hidden unit through a
non-linearity. NID reads it off the weights (DESIGN.md §6):

    z        = |W_y| |W_L| ... |W_2|               influence of each first-layer unit on the output
    omega(I) = sum_i z_i * min_{j in I} |W_1[i, j]|  strength of the feature set I

The ``min`` says a unit only mixes a set of features as strongly as its weakest link.
``action=None`` sums z over all output rows; an int reads one output row.

* Pairwise: omega({a, b}) for every pair, vectorised blockwise (``pairwise_strengths``).
* Any order: the paper's greedy search. For each first-layer unit the features sorted by
  |W_1[i, :]| give candidate sets top-2, top-3, ...; each unit adds ``z_i * min`` to the sets
  it proposes; sets are ranked and a set that is a strict subset of a higher-ranked kept set
  is dropped.

Pitfall and rlviz's cut-off: on dense weights (every RL policy; no L1 penalty) large sets are
proposed by many units and the full set ranks first, so the raw any-order list collapses to
"everything interacts". rlviz keeps a candidate set of size k only if its strength beats what
the same search finds on ``n_null`` shuffled copies of |W_1| (z kept), of two kinds: every
column (feature) shuffled across units, which keeps how much each feature is used and breaks
only *which features share a unit* - the thing an interaction is made of; and every row
(unit) shuffled across features, which keeps how dense each unit is, so units that weigh all
features alike cannot make the full set pass. The threshold is set jointly over all set
sizes (a max statistic of strength standardised per size over the shuffles), so weights
without interaction structure yield an empty list in most cases (about 20 of 21 per shuffle
kind with ``n_null=20``). A set of three or more must also beat, for each of its candidate
parents P (the set minus one feature), the strongest extension of P found when every column
outside P is shuffled: otherwise a true interaction plus whichever feature ranks next in its
units would pass too. ``cutoff=None`` gives the paper's raw list.

Example:
    >>> net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    >>> neuron_interactions(net, order=2, top_k=3)
    [Interaction(features=(3, 7), strength=0.41), ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from rlviz.util.errors import RlvizError

# Layers an MLP may contain between its Linear layers: element-wise, so NID's reading holds.
_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Softplus,
                nn.Identity, nn.Dropout, nn.Flatten)
N_NULL = 20
LARGE_P_MAX_ORDER = 32  # any-order candidate sets are capped at this size when p > 64


class Interaction(NamedTuple):
    """A set of interacting input features (0-based indices) and its NID strength."""

    features: tuple[int, ...]
    strength: float


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------


def mlp_weights(model: nn.Module | Sequence[Any]) -> list[torch.Tensor]:
    """The weight matrices [W_1, ..., W_L, W_y] of an MLP, each (out, in), as float64 tensors.

    ``model`` is a module stack of ``nn.Linear`` and element-wise activations (``nn.Sequential``
    or any module whose ``.modules()`` are only those), or a list of weight matrices.
    """
    if isinstance(model, nn.Module):
        weights = []
        for module in model.modules():
            if isinstance(module, nn.Linear):
                weights.append(module.weight.detach())
            elif len(list(module.children())) == 0 and not isinstance(module, _ELEMENTWISE):
                raise RlvizError(
                    f"NID reads MLPs of Linear and element-wise layers; found {type(module).__name__}. "
                    "For a CNN policy use policy_interactions(agent)"
                )
    else:
        weights = [torch.as_tensor(np.asarray(w) if not isinstance(w, torch.Tensor) else w) for w in model]
    if not weights:
        raise RlvizError("the model has no Linear layer; pass an MLP or a list of weight matrices")
    weights = [w.detach().to("cpu", torch.float64) for w in weights]
    for w, nxt in zip(weights, weights[1:]):
        if w.ndim != 2 or nxt.ndim != 2 or nxt.shape[1] != w.shape[0]:
            raise RlvizError(
                f"weight matrices do not chain: {tuple(w.shape)} then {tuple(nxt.shape)}; "
                "give them as (out, in), first layer first"
            )
    return weights


def aggregated_influence(later_weights: Sequence[torch.Tensor], action: int | None = None) -> torch.Tensor:
    """z = |W_y| |W_L| ... |W_2| for one output row (``action``) or summed over all rows.

    ``later_weights`` are [W_2, ..., W_L, W_y] (each (out, in)); with none, z is all ones.
    Returns a vector over the first hidden layer's units.
    """
    if not later_weights:
        raise RlvizError("NID needs at least two Linear layers (a hidden layer and an output)")
    head = later_weights[-1].abs()
    if action is not None:
        if not -head.shape[0] <= int(action) < head.shape[0]:
            raise RlvizError(f"output row {action} does not exist; the model has {head.shape[0]} outputs")
        head = head[int(action)]
    else:
        head = head.sum(0)
    z = head
    for w in reversed(later_weights[:-1]):
        z = z @ w.abs()
    return z


# ---------------------------------------------------------------------------------------------
# pairwise
# ---------------------------------------------------------------------------------------------


def pairwise_strengths(w1_abs: torch.Tensor, z: torch.Tensor, *, block_elements: int = 1 << 24) -> torch.Tensor:
    """omega({a, b}) = sum_i z_i min(|W1[i,a]|, |W1[i,b]|) for all pairs; (p, p), zero diagonal.

    Blockwise: a block of rows a against all b >= a at once, ``block_elements`` floats per
    block (64 MiB in float32), so 3,136 features x 512 units take seconds and bounded memory.
    Works in float64 for small problems and float32 for large ones.
    """
    h, p = w1_abs.shape
    dtype = torch.float64 if h * p * p <= 5e7 else torch.float32
    # z_i >= 0, so z_i * min(x, y) = min(z_i x, z_i y): scale once, then only min and sum
    zw = (w1_abs.abs().to(dtype) * z.to(dtype)[:, None]).contiguous()
    out = torch.zeros(p, p, dtype=dtype)
    rows = max(1, block_elements // max(1, h * p))
    buffer = torch.empty(h * min(rows, p) * p, dtype=dtype)  # reused: no allocation per block
    for a0 in range(0, p, rows):
        a1 = min(p, a0 + rows)
        mins = buffer[: h * (a1 - a0) * (p - a0)].view(h, a1 - a0, p - a0)
        torch.minimum(zw[:, a0:a1, None], zw[:, None, a0:], out=mins)
        out[a0:a1, a0:] = mins.sum(0)
    upper = torch.triu(out, diagonal=1)
    return upper + upper.T


def rank_pairs(matrix: torch.Tensor | np.ndarray, top_k: int | None = None) -> list[Interaction]:
    """The pairs a < b of a symmetric strength matrix, strongest first.

    Equal strengths keep (a, b) order, except that with a small ``top_k`` of a very large
    matrix the pairs tied at the cut itself are picked by ``torch.topk``.
    """
    m = torch.as_tensor(np.asarray(matrix) if not isinstance(matrix, torch.Tensor) else matrix)
    p = m.shape[0]
    ia, ib = torch.triu_indices(p, p, offset=1)
    values = m[ia, ib]
    n = values.numel() if top_k is None else min(int(top_k), values.numel())
    if n < values.numel() // 8:  # a few of millions of pairs: topk, then order those stably
        picked = torch.topk(values, n).indices.sort().values
        order = picked[torch.sort(values[picked], descending=True, stable=True).indices]
    else:  # stable descending sort keeps the (a, b) order among equal strengths
        order = torch.sort(values, descending=True, stable=True).indices[:n]
    va, vb, vv = ia[order].tolist(), ib[order].tolist(), values[order].tolist()
    return [Interaction((a, b), float(v)) for a, b, v in zip(va, vb, vv)]


# ---------------------------------------------------------------------------------------------
# any order
# ---------------------------------------------------------------------------------------------


def _greedy_candidates(w1_abs: np.ndarray, z: np.ndarray, max_order: int) -> dict[int, float]:
    """Candidate sets (as bit masks) -> accumulated strength, by the paper's greedy search."""
    k_max = min(max_order, w1_abs.shape[1])
    order = np.argsort(-w1_abs, axis=1, kind="stable")[:, :k_max]
    sorted_w = np.take_along_axis(w1_abs, order, axis=1)
    contrib = z[:, None] * sorted_w  # z_i * (k-th largest weight) = z_i * min over the top-k set
    strengths: dict[int, float] = {}
    for i in range(w1_abs.shape[0]):
        if z[i] == 0.0:
            continue
        row, c = order[i].tolist(), contrib[i].tolist()
        mask = 1 << row[0]
        for k in range(1, k_max):
            if c[k] == 0.0:
                break  # zero weights add nothing; larger sets from this unit would be 0 too
            mask |= 1 << row[k]
            strengths[mask] = strengths.get(mask, 0.0) + c[k]
    return strengths


def _mask_features(mask: int) -> tuple[int, ...]:
    out, j = [], 0
    while mask:
        if mask & 1:
            out.append(j)
        mask >>= 1
        j += 1
    return tuple(out)


def null_thresholds(
    w1_abs: np.ndarray, z: np.ndarray, *, max_order: int, n_null: int = N_NULL, seed: int = 0
) -> np.ndarray:
    """Per set size k, the strength a size-k candidate must exceed to count as an interaction.

    Two shuffles of |W1|, z kept; a set must beat both:
    * columns: each feature's weights shuffled across units - keeps how much every feature is
      used overall, so features that are merely popular do not pass;
    * rows: each unit's weights shuffled across features - keeps how dense every unit is, so
      units that weigh everything alike do not make "all features" pass (the full set's
      strength is unchanged by this shuffle, so it can never beat it).
    On ``n_null`` shuffles of each kind, M[r, k] is the strongest size-k candidate of shuffle r,
    with mean m_k and standard deviation s_k over shuffles. One test per order would let some
    order pass by chance (p - 1 orders, each at 1/(n_null + 1)), so one threshold covers all
    orders: T = max over r and k of (M[r, k] - m_k) / s_k, threshold_k = m_k + T * s_k. (A ratio
    to m_k was tried first: the near-zero strengths of large sets made it noisy and far too
    strict.) Index k of the result is the threshold for sets of k features.
    """
    rng = np.random.default_rng(seed)
    thresholds = np.zeros(max(max_order, 2) + 1)
    for axis in (0, 1):  # 0: every column shuffled on its own; 1: every row
        best = np.zeros((n_null, len(thresholds)))
        for r in range(n_null):
            shuffled = rng.permuted(w1_abs, axis=axis)
            for mask, value in _greedy_candidates(shuffled, z, max_order).items():
                k = mask.bit_count()
                best[r, k] = max(best[r, k], value)
        mean, std = best.mean(0), best.std(0)
        score = np.divide(best - mean, std, out=np.zeros_like(best), where=std > 0)
        thresholds = np.maximum(thresholds, mean + max(float(score.max()), 0.0) * std)
    return thresholds


def _beats_its_parents(
    mask: int, value: float, candidates: dict[int, float], w1_abs: np.ndarray, z: np.ndarray,
    *, n_null: int, seed: int, cache: dict[int, float],
) -> bool:
    """Does set S add a real member to each candidate parent P = S minus one feature?

    A true interaction P plus any feature x that happens to rank next in P's units also beats
    the unconditional shuffle. So S must also beat the strongest one-feature extension of P
    when every column outside P is shuffled (P's own structure kept): the conditional null.
    """
    for j in _mask_features(mask):
        parent = mask & ~(1 << j)
        if parent.bit_count() < 2 or parent not in candidates:
            continue
        if parent not in cache:
            inside = list(_mask_features(parent))
            outside = np.setdiff1d(np.arange(w1_abs.shape[1]), inside)
            rng = np.random.default_rng([seed, parent.bit_count(), *inside[:8]])
            k = parent.bit_count() + 1
            best = 0.0
            for _ in range(n_null):
                shuffled = w1_abs.copy()
                shuffled[:, outside] = rng.permuted(w1_abs[:, outside], axis=0)
                for m, v in _greedy_candidates(shuffled, z, k).items():
                    if m.bit_count() == k and m & parent == parent:
                        best = max(best, v)
            cache[parent] = best
        if value <= cache[parent]:
            return False
    return True


def greedy_interactions(
    w1_abs: torch.Tensor | np.ndarray,
    z: torch.Tensor | np.ndarray,
    *,
    top_k: int | None = None,
    max_order: int | None = None,
    cutoff: str | None = "shuffle",
    n_null: int = N_NULL,
    seed: int = 0,
) -> list[Interaction]:
    """Any-order interactions by the paper's greedy ranking, with rlviz's shuffle cut-off.

    ``max_order`` caps the set size (default: all sizes when p <= 64, else 32, to bound memory).
    ``cutoff="shuffle"`` keeps a size-k set only above ``null_thresholds`` (column- and
    row-shuffled weights, see module docstring) and, for k >= 3, only if it beats every one-feature
    extension of each of its candidate parents under a shuffle that keeps the parent intact
    (``_beats_its_parents``); ``cutoff=None`` keeps every candidate (paper's raw list).
    Strict subsets of higher-ranked kept sets are dropped, as in the paper.
    """
    w = np.abs(np.asarray(w1_abs.detach().cpu() if isinstance(w1_abs, torch.Tensor) else w1_abs, np.float64))
    zz = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, np.float64)
    p = w.shape[1]
    if max_order is None:
        max_order = p if p <= 64 else LARGE_P_MAX_ORDER
    if max_order < 2:
        raise RlvizError(f"max_order must be at least 2, got {max_order}")
    if cutoff not in (None, "shuffle"):
        raise RlvizError(f"cutoff must be 'shuffle' or None, got {cutoff!r}")
    candidates = _greedy_candidates(w, zz, max_order)
    if cutoff == "shuffle":
        thr = null_thresholds(w, zz, max_order=max_order, n_null=n_null, seed=seed)
        passed = {m: v for m, v in candidates.items() if v > thr[m.bit_count()]}
        cache: dict[int, float] = {}
        candidates = {
            m: v for m, v in passed.items()
            if _beats_its_parents(m, v, candidates, w, zz, n_null=n_null, seed=seed, cache=cache)
        }
    ranked = sorted(candidates.items(), key=lambda mv: (-mv[1], mv[0].bit_count(), mv[0]))
    kept: list[tuple[int, float]] = []
    for mask, value in ranked:
        if value <= 0.0:
            continue
        if any(mask & other == mask and mask != other for other, _ in kept):
            continue  # strict subset of a stronger kept set
        kept.append((mask, value))
        if top_k is not None and len(kept) >= top_k:
            break
    return [Interaction(_mask_features(m), float(v)) for m, v in kept]


# ---------------------------------------------------------------------------------------------
# the verb
# ---------------------------------------------------------------------------------------------


def _check_order(order: int | str | None) -> str:
    if order in (None, "any"):
        return "any"
    if order == 2:
        return "pairwise"
    raise RlvizError(f"order must be 2 (pairwise) or None / 'any' (any order), got {order!r}")


def neuron_interactions(
    model: nn.Module | Sequence[Any],
    *,
    order: int | str | None = 2,
    action: int | None = None,
    top_k: int | None = None,
    max_order: int | None = None,
    cutoff: str | None = "shuffle",
    n_null: int = N_NULL,
    seed: int = 0,
) -> list[Interaction]:
    """Interacting input features of an MLP read from its weights, strongest first.

    ``order=2``: every pair ranked by omega; ``order=None`` or ``"any"``: the greedy any-order
    ranking with the shuffle cut-off. ``action=None`` sums over the outputs, an int reads one
    output row. ``model``: an MLP module or a list of weight matrices, first layer first.
    """
    kind = _check_order(order)
    weights = mlp_weights(model)
    z = aggregated_influence(weights[1:], action)
    w1_abs = weights[0].abs()
    if kind == "pairwise":
        return rank_pairs(pairwise_strengths(w1_abs, z), top_k)
    return greedy_interactions(
        w1_abs, z, top_k=top_k, max_order=max_order, cutoff=cutoff, n_null=n_null, seed=seed
    )


def pairwise_matrix(model: nn.Module | Sequence[Any], *, action: int | None = None) -> np.ndarray:
    """The full (p, p) pairwise strength matrix of an MLP (zero diagonal), for heat maps."""
    weights = mlp_weights(model)
    z = aggregated_influence(weights[1:], action)
    return pairwise_strengths(weights[0].abs(), z).numpy()
