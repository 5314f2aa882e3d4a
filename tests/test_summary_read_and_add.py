"""The summary's reading of frames (read_frames) and its running sums (SummaryAccumulator.add)
on a three-layer trunk with fc1, each checked against an oracle built from its parts: the
trunk's activations recomputed with nn.Sequential slices, influence_terms and
relevance_moments called directly, and per-action sums written as plain loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.assess.summary import (
    SUMMIT_ACTIVATION_MASS,
    FrameReadout,
    SummaryAccumulator,
    conv_geometry,
    conv_trunk,
    influence_terms,
    read_frames,
    summit_activation_counts,
)
from rlviz.assess.summary_dense import DenseGroups
from rlviz.assess.summary_relevance import relevance_moments

OBS = (1, 11, 11)
GROUPS = DenseGroups("fc1", (0, 1, 0, 1, 1), ("a", "b"))


def _net():
    """conv 3x3/2 -> conv 2x2 -> conv 2x2 -> fc1 (5 units) -> 3 moves, biases > 0 so units fire."""
    torch.manual_seed(4)
    net = nn.Module()
    net.features = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Conv2d(3, 2, 2), nn.ReLU(),
        nn.Flatten(), nn.Linear(2 * 3 * 3, 5), nn.ReLU(),
    )
    head = nn.Linear(5, 3)
    with torch.no_grad():
        for m in net.features:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.fill_(0.1)
        head.bias.zero_()
        head.weight.mul_(10.0)

    def forward(x: torch.Tensor):
        return head(net.features(x)), None

    return net, forward


def _frames(n: int, seed: int) -> torch.Tensor:
    """Frames lit in one random corner each, so that the net's greedy move varies between them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros((n, *OBS))
    for i in range(n):
        y0, x0 = (int(v) for v in torch.randint(0, 6, (2,), generator=g))
        x[i, :, y0 : y0 + 6, x0 : x0 + 6] = torch.rand((OBS[0], 6, 6), generator=g)
    return x


def test_read_frames_gives_each_layer_pairs_influence_and_the_relevance_moments_of_its_own_pass() -> None:
    net, forward = _net()
    pairs = conv_trunk(net)
    linear, relu = net.features[7], net.features[8]
    x = _frames(4, seed=0)
    r = read_frames(forward, pairs, x, (linear, relu, GROUPS))
    with torch.no_grad():
        acts = [net.features[:2](x), net.features[:4](x), net.features[:6](x)]
        hidden = net.features(x)
    assert len(r.activations) == 3 and len(r.influences) == 2
    for got, want in zip(r.activations, acts):
        torch.testing.assert_close(got, want)
    for k in range(2):  # conv k's channels into conv k+1
        torch.testing.assert_close(r.influences[k], influence_terms(acts[k], pairs[k + 1][0]))
    moments, group_moments = relevance_moments(pairs, x, acts, (linear, hidden, GROUPS.onehot()))
    assert r.relevance is not None and len(r.relevance) == 3
    for got, want in zip(r.relevance, moments):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(r.dense_relevance, group_moments)
    assert float(group_moments[..., 2].sum()) > 0  # not a comparison of zeros

    plain = read_frames(forward, pairs, x)  # without fc1's groups: no dense readings at all
    assert plain.dense is None and plain.dense_relevance is None
    for got, want in zip(plain.relevance, relevance_moments(pairs, x, acts)[0]):
        torch.testing.assert_close(got, want)


def _sum_per_action(values: torch.Tensor, actions: torch.Tensor, n_actions: int) -> np.ndarray:
    out = np.zeros((n_actions, *values.shape[1:]))
    for v, a in zip(values.double().numpy(), actions.tolist()):
        out[a] += v
    return out


