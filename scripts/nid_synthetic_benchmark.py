"""Benchmark rlviz's NID on the synthetic functions of Tsang et al. (2018) with known interactions.

For each function: draw inputs, train the paper's MLP-M (an interaction MLP plus one small
univariate net per input that absorbs main effects) with an L1 penalty on the interaction
MLP's weights, run pairwise NID on the interaction MLP only, and score the ranking of the 45
pairs by ROC-AUC (a pair is true when it lies inside one of the function's true sets,
DESIGN.md §6). The any-order search with the shuffle cut-off is reported beside it.

    nice -n 5 .venv/bin/python scripts/nid_synthetic_benchmark.py --samples 30000 --epochs 40 --seeds 0 1 2 3 4

tests/test_interactions_synthetic.py imports this file and runs it small.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlviz.explain.interactions import neuron_interactions, pairwise_matrix


@dataclass(frozen=True)
class Synthetic:
    """A test function: input sampler, the function, and its true interaction sets (0-based)."""

    sample: Callable[[int, np.random.Generator], np.ndarray]
    f: Callable[[np.ndarray], np.ndarray]
    true_sets: tuple[tuple[int, ...], ...]


def _uniform(lo: float, hi: float) -> Callable[[int, np.random.Generator], np.ndarray]:
    return lambda n, rng: rng.uniform(lo, hi, size=(n, 10))


def _sample_f1(n: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(0.0, 1.0, size=(n, 10))
    hi = [3, 4, 7, 9]  # x4, x5, x8, x10 ~ U[0.6, 1]
    x[:, hi] = rng.uniform(0.6, 1.0, size=(n, len(hi)))
    return x


def _f1(x: np.ndarray) -> np.ndarray:
    x1, x2, x3, x4, x5, _x6, x7, x8, x9, x10 = x.T
    return (np.pi ** (x1 * x2) * np.sqrt(2 * x3) - np.arcsin(x4) + np.log(x3 + x5)
            - (x9 / x10) * np.sqrt(x7 / x8) - x2 * x7)


def _f3(x: np.ndarray) -> np.ndarray:
    x1, x2, x3, x4, x5, _x6, x7, x8, x9, x10 = x.T
    return (np.exp(np.abs(x1 - x2)) + np.abs(x2 * x3) - (x3**2) ** np.abs(x4)
            + np.log(x4**2 + x5**2 + x7**2 + x8**2) + x9 + 1 / (1 + x10**2))


def _f5(x: np.ndarray) -> np.ndarray:
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = x.T
    return 1 / (1 + x1**2 + x2**2 + x3**2) + np.sqrt(np.exp(x4 + x5)) + np.abs(x6 + x7) + x8 * x9 * x10


FUNCTIONS = {
    "F1": Synthetic(_sample_f1, _f1, ((0, 1, 2), (2, 4), (6, 7, 8, 9), (1, 6))),
    "F3": Synthetic(_uniform(-1.0, 1.0), _f3, ((0, 1), (1, 2), (2, 3), (3, 4, 6, 7))),
    "F5": Synthetic(_uniform(-1.0, 1.0), _f5, ((0, 1, 2), (3, 4), (5, 6), (7, 8, 9))),
}


class MLPM(nn.Module):
    """MLP-M: an interaction MLP plus one univariate net per input (main effects), summed."""

    def __init__(self, p: int, hidden: tuple[int, ...] = (64, 32, 16), uni_hidden: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        sizes = (p, *hidden)
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.interaction = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))
        # p univariate nets 1 -> uni_hidden -> 1, batched as tensors
        self.u_w1 = nn.Parameter(torch.randn(p, uni_hidden))
        self.u_b1 = nn.Parameter(torch.randn(p, uni_hidden) * 0.5)
        self.u_w2 = nn.Parameter(torch.randn(p, uni_hidden) / uni_hidden**0.5)

    def forward_main(self, x: torch.Tensor) -> torch.Tensor:
        """The sum of the univariate nets (main effects only)."""
        hidden = torch.relu(x[:, :, None] * self.u_w1 + self.u_b1)  # (n, p, uni_hidden)
        return (hidden * self.u_w2).sum((1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.interaction(x).squeeze(-1) + self.forward_main(x)

    def l1(self) -> torch.Tensor:
        """L1 norm of the interaction MLP's weights: sparse weights make NID's reading sharp."""
        return sum(m.weight.abs().sum() for m in self.interaction if isinstance(m, nn.Linear))


def train_mlp_m(
    x: np.ndarray, y: np.ndarray, *, epochs: int = 30, l1: float = 5e-5, lr: float = 3e-3,
    batch: int = 128, hidden: tuple[int, ...] = (64, 32, 16), main_epochs: int = 0, seed: int = 0,
) -> MLPM:
    """Train MLP-M on standardised inputs and target (affine maps do not change interactions).

    ``main_epochs`` first fit the univariate nets alone, so the interaction MLP starts from
    the residual instead of learning main effects it would then have to unlearn (faster).
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    yt = torch.as_tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    model = MLPM(x.shape[1], hidden)
    main_params = [model.u_w1, model.u_b1, model.u_w2]
    for stage_epochs, params, penalty in [(main_epochs, main_params, 0.0), (epochs, list(model.parameters()), l1)]:
        opt = torch.optim.Adam(params, lr=lr)
        for _ in range(stage_epochs):
            for idx in torch.randperm(len(xt), generator=g).split(batch):
                out = model(xt[idx]) if penalty else model.forward_main(xt[idx])
                loss = ((out - yt[idx]) ** 2).mean() + (penalty * model.l1() if penalty else 0.0)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model


