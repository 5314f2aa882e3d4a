"""Summit-style summaries of what a policy has learned (Hohman et al. 2019, DESIGN.md §9),
with the chosen action in place of the class: pure aggregation over activations.

Per frame and conv layer the network's channels are read three ways:

* **activation**: each channel's maximum over space (Summit), its location, and Summit's count
  rule (normalise the frame's maxima to sum 1, take channels from the strongest down until
  their mass reaches ``activation_mass`` = 0.03, count +1 for each);
* **influence** of channel i of layer l on channel j of layer l+1: the maximum over space of
  the one term of j's convolution that reads i, ``max_xy (X_i * K_ji)`` (no bias); Summit
  counts, per frame, the ``top_influences`` = 5 strongest inputs of each channel;
* **contribution** of each channel of the last conv layer to the chosen move:
  gradient x activation of ``f_a - mean_b f_b`` (logits or Q-values) summed over space. The
  mean is subtracted because adding a constant to every logit changes nothing the agent does;
* **relevance place** of every channel: the moments of its LRP-z+ relevance on the screen
  (``rlviz.assess.summary_relevance``);
* **fc1 groups** (when the net has a dense layer after the convs): fc1's units grouped by the
  move they push, read as activations, influence from the last conv layer, and contributions
  (``rlviz.assess.summary_dense``); the attribution graph then runs conv -> fc1 group -> move.

Everything is added per chosen action into running sums of fixed size
(:class:`SummaryAccumulator`); dataset examples are a bounded top-k per channel. Two
accumulators merge by summing, so a summary splits by episode and reduces in a fixed order
(``rlviz.assess.summary_run``); memory stays flat in the number of episodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlviz.assess.summary_dense import DenseGroups, DenseReadout, read_dense
from rlviz.assess.summary_relevance import relevance_moments
from rlviz.util.errors import RlvizError

SUMMIT_ACTIVATION_MASS = 0.03  # Summit's activation-matrices notebook, "prob mass" method
SUMMIT_TOP_INFLUENCES = 5  # Summit's influence.py: k = 5 strongest inputs per channel and frame


@dataclass(frozen=True)
class ConvGeometry:
    """Where a conv layer's grid cells look on the observation (no padding assumed)."""

    name: str
    channels: int
    grid: tuple[int, int]
    receptive_field: int  # side of the square window of the observation one cell sees
    jump: int  # observation pixels between neighbouring cells

    def box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in observation pixels of cell (y, x), end exclusive."""
        return (x * self.jump, y * self.jump, x * self.jump + self.receptive_field, y * self.jump + self.receptive_field)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Observation coordinates of the cell centres along y and x."""
        h, w = self.grid
        half = (self.receptive_field - 1) / 2.0
        return np.arange(h) * self.jump + half, np.arange(w) * self.jump + half


def conv_trunk(net: nn.Module) -> list[tuple[nn.Conv2d, nn.Module]]:
    """The (conv, the ReLU after it) pairs of ``net.features`` in forward order."""
    features = getattr(net, "features", None)
    if not isinstance(features, nn.Sequential):
        raise RlvizError("summaries need a network with a `features` nn.Sequential trunk (the Nature CNN layout)")
    mods = list(features)
    pairs = []
    for k, m in enumerate(mods):
        if isinstance(m, nn.Conv2d):
            if k + 1 >= len(mods) or not isinstance(mods[k + 1], nn.ReLU):
                raise RlvizError(f"conv layer {len(pairs) + 1} is not followed by a ReLU; summaries read post-ReLU activations")
            if m.padding not in ((0, 0), 0) or m.dilation not in ((1, 1), 1) or m.groups != 1:
                raise RlvizError("summaries support plain conv layers (no padding, dilation or groups)")
            pairs.append((m, mods[k + 1]))
    if not pairs:
        raise RlvizError("the network's trunk has no conv layers to summarise")
    return pairs