def test_add_sums_every_reading_per_chosen_move_with_the_accumulators_activation_mass() -> None:
    net, forward = _net()
    pairs = conv_trunk(net)
    layers = conv_geometry(pairs, OBS)
    mass = 0.8  # not Summit's default, so a count taken with the default would differ
    acc = SummaryAccumulator(3, layers, dense=GROUPS, activation_mass=mass)
    readouts = [read_frames(forward, pairs, _frames(n, seed), (net.features[7], net.features[8], GROUPS))
                for n, seed in ((3, 1), (4, 2))]
    for i, r in enumerate(readouts):
        acc.add(r, np.zeros((r.actions.shape[0], *OBS), np.uint8), i, np.arange(r.actions.shape[0]) * 20)
    actions = torch.cat([r.actions for r in readouts])
    assert len(set(actions.tolist())) >= 2  # several moves, so sums per move are tested

    def total(read) -> np.ndarray:
        return _sum_per_action(torch.cat([read(r) for r in readouts]), actions, 3)

    np.testing.assert_allclose(acc.frames(), np.bincount(actions.numpy(), minlength=3))
    counted_with_default = False
    for k, g in enumerate(layers):
        maxima = lambda r, k=k: r.activations[k].amax(dim=(2, 3))  # noqa: E731
        np.testing.assert_allclose(acc.sums[f"{g.name}.act_sum"], total(maxima), rtol=1e-12)
        np.testing.assert_allclose(acc.sums[f"{g.name}.act_sq_sum"], total(lambda r: maxima(r).double() ** 2), rtol=1e-12)
        counts = total(lambda r: summit_activation_counts(maxima(r), mass))
        np.testing.assert_array_equal(acc.sums[f"{g.name}.summit_count"], counts)
        counted_with_default |= not np.array_equal(counts, total(lambda r: summit_activation_counts(maxima(r))))
        np.testing.assert_allclose(acc.sums[f"{g.name}.relevance_where_sum"], total(lambda r, k=k: r.relevance[k]), rtol=1e-12)
    last = layers[-1].name
    np.testing.assert_allclose(acc.sums[f"{last}.contribution_sum"], total(lambda r: r.contributions), rtol=1e-12)
    d = GROUPS.name
    np.testing.assert_allclose(acc.sums[f"{d}.act_sum"], total(lambda r: r.dense.activations), rtol=1e-12)
    np.testing.assert_allclose(acc.sums[f"{d}.act_sq_sum"], total(lambda r: r.dense.activations.double() ** 2), rtol=1e-12)
    dense_counts = total(lambda r: summit_activation_counts(r.dense.activations, mass))
    np.testing.assert_array_equal(acc.sums[f"{d}.summit_count"], dense_counts)
    counted_with_default |= not np.array_equal(dense_counts, total(lambda r: summit_activation_counts(r.dense.activations)))
    assert counted_with_default and SUMMIT_ACTIVATION_MASS != mass
    np.testing.assert_allclose(acc.sums[f"{d}.contribution_sum"], total(lambda r: r.dense.contributions), rtol=1e-12)
    np.testing.assert_allclose(acc.sums[f"{last}->{d}.influence_sum"], total(lambda r: r.dense.influences), rtol=1e-12)
    np.testing.assert_allclose(acc.sums[f"{d}.relevance_where_sum"], total(lambda r: r.dense_relevance), rtol=1e-12)
    # every sum that should have grown did: none is left at zero or pushed negative
    for key in ("act_sum", "act_sq_sum", "contribution_sum", "relevance_where_sum"):
        assert np.abs(acc.sums[f"{d}.{key}"]).sum() > 0


def _one_layer(channels: int = 3):
    """A 1x1 convolution over a 6x6 screen: its cells are the screen's pixels, two to a third."""
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, channels, 1), nn.ReLU())
    return conv_geometry(conv_trunk(net), (1, 6, 6))


def test_a_peak_goes_to_its_third_and_near_peaks_share_it_equally() -> None:
    (g,) = _one_layer()
    act = torch.zeros(1, 3, 6, 6)
    act[0, 0] = 1.0
    act[0, 0, 0, 5] = 5.0  # channel 0: one peak, top right (the rest is below 90% of it)
    act[0, 1, 5, 0] = 4.0  # channel 1: a peak bottom left and one at exactly 90% of it in the centre
    act[0, 1, 2, 2] = 3.6
    # channel 2 never fires
    regions = SummaryAccumulator._peak_regions(g, act, act.amax(dim=(2, 3)))
    want = np.zeros((1, 3, 9))
    want[0, 0, 2] = 5.0
    want[0, 1, 4] = want[0, 1, 6] = 2.0
    np.testing.assert_allclose(regions.numpy(), want, rtol=1e-6)
    net = nn.Module()  # a 2x2 screen has cells in four thirds only: still nine columns, in place
    net.features = nn.Sequential(nn.Conv2d(1, 1, 1), nn.ReLU())
    (small,) = conv_geometry(conv_trunk(net), (1, 2, 2))
    act = torch.tensor([[[[0.0, 0.0], [0.0, 2.0]]]])
    got = SummaryAccumulator._peak_regions(small, act, act.amax(dim=(2, 3)))
    assert got.shape == (1, 1, 9) and got[0, 0].tolist() == [0, 0, 0, 0, 2.0, 0, 0, 0, 0]  # bottom-right cell: centre third


def test_nbytes_counts_the_sums_and_each_kept_examples_frame() -> None:
    (g,) = _one_layer(channels=2)
    acc = SummaryAccumulator(2, [g], examples_per_channel=2)
    act = torch.rand((3, 2, 6, 6), generator=torch.Generator().manual_seed(5))
    readout = FrameReadout([act], [], torch.zeros(3, 2), torch.tensor([0, 1, 1]))
    obs = np.random.default_rng(0).integers(0, 256, (3, 1, 6, 6), dtype=np.uint8)
    acc.add(readout, obs, 0, np.array([0, 20, 40]))
    kept = sum(len(lst) for lst in acc.examples[0])
    assert kept == 4
    assert acc.nbytes() == sum(v.nbytes for v in acc.sums.values()) + kept * 6 * 6


@pytest.mark.parametrize("reader", ["mean_influence", "influence_frequency"])
def test_a_move_chosen_once_reads_its_one_frame_undivided(reader: str) -> None:
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.Conv2d(2, 2, 1), nn.ReLU())
    acc = SummaryAccumulator(2, conv_geometry(conv_trunk(net), (1, 4, 4)), top_influences=1)
    key = "conv1->conv2." + ("influence_sum" if reader == "mean_influence" else "topk_count")
    acc.sums["frames"][:] = [1, 4]
    acc.sums[key][0] = [[2.0, 0.0], [0.0, 1.0]]
    acc.sums[key][1] = [[4.0, 0.0], [0.0, 2.0]]
    got = getattr(acc, reader)("conv1", "conv2")
    np.testing.assert_allclose(got, [[[2.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 0.5]]])