def pair_labels(p: int, true_sets: tuple[tuple[int, ...], ...]) -> dict[tuple[int, int], bool]:
    """Every pair a < b, True when it lies inside one of the true sets."""
    return {(a, b): any(a in s and b in s for s in true_sets) for a, b in itertools.combinations(range(p), 2)}


def roc_auc(scores: list[float], labels: list[bool]) -> float:
    """Probability that a true pair outranks a false one (ties count half)."""
    pos = [s for s, t in zip(scores, labels) if t]
    neg = [s for s, t in zip(scores, labels) if not t]
    wins = sum((sp > sn) + 0.5 * (sp == sn) for sp in pos for sn in neg)
    return wins / (len(pos) * len(neg))


def pairwise_auc(model: MLPM, true_sets: tuple[tuple[int, ...], ...]) -> float:
    """ROC-AUC of pairwise NID strengths read from the interaction MLP only."""
    m = pairwise_matrix(model.interaction)
    labels = pair_labels(m.shape[0], true_sets)
    return roc_auc([float(m[a, b]) for a, b in labels], list(labels.values()))


def run(name: str, *, samples: int, epochs: int, seed: int, **train: float) -> dict[str, object]:
    """Train on one function and score NID; returns AUC, test R^2, top any-order sets, seconds."""
    fn = FUNCTIONS[name]
    rng = np.random.default_rng(seed)
    x = fn.sample(samples + 2000, rng)
    y = fn.f(x)
    t0 = time.perf_counter()
    model = train_mlp_m(x[:samples], y[:samples], epochs=epochs, seed=seed, **train)
    with torch.no_grad():
        xt = torch.as_tensor((x[samples:] - x[:samples].mean(0)) / x[:samples].std(0), dtype=torch.float32)
        yt = (y[samples:] - y[:samples].mean()) / y[:samples].std()
        r2 = 1 - float(((model(xt).numpy() - yt) ** 2).mean() / yt.var())
    auc = pairwise_auc(model, fn.true_sets)
    sets = [s.features for s in neuron_interactions(model.interaction, order=None)]
    inside = sum(any(set(s) <= set(t) for t in fn.true_sets) for s in sets)
    return {"auc": auc, "r2": r2, "sets": [tuple(j + 1 for j in s) for s in sets],
            "sets_inside_true": inside, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", nargs="+", default=list(FUNCTIONS))
    ap.add_argument("--samples", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--l1", type=float, default=5e-5)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest for these tiny nets")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"samples={args.samples} epochs={args.epochs} l1={args.l1} lr={args.lr} seeds={args.seeds}")
    print("| function | pairwise ROC-AUC per seed | mean | test R^2 (mean) "
          "| any-order sets inside a true set / kept (all seeds) | any-order sets, seed 0 (1-based) | s/run |")
    print("|---|---|---|---|---|---|---|")
    for name in args.functions:
        runs = [run(name, samples=args.samples, epochs=args.epochs, seed=s, l1=args.l1, lr=args.lr) for s in args.seeds]
        aucs = [r["auc"] for r in runs]
        print(f"| {name} | {' '.join(f'{a:.3f}' for a in aucs)} | {np.mean(aucs):.3f} | "
              f"{np.mean([r['r2'] for r in runs]):.3f} | "
              f"{sum(r['sets_inside_true'] for r in runs)} / {sum(len(r['sets']) for r in runs)} | "
              f"{' '.join('{' + ','.join(map(str, s)) + '}' for s in runs[0]['sets'])} | "
              f"{np.mean([r['seconds'] for r in runs]):.0f} |", flush=True)
    print("true sets: F1 {1,2,3} {3,5} {7,8,9,10} {2,7}; F3 {1,2} {2,3} {3,4} {4,5,7,8}; "
          "F5 {1,2,3} {4,5} {6,7} {8,9,10}")


if __name__ == "__main__":
    main()