def conv_geometry(pairs: list[tuple[nn.Conv2d, nn.Module]], obs_shape: tuple[int, ...]) -> list[ConvGeometry]:
    """Receptive field and jump of each conv layer: rf_l = rf_{l-1} + (k-1) jump_{l-1}, jump_l = jump_{l-1} s."""
    rf, jump, (h, w) = 1, 1, obs_shape[-2:]
    out = []
    for n, (conv, _) in enumerate(pairs, start=1):
        k, s = conv.kernel_size[0], conv.stride[0]
        rf, jump = rf + (k - 1) * jump, jump * s
        h, w = (h - k) // s + 1, (w - k) // s + 1
        out.append(ConvGeometry(f"conv{n}", conv.out_channels, (h, w), rf, jump))
    return out


def influence_terms(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """[N, C_out, C_in]: max over space of the convolution of input channel i with kernel slice
    K_ji alone (Summit's influence; the bias belongs to no input and is left out)."""
    n, c_in = x.shape[:2]
    c_out = conv.out_channels
    # groups=c_in: group i convolves input channel i with the c_out kernels K[:, i]
    weight = conv.weight.detach().transpose(0, 1).reshape(c_in * c_out, 1, *conv.kernel_size)
    terms = F.conv2d(x, weight, stride=conv.stride, groups=c_in)  # [N, c_in * c_out, H, W]
    return terms.amax(dim=(2, 3)).reshape(n, c_in, c_out).transpose(1, 2)


def summit_activation_counts(maxima: torch.Tensor, mass: float = SUMMIT_ACTIVATION_MASS) -> torch.Tensor:
    """[N, C] 0/1: Summit's rule: channels taken from the strongest down while the mass of the
    ones taken before is below ``mass`` (maxima normalised to sum 1 per frame; none if all 0)."""
    total = maxima.sum(dim=1, keepdim=True)
    share = torch.where(total > 0, maxima / total.clamp_min(1e-30), torch.zeros_like(maxima))
    order = torch.argsort(-share, dim=1, stable=True)
    sorted_share = torch.gather(share, 1, order)
    before = torch.cumsum(sorted_share, dim=1) - sorted_share
    take_sorted = ((before < mass) & (total > 0)).to(maxima.dtype)
    return torch.zeros_like(maxima).scatter_(1, order, take_sorted)


@dataclass
class FrameReadout:
    """What the aggregation reads from one batch of frames (all float32 tensors on CPU)."""

    activations: list[torch.Tensor]  # per conv layer [N, C, H, W], after the ReLU
    influences: list[torch.Tensor]  # per consecutive pair (l, l+1): [N, C_{l+1}, C_l]
    contributions: torch.Tensor  # [N, C_last]: gradient x activation of f_a - mean f for the chosen a
    actions: torch.Tensor  # [N] int64, the chosen (greedy) actions
    relevance: list[torch.Tensor] | None = None  # per conv layer [N, C, 3]: sum y R, sum x R, sum R
    dense: DenseReadout | None = None  # fc1's groups, when the summary reads them
    dense_relevance: torch.Tensor | None = None  # [N, G, 3], as ``relevance`` for fc1's groups


def read_frames(forward, pairs: list[tuple[nn.Conv2d, nn.Module]], x: torch.Tensor,
                dense: tuple[nn.Linear, nn.Module, DenseGroups] | None = None) -> FrameReadout:
    """Run ``forward`` (float obs -> (logits, value)) once with hooks on the trunk's ReLUs (and
    fc1's, given ``dense`` = (fc1, its ReLU, groups)), one gradient for the contributions and one
    forward pass of LRP-z+ moments for the relevance places; hooks are removed afterwards and no parameter
    gradient is touched."""
    acts: list[torch.Tensor] = []
    hidden: list[torch.Tensor] = []
    handles = [relu.register_forward_hook(lambda _m, _i, out: acts.append(out)) for _, relu in pairs]
    if dense is not None:
        handles.append(dense[1].register_forward_hook(lambda _m, _i, out: hidden.append(out)))
    try:
        with torch.enable_grad():
            logits, _ = forward(x.detach())
            last = acts[-1]
            actions = logits.argmax(dim=-1)
            centred = logits - logits.mean(dim=-1, keepdim=True)
            target = centred.gather(1, actions[:, None]).sum()
            grads = torch.autograd.grad(target, [last, *hidden[:1]], allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    if len(acts) != len(pairs) or (dense is not None and len(hidden) != 1):
        raise RlvizError("a trunk ReLU ran more or fewer times than once per forward pass; summaries need a plain trunk")
    with torch.no_grad():
        acts = [a.detach() for a in acts]
        contributions = (grads[0] * acts[-1]).sum(dim=(2, 3))
        influences = [influence_terms(acts[k], pairs[k + 1][0]) for k in range(len(pairs) - 1)]
        dense_readout = dense_moments = None
        if dense is not None:
            h = hidden[0].detach()
            grad_h = torch.zeros_like(h) if grads[1] is None else grads[1].detach()
            onehot = dense[2].onehot().to(h.device)
            dense_readout = read_dense(acts[-1], h, grad_h, dense[0], onehot)
            moments, dense_moments = relevance_moments(pairs, x, acts, (dense[0], h, onehot))
        else:
            moments, _ = relevance_moments(pairs, x, acts)
    return FrameReadout(acts, influences, contributions.detach(), actions.detach(), moments, dense_readout, dense_moments)


@dataclass
class Example:
    """A dataset example: a frame where a channel fired strongly, and where."""

    activation: float
    episode: int
    step: int
    y: int  # grid cell of the channel's maximum
    x: int
    frame: np.ndarray  # uint8 (84, 84): the newest stacked frame of the observation

    def key(self) -> tuple:
        return (-self.activation, self.episode, self.step, self.y, self.x)


EXAMPLE_MIN_GAP = 10  # steps between two examples of one channel from the same episode
EXAMPLE_MIN_CHANGE = 2.0  # mean gray-level difference between two examples' windows


def _window(e: Example, g: ConvGeometry | None) -> np.ndarray:
    if g is None:
        return e.frame
    x0, y0, x1, y1 = g.box(e.y, e.x)
    return e.frame[y0:y1, x0:x1].astype(np.int16)


def _top_examples(examples: list[Example], k: int, min_gap: int = EXAMPLE_MIN_GAP,
                  geometry: ConvGeometry | None = None) -> list[Example]:
    """The k strongest, ties broken by (episode, step, place), skipping any within ``min_gap``
    steps of a stronger one of the same episode, and (given the layer's ``geometry``) any whose
    window shows what a stronger one's showed (mean difference under 2 gray levels: the same
    start screen of two games, say). Accumulators merge in a fixed (episode) order, so the
    result is reproducible; it is the top-k of distinct moments among the candidates kept."""
    kept: list[Example] = []
    for e in sorted(examples, key=Example.key):
        if any(e.episode == o.episode and abs(e.step - o.step) < min_gap for o in kept):
            continue
        if geometry is not None and any(
                (e.y, e.x) == (o.y, o.x) and float(np.abs(_window(e, geometry) - _window(o, geometry)).mean())
                < EXAMPLE_MIN_CHANGE for o in kept):
            continue
        kept.append(e)
        if len(kept) == k:
            break
    return kept


@dataclass
class SummaryAccumulator:
    """Running sums per chosen action (float64, fixed size) plus bounded dataset examples."""

    n_actions: int
    layers: list[ConvGeometry]
    examples_per_channel: int = 4
    activation_mass: float = SUMMIT_ACTIVATION_MASS
    top_influences: int = SUMMIT_TOP_INFLUENCES
    dense: DenseGroups | None = None  # fc1's unit groups, or None to stop at the conv layers
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    examples: list[list[list[Example]]] = field(default_factory=list)  # [layer][channel] -> top-k

    def __post_init__(self) -> None:
        if self.sums:
            return
        a = self.n_actions
        self.sums["frames"] = np.zeros(a)
        for g in self.layers:
            c = g.channels
            self.sums[f"{g.name}.act_sum"] = np.zeros((a, c))
            self.sums[f"{g.name}.act_sq_sum"] = np.zeros((a, c))
            self.sums[f"{g.name}.summit_count"] = np.zeros((a, c))
            self.sums[f"{g.name}.where_sum"] = np.zeros((a, c, 3))  # sum of A*y, A*x, A (obs pixels)
            self.sums[f"{g.name}.peak_regions"] = np.zeros((a, c, 9))  # spatial max, by screen third of its place
            self.sums[f"{g.name}.relevance_where_sum"] = np.zeros((a, c, 3))  # sum of R*y, R*x, R (LRP-z+ on the input)
        for lo, hi in zip(self.layers, self.layers[1:]):
            self.sums[f"{lo.name}->{hi.name}.influence_sum"] = np.zeros((a, hi.channels, lo.channels))
            self.sums[f"{lo.name}->{hi.name}.topk_count"] = np.zeros((a, hi.channels, lo.channels))
        self.sums[f"{self.layers[-1].name}.contribution_sum"] = np.zeros((a, self.layers[-1].channels))
        if self.dense is not None:
            d, g, c = self.dense.name, self.dense.n_groups, self.layers[-1].channels
            for key in ("act_sum", "act_sq_sum", "summit_count", "contribution_sum"):
                self.sums[f"{d}.{key}"] = np.zeros((a, g))
            self.sums[f"{d}.relevance_where_sum"] = np.zeros((a, g, 3))
            for key in ("influence_sum", "topk_count", "path_sum"):
                self.sums[f"{self.layers[-1].name}->{d}.{key}"] = np.zeros((a, g, c))
        self.examples = [[[] for _ in range(g.channels)] for g in self.layers]

    # -- adding frames -------------------------------------------------------------------------
    def add(self, readout: FrameReadout, obs: np.ndarray, episode: int, steps: np.ndarray) -> None:
        """Add one batch: ``obs`` uint8 [N, C, 84, 84] as the agent saw them, ``steps`` [N]."""
        actions = readout.actions.to(torch.int64)
        a = self.n_actions

        def per_action(values: torch.Tensor) -> np.ndarray:
            out = torch.zeros((a, *values.shape[1:]), dtype=torch.float64)
            return out.index_add_(0, actions, values.to(torch.float64)).numpy()

        self.sums["frames"] += np.bincount(actions.numpy(), minlength=a).astype(np.float64)
        for g, act, lists in zip(self.layers, readout.activations, self.examples):
            maxima = act.amax(dim=(2, 3))
            self.sums[f"{g.name}.act_sum"] += per_action(maxima)
            self.sums[f"{g.name}.act_sq_sum"] += per_action(maxima.double() ** 2)
            self.sums[f"{g.name}.summit_count"] += per_action(summit_activation_counts(maxima, self.activation_mass))
            cy, cx = (torch.from_numpy(v) for v in g.centres())
            mass = act.double().sum(dim=(2, 3))
            wy = (act.double().sum(dim=3) * cy).sum(dim=2)
            wx = (act.double().sum(dim=2) * cx).sum(dim=2)
            self.sums[f"{g.name}.where_sum"] += per_action(torch.stack([wy, wx, mass], dim=-1))
            self.sums[f"{g.name}.peak_regions"] += per_action(self._peak_regions(g, act, maxima))
            self._add_examples(g, act, maxima, lists, obs, episode, steps)
        for lo, hi, infl in zip(self.layers, self.layers[1:], readout.influences):
            self.sums[f"{lo.name}->{hi.name}.influence_sum"] += per_action(infl)
            self.sums[f"{lo.name}->{hi.name}.topk_count"] += per_action(self._top_inputs(infl))
        self.sums[f"{self.layers[-1].name}.contribution_sum"] += per_action(readout.contributions)
        if readout.relevance is not None:
            for g, moments in zip(self.layers, readout.relevance):
                self.sums[f"{g.name}.relevance_where_sum"] += per_action(moments)
        if self.dense is not None:
            if readout.dense is None:
                raise RlvizError("this summary reads fc1's groups but the frames were read without them")
            d, r, last = self.dense.name, readout.dense, self.layers[-1].name
            self.sums[f"{d}.act_sum"] += per_action(r.activations)
            self.sums[f"{d}.act_sq_sum"] += per_action(r.activations.double() ** 2)
            self.sums[f"{d}.summit_count"] += per_action(summit_activation_counts(r.activations, self.activation_mass))
            self.sums[f"{d}.contribution_sum"] += per_action(r.contributions)
            self.sums[f"{last}->{d}.influence_sum"] += per_action(r.influences)
            self.sums[f"{last}->{d}.topk_count"] += per_action(self._top_inputs(r.influences))
            self.sums[f"{last}->{d}.path_sum"] += per_action(r.paths)
            if readout.dense_relevance is not None:
                self.sums[f"{d}.relevance_where_sum"] += per_action(readout.dense_relevance)

    def _top_inputs(self, infl: torch.Tensor) -> torch.Tensor:
        """[N, C_out, C_in] 0/1: Summit's ``top_influences`` strongest inputs of each output."""
        k = min(self.top_influences, infl.shape[2])
        top = torch.topk(infl, k, dim=2).indices
        return torch.zeros_like(infl).scatter_(2, top, 1.0)

    @staticmethod
    def _peak_regions(g: ConvGeometry, act: torch.Tensor, maxima: torch.Tensor) -> torch.Tensor:
        """[N, C, 9]: each channel's spatial max put into the screen thirds (3 x 3) where it lies,
        shared equally among the cells within 10% of the max (a wall or a bar fires along its
        whole length; taking the first argmax would always place it at the left)."""
        cy, cx = (torch.from_numpy(v) for v in g.centres())
        side = 3.0 / (g.jump * (g.grid[0] - 1) + g.receptive_field)  # thirds of the observation
        ry, rx = (cy * side).long().clamp(0, 2), (cx * side).long().clamp(0, 2)
        region = (ry[:, None] * 3 + rx[None, :]).flatten()  # [H*W] screen third of each cell
        onehot = F.one_hot(region, 9).double()  # [H*W, 9]
        near = (act.flatten(2) >= 0.9 * maxima[..., None]) & (maxima[..., None] > 0)
        share = near.double() / near.sum(-1, keepdim=True).clamp_min(1)
        return (share @ onehot) * maxima.double()[..., None]

    def _add_examples(self, g: ConvGeometry, act: torch.Tensor, maxima: torch.Tensor, lists: list[list[Example]],
                      obs: np.ndarray, episode: int, steps: np.ndarray) -> None:
        k = min(self.examples_per_channel, maxima.shape[0])
        if k == 0:
            return
        best = torch.topk(maxima, k, dim=0).indices.T  # [C, k] frame indices
        flat = act.flatten(2).argmax(dim=2)  # [N, C] place of each channel's maximum
        w = g.grid[1]
        for c, frames in enumerate(best.tolist()):
            bound = lists[c][-1].activation if len(lists[c]) >= self.examples_per_channel else -np.inf
            fresh = [
                Example(float(maxima[i, c]), int(episode), int(steps[i]), int(flat[i, c]) // w, int(flat[i, c]) % w,
                        np.ascontiguousarray(obs[i, -1]))
                for i in frames if float(maxima[i, c]) >= bound
            ]
            if fresh:
                lists[c] = _top_examples(lists[c] + fresh, self.examples_per_channel, geometry=g)

    # -- reducing ------------------------------------------------------------------------------
    def merge(self, other: SummaryAccumulator) -> SummaryAccumulator:
        """Add ``other`` into this one (sums add; examples keep the top-k of both)."""
        if (other.n_actions != self.n_actions or [g.name for g in other.layers] != [g.name for g in self.layers]
                or other.dense != self.dense):
            raise RlvizError("cannot merge summaries of different networks")
        for key, value in other.sums.items():
            self.sums[key] += value
        for g, mine, theirs in zip(self.layers, self.examples, other.examples):
            for c in range(len(mine)):
                mine[c] = _top_examples(mine[c] + theirs[c], self.examples_per_channel, geometry=g)
        return self

    def nbytes(self) -> int:
        """Bytes held by the sums and examples (constant in the number of frames once examples fill)."""
        return sum(v.nbytes for v in self.sums.values()) + sum(
            e.frame.nbytes for layer in self.examples for lst in layer for e in lst)

    # -- reading -------------------------------------------------------------------------------
    def frames(self) -> np.ndarray:
        return self.sums["frames"].copy()

    def mean_activation(self, layer: str) -> np.ndarray:
        """[A, C]: mean over the frames where each action was chosen of the channel's spatial max."""
        return self.sums[f"{layer}.act_sum"] / np.maximum(self.sums["frames"], 1)[:, None]

    def selectivity(self, layer: str) -> np.ndarray:
        """[A, C]: (mean when a was chosen - mean over all frames) / std over all frames: how much
        more (or less) than usual a channel fires when the agent makes this move (0 where it never varies)."""
        n = self.sums["frames"].sum()
        s, sq = self.sums[f"{layer}.act_sum"], self.sums[f"{layer}.act_sq_sum"]
        mean_all = s.sum(0) / max(n, 1)
        var_all = np.maximum(sq.sum(0) / max(n, 1) - mean_all**2, 0.0)
        std = np.sqrt(var_all)
        diff = self.mean_activation(layer) - mean_all[None]
        out = np.where(std[None] > 1e-8 * max(float(np.abs(mean_all).max()), 1e-30), diff / np.where(std > 0, std, 1)[None], 0.0)
        return np.where(self.sums["frames"][:, None] > 0, out, 0.0)

    def summit_frequency(self, layer: str) -> np.ndarray:
        """[A, C]: share of the frames with action a on which Summit's rule counted the channel."""
        return self.sums[f"{layer}.summit_count"] / np.maximum(self.sums["frames"], 1)[:, None]

    def peak_regions(self, layer: str) -> np.ndarray:
        """[A, C, 9]: share of the channel's spatial maxima (weighted by their size) that lay in each
        third of the screen (row-major: top left, top centre, ..., bottom right)."""
        h = self.sums[f"{layer}.peak_regions"]
        return h / np.maximum(h.sum(-1, keepdims=True), 1e-30)

    def where(self, layer: str) -> np.ndarray:
        """[A, C, 2]: activation-weighted mean (y, x) in observation pixels where the channel fires."""
        w = self.sums[f"{layer}.where_sum"]
        return w[..., :2] / np.maximum(w[..., 2:3], 1e-30)

    def mean_influence(self, lo: str, hi: str) -> np.ndarray:
        """[A, C_hi, C_lo]: mean over frames with action a of max_xy (X_i * K_ji)."""
        return self.sums[f"{lo}->{hi}.influence_sum"] / np.maximum(self.sums["frames"], 1)[:, None, None]

    def influence_frequency(self, lo: str, hi: str) -> np.ndarray:
        """[A, C_hi, C_lo]: share of frames with action a on which i was among j's top inputs (Summit)."""
        return self.sums[f"{lo}->{hi}.topk_count"] / np.maximum(self.sums["frames"], 1)[:, None, None]

    def mean_contribution(self, layer: str | None = None) -> np.ndarray:
        """[A, C]: mean gradient x activation of f_a - mean f over the frames with action a, of the
        last conv layer's channels (default) or of fc1's groups (``layer`` = the dense layer's name)."""
        layer = self.layers[-1].name if layer is None else layer
        return self.sums[f"{layer}.contribution_sum"] / np.maximum(self.sums["frames"], 1)[:, None]

    def mean_path(self) -> np.ndarray:
        """[A, G, C_last]: mean push of last-layer channel i towards move a through fc1 group G
        (summed over G it is ``mean_contribution()``)."""
        d = self.dense.name
        return self.sums[f"{self.layers[-1].name}->{d}.path_sum"] / np.maximum(self.sums["frames"], 1)[:, None, None]

    def relevance_where(self, layer: str, action: int | None = None) -> np.ndarray:
        """[C, 2] (y, x): where on the screen (observation pixels) each channel's relevance
        lies on the frames with ``action`` (all frames if None): the relevance-weighted mean
        place (LRP-z+ from its activation, ``rlviz.assess.summary_relevance``); NaN where the channel
        never fired there."""
        w = self.sums[f"{layer}.relevance_where_sum"]
        w = w.sum(0) if action is None else w[action]
        mass = w[:, 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            place = np.where(mass > 0, w[:, :2] / np.where(mass > 0, mass, 1), np.nan)
        h, wd = self.screen
        off = (place[:, 0] < 0) | (place[:, 0] > h - 1) | (place[:, 1] < 0) | (place[:, 1] > wd - 1)
        place[off] = np.nan
        return place

    @property
    def screen(self) -> tuple[int, int]:
        """(height, width) of the part of the observation the first layer's windows cover: the
        whole observation unless the stride skips its last rows or columns (84 x 84 for the Nature
        CNN). Relevance places lie inside it, so it bounds them."""
        g = self.layers[0]
        side = lambda n: g.jump * (n - 1) + g.receptive_field
        return side(g.grid[0]), side(g.grid[1])


@dataclass(frozen=True)
class GraphVertex:
    layer: str
    channel: int
    score: float  # contribution (last layer) or summed influence frequency into the layer above


@dataclass(frozen=True)
class GraphEdge:
    source: tuple[str, int]
    target: tuple[str, int] | str  # ("conv3", 12) or "action"
    weight: float  # mean contribution (into the action), share of frames as a top input (Summit), or
    #                mean push through an fc1 group (conv -> fc1)
    strength: float  # mean contribution (into the action) or mean influence (max_xy (X_i * K_ji); into fc1:
    #                  sum over the group's active units of t_ui)
    frequency: float | None = None  # conv -> fc1 only: share of frames as one of the group's top inputs


def attribution_graph(acc: SummaryAccumulator, action: int, per_layer: int = 3, edges_per_vertex: int = 2
                      ) -> tuple[list[GraphVertex], list[GraphEdge]]:
    """The attribution graph of one action, built from the action down: the last conv layer's
    ``per_layer`` channels with the largest mean contribution, then in each layer below the
    channels that were most often among the top inputs (Summit's count) of the ones chosen
    above; edges keep each vertex's ``edges_per_vertex`` strongest inputs among the chosen."""
    names = [g.name for g in acc.layers]
    contrib = acc.mean_contribution()[action]
    order = np.argsort(-contrib, kind="stable")[:per_layer]
    vertices = [GraphVertex(names[-1], int(c), float(contrib[c])) for c in order]
    edges = [GraphEdge((names[-1], int(c)), "action", float(contrib[c]), float(contrib[c])) for c in order]
    above = [int(c) for c in order]
    for lo, hi in zip(names[-2::-1], names[:0:-1]):
        freq = acc.influence_frequency(lo, hi)[action]  # [C_hi, C_lo]
        influence = acc.mean_influence(lo, hi)[action]  # [C_hi, C_lo]
        strength = influence[above].sum(0)
        score = freq[above].sum(0)
        chosen = [int(c) for c in np.lexsort((np.arange(len(score)), -strength, -score))[:per_layer]]
        vertices += [GraphVertex(lo, c, float(score[c])) for c in chosen]
        for j in above:
            ranked = sorted(chosen, key=lambda i: (-freq[j, i], -strength[i], i))[:edges_per_vertex]
            edges += [GraphEdge((lo, i), (hi, j), float(freq[j, i]), float(influence[j, i]))
                      for i in ranked if freq[j, i] > 0]
        above = chosen
    return vertices, edges


def fc1_graph(acc: SummaryAccumulator, action: int, conv_top: list[int], per_layer: int = 3,
              edges_per_vertex: int = 2) -> tuple[list[GraphVertex], list[GraphEdge]]:
    """The end of the attribution graph through fc1: the ``per_layer`` groups of fc1 units with
    the largest mean contribution to the move, those that push it (at least the strongest one;
    vertex score, also the group -> action edge), and
    from each last-layer channel in ``conv_top`` edges to the ``edges_per_vertex`` chosen groups
    through which it pushes the move hardest (weight: its mean push through the group, positive
    ones only; strength: its mean influence on the group; frequency: Summit's top-input count)."""
    if acc.dense is None:
        raise RlvizError("this summary has no fc1 groups (the network has no dense layer after its convs)")
    d, last = acc.dense.name, acc.layers[-1].name
    contrib = acc.mean_contribution(d)[action]
    ranked = [int(g) for g in np.argsort(-contrib, kind="stable")[:per_layer]]
    chosen = [g for g in ranked if contrib[g] > 0] or ranked[:1]  # groups that push the move (at least one)
    vertices = [GraphVertex(d, g, float(contrib[g])) for g in chosen]
    path = acc.mean_path()[action]  # [G, C]
    influence = acc.sums[f"{last}->{d}.influence_sum"][action] / max(acc.sums["frames"][action], 1)
    freq = acc.sums[f"{last}->{d}.topk_count"][action] / max(acc.sums["frames"][action], 1)
    edges = []
    for i in conv_top:
        ranked = sorted(chosen, key=lambda g: (-path[g, i], g))[:edges_per_vertex]
        edges += [GraphEdge((last, i), (d, g), float(path[g, i]), float(influence[g, i]), float(freq[g, i]))
                  for g in ranked if path[g, i] > 0]
    edges += [GraphEdge((d, g), "action", float(contrib[g]), float(contrib[g])) for g in chosen]
    return vertices, edges
