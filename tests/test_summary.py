"""Summit-style aggregation (rlviz.assess.summary) against hand-computed values on tiny nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.assess.summary import (
    FrameReadout,
    SummaryAccumulator,
    attribution_graph,
    conv_geometry,
    conv_trunk,
    influence_terms,
    read_frames,
    summit_activation_counts,
)
from rlviz.assess.summary_dense import DenseGroups, DenseReadout


def test_influence_is_max_over_space_of_one_input_channels_convolution_by_hand():
    conv = nn.Conv2d(2, 1, kernel_size=2, bias=True)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, -1.0], [1.0, 0.0]]]]))
        conv.bias.fill_(5.0)  # belongs to no input channel: must not appear
    x = torch.tensor([[[[1.0, 0, 0], [0, 2, 0], [0, 0, 0]], [[0, 1.0, 0], [0, 0, 0], [0, 0, 3]]]])
    # channel 0 with K00: cells 1+2=3, 0, 0, 2 -> max 3; channel 1 with K01: -1, 0, 0, 0 -> max 0
    assert influence_terms(x, conv).tolist() == [[[3.0, 0.0]]]


def test_influence_matches_a_loop_oracle_with_stride():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel_size=3, stride=2)
    x = torch.rand(2, 3, 9, 9)
    got = influence_terms(x, conv)
    w = conv.weight.detach()
    for n in range(2):
        for j in range(4):
            for i in range(3):
                best = max(float((x[n, i, 2 * y:2 * y + 3, 2 * c:2 * c + 3] * w[j, i]).sum())
                           for y in range(4) for c in range(4))
                assert got[n, j, i].item() == pytest.approx(best, abs=1e-5)


def test_summit_activation_count_takes_channels_until_the_mass_is_reached():
    maxima = torch.tensor([[0.2, 0.5, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert summit_activation_counts(maxima, 0.03).tolist() == [[0, 1, 0, 0], [0, 0, 0, 0]]
    # mass 0.6: channel 1 (0 before it), channel 2 (0.5 before it < 0.6), not channel 0 (0.8 before)
    assert summit_activation_counts(maxima, 0.6).tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]


def _tiny_layers():
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, 2, 2, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU())
    return net, conv_geometry(conv_trunk(net), (1, 8, 8))


def _readout(acts1, acts2, actions, contributions=None):
    pairs = conv_trunk(_tiny_layers()[0])
    infl = influence_terms(acts1, pairs[1][0])
    n = len(actions)
    contrib = torch.zeros(n, 3) if contributions is None else contributions
    return FrameReadout([acts1, acts2], [infl], contrib, torch.tensor(actions))


def test_geometry_of_the_nature_cnn():
    from rlviz.agents.networks import NatureActorCritic

    geo = conv_geometry(conv_trunk(NatureActorCritic(6)), (4, 84, 84))
    assert [(g.grid, g.receptive_field, g.jump) for g in geo] == [((20, 20), 8, 4), ((9, 9), 20, 8), ((7, 7), 36, 8)]


def test_activation_aggregation_per_action_by_hand():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers, examples_per_channel=2)
    a1 = torch.zeros(3, 2, 4, 4)
    a1[0, 0, 1, 2] = 4.0  # frame 0 (action 0): channel 0 max 4 at cell (1, 2)
    a1[1, 0, 0, 0] = 1.0  # frame 1 (action 1): channel 0 max 1
    a1[2, 0, 3, 3] = 2.0  # frame 2 (action 0): channel 0 max 2
    a1[:, 1] = 1.0  # channel 1 fires 1 everywhere on every frame
    a2 = torch.zeros(3, 3, 3, 3)
    obs = np.arange(3 * 1 * 8 * 8, dtype=np.uint8).reshape(3, 1, 8, 8)
    acc.add(_readout(a1, a2, [0, 1, 0]), obs, episode=7, steps=np.array([10, 11, 30]))
    assert acc.frames().tolist() == [2, 1]
    assert acc.mean_activation("conv1").tolist() == [[3.0, 1.0], [1.0, 1.0]]  # (4 + 2) / 2
    # channel 0 over all frames: mean 7/3, std sqrt(21/3 - 49/9) = sqrt(14/9); channel 1 never varies
    std = np.sqrt(14 / 9)
    np.testing.assert_allclose(acc.selectivity("conv1"), [[(3 - 7 / 3) / std, 0], [(1 - 7 / 3) / std, 0]], atol=1e-12)
    # Summit's count: channel 0 is the strongest on frames 0 and 2 (4 > 1, 2 > 1); on frame 1 the tie goes to channel 0
    assert acc.summit_frequency("conv1").tolist() == [[1.0, 0.0], [1.0, 0.0]]
    # where channel 0 fires with action 0: cells (1,2) weight 4 and (3,3) weight 2; centres y*2+0.5
    np.testing.assert_allclose(acc.where("conv1")[0, 0], [(4 * 2.5 + 2 * 6.5) / 6, (4 * 4.5 + 2 * 6.5) / 6])
    best = acc.examples[0][0]
    assert [(e.activation, e.episode, e.step, e.y, e.x) for e in best] == [(4.0, 7, 10, 1, 2), (2.0, 7, 30, 3, 3)]
    # the peaks by screen third: (1,2) -> centre (2.5, 4.5) of an 8 px screen -> top centre; (3,3) -> bottom right
    np.testing.assert_allclose(acc.peak_regions("conv1")[0, 0], [0, 4 / 6, 0, 0, 0, 0, 0, 0, 2 / 6])
    # channel 1 is flat: its peak is shared by all 16 cells; rows/cols 0,1 -> third 0, 2 -> 1, 3 -> 2
    np.testing.assert_allclose(acc.peak_regions("conv1")[1, 1], np.outer([0.5, 0.25, 0.25], [0.5, 0.25, 0.25]).ravel())
    assert np.array_equal(best[0].frame, obs[0, -1])


def test_influence_aggregation_per_action_by_hand():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers, top_influences=1)
    pairs = conv_trunk(_tiny_layers()[0])
    conv2 = pairs[1][0]
    with torch.no_grad():
        conv2.weight.zero_()
        conv2.weight[0, 0] = 1.0  # conv2 channel 0 reads conv1 channel 0 with an all-ones 2x2 kernel
        conv2.weight[0, 1] = 0.5
    a1 = torch.zeros(2, 2, 4, 4)
    a1[0, 0, :2, :2] = 1.0  # frame 0: a 2x2 block of ones -> term max 4; channel 1 zero
    a1[1, 1] = 2.0  # frame 1: channel 1 is 2 everywhere -> term max 2*0.5*4 = 4; channel 0 zero
    infl = influence_terms(a1, conv2)
    acc.add(FrameReadout([a1, torch.zeros(2, 3, 3, 3)], [infl], torch.zeros(2, 3), torch.tensor([1, 1])),
            np.zeros((2, 1, 8, 8), np.uint8), 0, np.arange(2))
    assert acc.mean_influence("conv1", "conv2")[1, 0].tolist() == [2.0, 2.0]  # (4 + 0) / 2 each
    assert acc.mean_influence("conv1", "conv2")[0].sum() == 0  # action 0 never chosen
    assert acc.influence_frequency("conv1", "conv2")[1, 0].tolist() == [0.5, 0.5]  # top-1 input: ch0, then ch1


def _random_batches(n_batches, seed=0):
    rng = torch.Generator().manual_seed(seed)
    for b in range(n_batches):
        a1 = torch.rand(5, 2, 4, 4, generator=rng)
        a2 = torch.rand(5, 3, 3, 3, generator=rng)
        actions = torch.randint(0, 2, (5,), generator=rng).tolist()
        contrib = torch.randn(5, 3, generator=rng)
        obs = (torch.rand(5, 1, 8, 8, generator=rng) * 255).to(torch.uint8).numpy()
        r = _readout(a1, a2, actions, contrib)
        r.relevance = [torch.rand(5, 2, 3, generator=rng), torch.rand(5, 3, 3, generator=rng)]
        r.dense = DenseReadout(*(torch.randn(*shape, generator=rng) for shape in ((5, 2), (5, 2, 3), (5, 2, 3), (5, 2))))
        r.dense_relevance = torch.rand(5, 2, 3, generator=rng)
        yield r, obs, b // 2, (np.arange(5) + 5 * b) * 20


GROUPS = DenseGroups("fc1", (0, 1, 1), ("a", "b"))


def test_split_and_merged_in_order_equals_one_pass_exactly():
    _, layers = _tiny_layers()
    whole = SummaryAccumulator(2, layers, examples_per_channel=3, dense=GROUPS)
    parts = [SummaryAccumulator(2, layers, examples_per_channel=3, dense=GROUPS) for _ in range(3)]
    for k, (r, obs, ep, steps) in enumerate(_random_batches(6)):
        whole.add(r, obs, ep, steps)
        parts[ep].add(r, obs, ep, steps)
    merged = SummaryAccumulator(2, layers, examples_per_channel=3, dense=GROUPS)
    for p in parts:
        merged.merge(p)
    assert {"conv2.relevance_where_sum", "fc1.contribution_sum", "conv2->fc1.path_sum"} <= set(whole.sums)
    for key in whole.sums:
        assert whole.sums[key].any(), key
        np.testing.assert_allclose(merged.sums[key], whole.sums[key], rtol=1e-12, err_msg=key)
    key = lambda acc: [[[e.key() for e in lst] for lst in layer] for layer in acc.examples]
    assert key(merged) == key(whole)


def test_examples_of_one_channel_are_distinct_moments():
    from rlviz.assess.summary import Example, _top_examples

    frame = np.zeros((2, 2), np.uint8)
    cands = [Example(5.0, 0, 100, 0, 0, frame), Example(4.0, 0, 104, 0, 0, frame), Example(3.0, 1, 104, 0, 0, frame),
             Example(2.0, 0, 120, 0, 0, frame)]
    assert [(e.episode, e.step) for e in _top_examples(cands, 3, min_gap=10)] == [(0, 100), (1, 104), (0, 120)]
    # the same screen window in two games (the start screen, say) is one example, not two
    _, layers = _tiny_layers()
    start = np.zeros((8, 8), np.uint8)
    other = start.copy()
    other[0:2, 0:2] = 200  # differs inside cell (0, 0)'s 2x2 window
    same = [Example(5.0, 0, 0, 0, 0, start), Example(5.0, 1, 0, 0, 0, start.copy()), Example(4.0, 2, 0, 0, 0, other)]
    assert [e.episode for e in _top_examples(same, 3, geometry=layers[0])] == [0, 2]


def test_memory_is_flat_in_the_number_of_frames():
    _, layers = _tiny_layers()
    sizes = []
    for n in (2, 20):
        acc = SummaryAccumulator(2, layers, examples_per_channel=3)
        for r, obs, ep, steps in _random_batches(n):
            acc.add(r, obs, ep, steps)
        sizes.append(acc.nbytes())
        assert all(len(lst) == 3 for layer in acc.examples for lst in layer)
    assert sizes[0] == sizes[1]


def test_attribution_graph_starts_from_the_largest_contributions_and_follows_influence():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers, top_influences=1)
    acc.sums["frames"][:] = [2, 2]
    acc.sums["conv2.contribution_sum"][1] = [0.2, 1.0, -3.0]  # action 1: channel 1, then 0, never 2
    acc.sums["conv1->conv2.topk_count"][1, 1] = [0.0, 2.0]  # conv2 ch1's top input: conv1 ch1
    acc.sums["conv1->conv2.topk_count"][1, 0] = [1.0, 0.0]
    vertices, edges = attribution_graph(acc, 1, per_layer=2, edges_per_vertex=1)
    assert [(v.layer, v.channel) for v in vertices] == [("conv2", 1), ("conv2", 0), ("conv1", 1), ("conv1", 0)]
    assert [(e.source, e.target, e.weight) for e in edges] == [  # weights: contribution, then frequency
        (("conv2", 1), "action", 0.5), (("conv2", 0), "action", 0.1),
        (("conv1", 1), ("conv2", 1), 1.0), (("conv1", 0), ("conv2", 0), 0.5)]


def test_read_frames_contribution_is_gradient_times_activation_of_the_centred_logit():
    torch.manual_seed(1)
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, 2, 4, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten())
    head = nn.Linear(3 * 1 * 1, 4, bias=False)
    forward = lambda x: (head(net.features(x)), None)
    x = torch.rand(5, 1, 8, 8)
    r = read_frames(forward, conv_trunk(net), x)
    last = net.features[:4](x).detach()  # [5, 3, 1, 1]
    w = head.weight.detach()
    centred_w = w - w.mean(0, keepdim=True)  # f_a - mean f is linear in the last layer here
    expected = centred_w[r.actions] * last[:, :, 0, 0]
    torch.testing.assert_close(r.contributions, expected)
    assert all(p.grad is None for p in list(net.parameters()) + list(head.parameters()))
    assert not any(m._forward_hooks for m in net.features)


def test_peak_words_name_a_third_a_row_or_a_column():
    from rlviz.present.summary_figures import peak_words

    assert peak_words([0, 0, 0.8, 0, 0, 0.2, 0, 0, 0]) == "usually peaks at the top right"
    assert peak_words([0.34, 0.33, 0.33, 0, 0, 0, 0, 0, 0]) == "usually peaks along the top"
    assert peak_words([0, 0, 0.4, 0, 0, 0.3, 0, 0, 0.3]) == "usually peaks down the right side"
    assert peak_words([0.3, 0, 0, 0, 0, 0, 0, 0, 0.4]) == "usually peaks at the bottom right or top left"
    assert peak_words([1 / 9] * 9) == "peaks all over the screen"


# -- fc1 groups and relevance places ---------------------------------------------------------------

def _dense_net():
    """An identity 1x1 'conv' (2 channels), fc1 (2 -> 3 units) and a 2-move head, set by hand."""
    from rlviz.assess.summary_dense import dense_layer

    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(2, 2, 1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3, bias=False),
                                 nn.ReLU())
    head = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        net.features[0].weight.copy_(torch.eye(2)[:, :, None, None])
        net.features[3].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        head.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]))
    forward = lambda x: (head(net.features(x)), None)
    return net, forward, dense_layer(net)


def test_fc1_units_join_the_move_their_centred_output_weight_favours_by_hand():
    from rlviz.assess.summary_dense import group_units, output_weights

    _, forward, (_, relu) = _dense_net()
    w = output_weights(forward, relu, (2, 1, 1), 2)
    # head rows [1, 0, 2] and [0, 1, 0], centred over the two moves
    assert w.tolist() == [[0.5, -0.5, 1.0], [-0.5, 0.5, -1.0]]
    groups = group_units(w, ["A", "B"])
    assert groups.groups == (0, 1, 0) and groups.sizes().tolist() == [2, 1]
    assert not relu._forward_hooks


def test_fc1_group_readings_by_hand_and_paths_sum_to_the_conv_contribution():
    from rlviz.assess.summary_dense import group_units, output_weights

    net, forward, (linear, relu) = _dense_net()
    groups = group_units(output_weights(forward, relu, (2, 1, 1), 2), ["A", "B"])
    x = torch.tensor([3.0, 1.0]).reshape(1, 2, 1, 1)
    r = read_frames(forward, conv_trunk(net), x, (linear, relu, groups))
    # h = relu([3, 1, 3 - 1]) = [3, 1, 2]; logits [3 + 4, 1] -> move A; dT/dh = [0.5, -0.5, 1]
    assert r.actions.tolist() == [0]
    d = r.dense
    assert d.activations.tolist() == [[2.5, 1.0]]  # group A = units 0, 2: (3 + 2) / 2; group B = unit 1
    assert d.contributions.tolist() == [[3.5, -0.5]]  # 3 * 0.5 + 2 * 1; 1 * -0.5; sum = T = 7 - 4 = 3
    assert d.influences.tolist() == [[[6.0, -1.0], [0.0, 1.0]]]  # t_u0 + t_u2 = [3, 0] + [3, -1]; t_u1 = [0, 1]
    assert d.paths.tolist() == [[[4.5, -1.0], [0.0, -0.5]]]  # 0.5 [3, 0] + 1 [3, -1]; -0.5 [0, 1]
    torch.testing.assert_close(d.paths.sum(1), r.contributions)  # = [4.5, -1.5], grad x activation of the conv
    acc = SummaryAccumulator(2, conv_geometry(conv_trunk(net), (2, 1, 1)), dense=groups, top_influences=1)
    acc.add(r, np.zeros((1, 2, 1, 1), np.uint8), 0, np.array([0]))
    assert acc.mean_activation("fc1")[0].tolist() == [2.5, 1.0]
    assert acc.mean_path()[0].tolist() == [[4.5, -1.0], [0.0, -0.5]]
    assert acc.sums["conv1->fc1.topk_count"][0].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_fc1_graph_ends_conv_to_group_to_move():
    from rlviz.assess.summary import fc1_graph
    from rlviz.assess.summary_dense import DenseGroups

    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers, dense=DenseGroups("fc1", (0, 1, 2, 2), ("A", "B", "C")))
    acc.sums["frames"][:] = [2, 2]
    acc.sums["fc1.contribution_sum"][1] = [0.4, -2.0, 3.0]  # move 1: group 2, then 0, then 1
    acc.sums["conv2->fc1.path_sum"][1, :, 1] = [1.0, 0.0, 0.2]  # conv2 #1 pushes through group 0 most
    acc.sums["conv2->fc1.path_sum"][1, :, 0] = [-1.0, 0.0, -1.0]  # conv2 #0 pushes through none
    vertices, edges = fc1_graph(acc, 1, [1, 0], per_layer=2, edges_per_vertex=2)
    assert [(v.layer, v.channel, v.score) for v in vertices] == [("fc1", 2, 1.5), ("fc1", 0, 0.2)]
    assert [(e.source, e.target, e.weight) for e in edges] == [
        (("conv2", 1), ("fc1", 0), 0.5), (("conv2", 1), ("fc1", 2), 0.1),
        (("fc1", 2), "action", 1.5), (("fc1", 0), "action", 0.2)]
    # three wanted, but group 1 holds the move back (-1 a frame): it is no vertex
    assert [v.channel for v in fc1_graph(acc, 1, [1, 0], per_layer=3)[0]] == [2, 0]


def test_relevance_place_of_a_one_by_one_net_is_its_peak_pixels_weighted_mean_by_hand():
    from rlviz.assess.summary_relevance import relevance_moments

    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.Conv2d(2, 1, 1, bias=False), nn.ReLU())
    with torch.no_grad():
        net.features[0].weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        net.features[0].bias.copy_(torch.tensor([0.0, 1.0]))  # channel 1 = 1 - x: fires through its bias alone
        net.features[2].weight.copy_(torch.tensor([2.0, 0.5]).reshape(1, 2, 1, 1))
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 2, 2], x[0, 0, 6, 4], x[0, 0, 0, 7] = 1.0, 0.95, 0.5
    pairs = conv_trunk(net)
    with torch.no_grad():
        acts = [net.features[:2](x), net.features(x)]
    moments, _ = relevance_moments(pairs, x, acts)
    # channel 0 is x; its peak cells (>= 0.9) are (2, 2) and (6, 4), each relevant only to its own pixel
    torch.testing.assert_close(moments[0][0, 0], torch.tensor([2 * 1 + 6 * 0.95, 2 * 1 + 4 * 0.95, 1.95]))
    # channel 1 fires (1 on dark pixels) but its only weight on the screen is negative: z+ gives it no relevance
    assert moments[0][0, 1].tolist() == [0.0, 0.0, 0.0]
    # conv2 = 2 ch0 + 0.5 ch1: peak 2 at (2, 2), and 1.9 + 0.025 at (6, 4) is within 10%; the dark cells (0.5) are
    # not. (2, 2) passes all of its 2 down to pixel (2, 2); (6, 4) passes 1.9 via channel 0, its 0.025 via
    # channel 1 is lost at channel 1 (no positive input)
    torch.testing.assert_close(moments[1][0, 0], torch.tensor([2 * 2 + 1.9 * 6, 2 * 2 + 1.9 * 4, 2 + 1.9]))
    layers = conv_geometry(pairs, (1, 8, 8))
    acc = SummaryAccumulator(1, layers)
    acc.add(FrameReadout(acts, [influence_terms(acts[0], pairs[1][0])], torch.zeros(1, 1), torch.tensor([0]), moments),
            np.zeros((1, 1, 8, 8), np.uint8), 0, np.array([0]))
    np.testing.assert_allclose(acc.relevance_where("conv1")[0], [7.7 / 1.95, 5.8 / 1.95], rtol=1e-6)
    np.testing.assert_allclose(acc.relevance_where("conv2")[0], [15.4 / 3.9, 11.6 / 3.9], rtol=1e-6)
    assert np.isnan(acc.relevance_where("conv1")[1]).all()  # no relevance: no place


def test_relevance_moments_equal_one_lrp_zplus_backward_pass_per_channel():
    from rlviz.assess.summary_dense import DenseGroups, dense_layer
    from rlviz.assess.summary_relevance import peak_cells, relevance_moments

    torch.manual_seed(3)
    net = nn.Module()
    net.features = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2), nn.ReLU(), nn.Conv2d(3, 4, 2), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(4 * 3 * 3, 5), nn.ReLU())
    x = torch.rand(3, 2, 9, 9)
    pairs = conv_trunk(net)
    linear, _ = dense_layer(net)
    with torch.no_grad():
        for m in (net.features[0], net.features[2], linear):
            m.bias.fill_(0.2)  # so that most units fire
        acts = [net.features[:2](x), net.features[:4](x)]
        hidden = net.features(x)
    groups = DenseGroups("fc1", (0, 1, 0, 2, 1), ("a", "b", "c"))
    moments, group_moments = relevance_moments(pairs, x, acts, (linear, hidden, groups.onehot()))
    inputs = [x, *acts]  # the input of each layer
    layers = [lambda a, c=c: torch.nn.functional.conv2d(a, c.weight.clamp_min(0), stride=c.stride) for c, _ in pairs]
    layers.append(lambda a: a.flatten(1) @ linear.weight.clamp_min(0).T)

    def lrp_zplus(relevance, top):  # the efficient form (DESIGN.md section 5): z = W+ a; s = R / z; R = a * (W+^T s)
        for k in range(top, -1, -1):
            a = inputs[k].clone().requires_grad_(True)
            z = layers[k](a)
            s = torch.where(z > 0, relevance / torch.where(z > 0, z, 1), 0).detach()
            (c,) = torch.autograd.grad((z * s).sum(), a)
            relevance = (a * c).detach()
        return relevance.sum(1)  # [N, H, W], summed over the stacked frames

    ys, xs = torch.meshgrid(torch.arange(9.0), torch.arange(9.0), indexing="ij")
    checked = 0
    for top, (top_act, got_all) in enumerate([(acts[0], moments[0]), (acts[1], moments[1]),
                                              (hidden[:, :, None] * groups.onehot()[None], group_moments)]):
        for c in range(got_all.shape[1]):
            if top < 2:
                start = torch.zeros_like(top_act)
                start[:, c] = peak_cells(top_act)[:, c]
            else:
                start = top_act[:, :, c]
            r = lrp_zplus(start, top)
            expected = torch.stack([(r * ys).sum((1, 2)), (r * xs).sum((1, 2)), r.sum((1, 2))], dim=-1)
            torch.testing.assert_close(got_all[:, c], expected, rtol=1e-5, atol=1e-5)
            checked += int(expected[:, 2].gt(0).any())
    assert checked >= 8  # most channels fired somewhere, so the comparison is not of zeros


def test_dense_layer_is_fc1_of_the_nature_cnn_and_none_without_one():
    from rlviz.agents.networks import NatureActorCritic
    from rlviz.assess.summary_dense import dense_layer

    linear, relu = dense_layer(NatureActorCritic(6))
    assert (linear.in_features, linear.out_features) == (3136, 512) and isinstance(relu, nn.ReLU)
    assert dense_layer(_tiny_layers()[0]) is None  # convs only: the summary stops at the last conv layer


# -- refusals, geometry, boundaries ------------------------------------------------------------------

def _net(*modules):
    net = nn.Module()
    net.features = nn.Sequential(*modules) if modules else None
    return net


@pytest.mark.parametrize("net,message", [
    (nn.Linear(2, 2), "summaries need a network with a `features` nn.Sequential trunk (the Nature CNN layout)"),
    (_net(), "summaries need a network with a `features` nn.Sequential trunk (the Nature CNN layout)"),
    (_net(nn.Conv2d(1, 2, 2), nn.Flatten()), "conv layer 1 is not followed by a ReLU; summaries read post-ReLU activations"),
    (_net(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Conv2d(2, 2, 2)),
     "conv layer 2 is not followed by a ReLU; summaries read post-ReLU activations"),
    (_net(nn.Conv2d(1, 2, 2, padding=1), nn.ReLU()), "summaries support plain conv layers (no padding, dilation or groups)"),
    (_net(nn.Conv2d(1, 2, 2, dilation=2), nn.ReLU()), "summaries support plain conv layers (no padding, dilation or groups)"),
    (_net(nn.Conv2d(2, 2, 2, groups=2), nn.ReLU()), "summaries support plain conv layers (no padding, dilation or groups)"),
    (_net(nn.Flatten(), nn.Linear(4, 2), nn.ReLU()), "the network's trunk has no conv layers to summarise"),
])
def test_a_trunk_summaries_cannot_read_is_refused_with_what_is_wrong(net, message):
    from rlviz.util.errors import RlvizError

    with pytest.raises(RlvizError) as err:
        conv_trunk(net)
    assert str(err.value) == message


def test_geometry_of_a_non_square_screen_by_hand():
    net = _net(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Flatten())
    pairs = conv_trunk(net)
    assert [conv for conv, _ in pairs] == [net.features[0], net.features[2]]
    assert [relu for _, relu in pairs] == [net.features[1], net.features[3]]
    g1, g2 = conv_geometry(pairs, (1, 9, 13))
    # conv1: grid ((9-3)//2+1, (13-3)//2+1), rf 3, jump 2; conv2: rf 3 + (2-1)*2 = 5, jump 2
    assert (g1.name, g1.channels, g1.grid, g1.receptive_field, g1.jump) == ("conv1", 2, (4, 6), 3, 2)
    assert (g2.name, g2.channels, g2.grid, g2.receptive_field, g2.jump) == ("conv2", 3, (3, 5), 5, 2)
    assert g2.box(1, 2) == (4, 2, 9, 7)  # (x0, y0, x1, y1): x = 2 * 2, y = 1 * 2, each + 5
    cy, cx = g2.centres()
    assert cy.tolist() == [2, 4, 6] and cx.tolist() == [2, 4, 6, 8, 10]
    assert SummaryAccumulator(2, [g1, g2]).screen == (9, 13)
    # a row or column the stride steps over is not seen: 10 x 14 pixels give conv1 the same 4 x 6 cells
    assert [g.grid for g in conv_geometry(pairs, (1, 10, 14))] == [(4, 6), (3, 5)]


def test_a_trunk_relu_that_runs_twice_is_refused_and_its_hooks_removed():
    from rlviz.util.errors import RlvizError

    net, _ = _tiny_layers()
    head = nn.Linear(3 * 3 * 3, 2)

    def forward(x):  # reads the trunk twice (say, for a second head)
        net.features(x)
        return head(net.features(x).flatten(1)), None

    with pytest.raises(RlvizError) as err:
        read_frames(forward, conv_trunk(net), torch.rand(1, 1, 8, 8))
    assert str(err.value) == "a trunk ReLU ran more or fewer times than once per forward pass; summaries need a plain trunk"
    assert not any(m._forward_hooks for m in net.features)


def test_summaries_of_different_networks_do_not_merge():
    from rlviz.util.errors import RlvizError

    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers)
    others = [SummaryAccumulator(3, layers), SummaryAccumulator(2, layers[:1]),
              SummaryAccumulator(2, layers, dense=GROUPS)]
    for other in others:
        with pytest.raises(RlvizError) as err:
            acc.merge(other)
        assert str(err.value) == "cannot merge summaries of different networks"
    assert not any(v.any() for v in acc.sums.values())


def test_fc1_readings_are_refused_when_the_frames_were_read_without_them():
    from rlviz.assess.summary import fc1_graph
    from rlviz.util.errors import RlvizError

    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers, dense=GROUPS)
    r, obs, ep, steps = next(_random_batches(1))
    r.dense = None
    with pytest.raises(RlvizError) as err:
        acc.add(r, obs, ep, steps)
    assert str(err.value) == "this summary reads fc1's groups but the frames were read without them"
    with pytest.raises(RlvizError) as err:
        fc1_graph(SummaryAccumulator(2, layers), 0, [0])
    assert str(err.value) == "this summary has no fc1 groups (the network has no dense layer after its convs)"


def test_examples_exactly_the_gap_apart_are_two_moments_and_one_step_closer_are_one():
    from rlviz.assess.summary import EXAMPLE_MIN_GAP, Example, _top_examples

    frame = np.zeros((2, 2), np.uint8)
    far = [Example(5.0, 0, 100, 0, 0, frame), Example(4.0, 0, 100 + EXAMPLE_MIN_GAP, 0, 0, frame),
           Example(3.0, 0, 100 - EXAMPLE_MIN_GAP, 0, 0, frame)]
    assert [e.step for e in _top_examples(far, 3)] == [100, 110, 90]
    near = [Example(5.0, 0, 100, 0, 0, frame), Example(4.0, 0, 109, 0, 0, frame), Example(3.0, 0, 91, 0, 0, frame)]
    assert [e.step for e in _top_examples(near, 3)] == [100]
    assert [e.step for e in _top_examples(far, 2)] == [100, 110]  # k of them, the strongest first
    # ties in strength go to the earlier episode, then the earlier step, then the place
    tied = [Example(1.0, 1, 0, 0, 0, frame), Example(1.0, 0, 50, 0, 1, frame), Example(1.0, 0, 50, 0, 0, frame),
            Example(1.0, 0, 20, 0, 0, frame)]
    assert [(e.episode, e.step, e.x) for e in _top_examples(tied, 4, min_gap=0)] == [(0, 20, 0), (0, 50, 0), (0, 50, 1),
                                                                                    (1, 0, 0)]


def test_examples_whose_windows_differ_by_two_gray_levels_are_distinct_and_by_less_are_not():
    from rlviz.assess.summary import EXAMPLE_MIN_CHANGE, Example, _top_examples

    _, layers = _tiny_layers()  # conv1: 2x2 windows, jump 2
    start = np.full((8, 8), 100, np.uint8)  # a gray screen
    two = start.copy()
    two[0:2, 0:2] += int(EXAMPLE_MIN_CHANGE)  # mean difference exactly 2 in cell (0, 0)'s window
    less = start.copy()
    less[0, 0:2], less[1, 0] = 98, 98  # mean 1.5, darker
    outside = start.copy()
    outside[2:, 2:] = 255  # differs only outside the window
    cands = [Example(5.0, 0, 0, 0, 0, start), Example(4.0, 1, 0, 0, 0, two), Example(3.0, 2, 0, 0, 0, less),
             Example(2.0, 3, 0, 0, 0, outside), Example(1.0, 4, 0, 1, 1, start)]
    assert [e.episode for e in _top_examples(cands, 5, geometry=layers[0])] == [0, 1, 4]  # another cell is another view
    assert [e.episode for e in _top_examples(cands, 5)] == [0, 1, 2, 3, 4]  # without the geometry: by gap alone


def test_relevance_place_is_none_off_the_screen_and_per_action_or_over_all():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers)  # an 8x8 screen
    w = acc.sums["conv1.relevance_where_sum"]
    w[0, 0] = [7 * 2.0, 0 * 2.0, 2.0]  # (7, 0): on the last row, first column
    w[1, 0] = [1 * 2.0, 3 * 2.0, 2.0]  # (1, 3)
    w[0, 1] = [7.5, 3.0, 1.0]  # below the screen
    w[1, 1] = [3.0, -0.5, 1.0]  # left of it
    np.testing.assert_allclose(acc.relevance_where("conv1", 0)[0], [7, 0])
    np.testing.assert_allclose(acc.relevance_where("conv1", 1)[0], [1, 3])
    np.testing.assert_allclose(acc.relevance_where("conv1")[0], [4, 1.5])  # both actions: (14 + 2) / 4, (0 + 6) / 4
    assert np.isnan(acc.relevance_where("conv1", 0)[1]).all() and np.isnan(acc.relevance_where("conv1", 1)[1]).all()
    w[0, 1], w[1, 1] = [3.0, 7.5, 1.0], [-0.1, 3.0, 1.0]  # right of the screen; above it
    assert np.isnan(acc.relevance_where("conv1", 0)[1]).all() and np.isnan(acc.relevance_where("conv1", 1)[1]).all()
    w[0, 1] = [7.0, 7.0, 1.0]  # the bottom right pixel is on the screen
    np.testing.assert_allclose(acc.relevance_where("conv1", 0)[1], [7, 7])


def test_attribution_graph_through_three_layers_by_hand():
    net = _net(nn.Conv2d(1, 2, 2, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Conv2d(3, 40, 2), nn.ReLU())
    acc = SummaryAccumulator(2, conv_geometry(conv_trunk(net), (1, 8, 8)))
    acc.sums["frames"][:] = [2, 2]
    acc.sums["conv3.contribution_sum"][1, [17, 30]] = [3.0, -1.0]  # action 1: channel 17, then the 38 silent ones
    acc.sums["conv3.contribution_sum"][0, 5] = 9.0  # action 0 is not asked about
    top, infl = acc.sums["conv2->conv3.topk_count"][1], acc.sums["conv2->conv3.influence_sum"][1]
    top[17], top[0] = [0, 2, 0], [2, 0, 0]  # conv3 #17's top input is conv2 #1; conv3 #0's is conv2 #0
    infl[17], infl[0] = [4.0, 6.0, 2.0], [0.0, 0.0, 8.0]
    top, infl = acc.sums["conv1->conv2.topk_count"][1], acc.sums["conv1->conv2.influence_sum"][1]
    top[1], top[0] = [2, 2], [0, 2]
    infl[1], infl[0] = [2.0, 4.0], [6.0, 1.0]
    vertices, edges = attribution_graph(acc, 1, per_layer=3, edges_per_vertex=1)
    # conv3: 17 (1.5 a frame), then the ties at 0 in channel order
    assert [(v.layer, v.channel, v.score) for v in vertices[:3]] == [("conv3", 17, 1.5), ("conv3", 0, 0.0), ("conv3", 1, 0.0)]
    # conv2 under {17, 0, 1}: Summit counts [1, 1, 0] a frame, influences [2, 3, 1] + [0, 0, 4] = [2, 3, 5];
    # channels 0 and 1 tie on the count, 1 has the larger influence; 2 is never a top input but ranks third
    assert [(v.layer, v.channel, v.score) for v in vertices[3:6]] == [("conv2", 1, 1.0), ("conv2", 0, 1.0),
                                                                      ("conv2", 2, 0.0)]
    # conv1 under {1, 0, 2}: counts [1, 1] + [0, 1] = [1, 2]
    assert [(v.layer, v.channel, v.score) for v in vertices[6:]] == [("conv1", 1, 2.0), ("conv1", 0, 1.0)]  # 2 channels only
    assert [(e.source, e.target, e.weight, e.strength) for e in edges] == [
        (("conv3", 17), "action", 1.5, 1.5), (("conv3", 0), "action", 0.0, 0.0), (("conv3", 1), "action", 0.0, 0.0),
        (("conv2", 1), ("conv3", 17), 1.0, 3.0), (("conv2", 0), ("conv3", 0), 1.0, 0.0),  # conv3 #1 has no top input
        # conv2 #1 reads both conv1 channels on every frame: the one with the larger summed influence (#0: 4 > 2.5)
        (("conv1", 0), ("conv2", 1), 1.0, 1.0), (("conv1", 1), ("conv2", 0), 1.0, 0.5)]
    assert all(e.frequency is None for e in edges)


def test_attribution_graph_defaults_to_three_channels_a_layer_and_two_inputs_a_channel():
    net = _net(nn.Conv2d(1, 2, 2, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Conv2d(3, 5, 2), nn.ReLU())
    acc = SummaryAccumulator(1, conv_geometry(conv_trunk(net), (1, 8, 8)))
    acc.sums["frames"][:] = 1
    acc.sums["conv3.contribution_sum"][0] = [5.0, 4.0, 3.0, 2.0, 1.0]
    acc.sums["conv2->conv3.topk_count"][0, 0] = [1.0, 1.0, 1.0]  # conv3 #0 reads all three conv2 channels
    vertices, edges = attribution_graph(acc, 0)
    assert [(v.layer, v.channel) for v in vertices if v.layer == "conv3"] == [("conv3", 0), ("conv3", 1), ("conv3", 2)]
    assert [e.source for e in edges if e.target == ("conv3", 0)] == [("conv2", 0), ("conv2", 1)]


def _fc1_case():
    """A 3-conv net whose fc1 has 20 groups; move 1 over 2 frames, move 0 held back everywhere."""
    from rlviz.assess.summary_dense import DenseGroups

    net = _net(nn.Conv2d(1, 2, 2, stride=2), nn.ReLU(), nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Conv2d(3, 2, 2), nn.ReLU())
    groups = DenseGroups("fc1", tuple(range(20)), tuple(f"g{k}" for k in range(20)))
    acc = SummaryAccumulator(2, conv_geometry(conv_trunk(net), (1, 8, 8)), dense=groups)
    acc.sums["frames"][:] = [2, 2]
    c = acc.sums["fc1.contribution_sum"]
    c[1, [7, 3, 15, 11, 9]] = [6.0, 4.0, 4.0, 1.0, -2.0]  # group 7, then 3 and 15 tied, then 11; 12 others at 0
    # no group pushes move 0; seven hold it back by 0, and on this pattern numpy's default (unstable) sort would
    # put group 3 before group 2
    c[0] = [-4.0, -2, 0, 0, -4, -2, -2, -2, -4, -2, 0, -4, 0, 0, -4, -2, 0, 0, -2, -4]
    path = acc.sums["conv3->fc1.path_sum"][1]
    path[[7, 3, 15], 1] = [4.0, 2.0, 1.0]  # conv3 #1 pushes through 7 most (the order of the groups' numbers is 3, 7)
    path[[7, 3], 0] = [-2.0, 0.0]  # conv3 #0 pushes through none
    acc.sums["conv3->fc1.influence_sum"][1, 7, 1] = 6.0
    acc.sums["conv3->fc1.topk_count"][1, 7, 1] = 1.0
    return acc


def test_fc1_graph_through_three_conv_layers_by_hand():
    from rlviz.assess.summary import fc1_graph

    acc = _fc1_case()
    vertices, edges = fc1_graph(acc, 1, [1, 0], per_layer=2, edges_per_vertex=1)
    assert [(v.layer, v.channel, v.score) for v in vertices] == [("fc1", 7, 3.0), ("fc1", 3, 2.0)]  # ties: lower number
    assert [(e.source, e.target, e.weight, e.strength, e.frequency) for e in edges] == [
        (("conv3", 1), ("fc1", 7), 2.0, 3.0, 0.5),  # mean push 4 / 2, mean influence 6 / 2, top input on 1 of 2 frames
        (("fc1", 7), "action", 3.0, 3.0, None), (("fc1", 3), "action", 2.0, 2.0, None)]
    # the defaults: 3 groups, 2 edges a channel; a push of exactly 0 is no edge
    vertices, edges = fc1_graph(acc, 1, [1, 0])
    assert [v.channel for v in vertices] == [7, 3, 15]
    assert [(e.target, e.weight) for e in edges if e.source == ("conv3", 1)] == [(("fc1", 7), 2.0), (("fc1", 3), 1.0)]
    assert not [e for e in edges if e.source == ("conv3", 0)]
    # a group whose mean contribution is 0 pushes nothing: the third of 7, 11 and the first group at 0 is left out
    acc.sums["fc1.contribution_sum"][1, [3, 15]] = [0.0, 0.0]
    assert [v.channel for v in fc1_graph(acc, 1, [1, 0])[0]] == [7, 11]
    # no group pushes move 0: the graph keeps the first of those that hold it back least
    vertices, edges = fc1_graph(acc, 0, [1, 0], per_layer=3)
    assert [(v.channel, v.score) for v in vertices] == [(2, 0.0)]
    assert [(e.source, e.target) for e in edges] == [(("fc1", 2), "action")]
    # a move chosen once: its means are its one frame's values
    acc.sums["frames"][1] = 1
    edges = fc1_graph(acc, 1, [1], per_layer=1)[1]
    assert [(e.weight, e.strength, e.frequency) for e in edges] == [(4.0, 6.0, 1.0), (6.0, 6.0, None)]


def test_summit_count_reads_shares_of_the_frames_total_whatever_its_size_and_ties_go_to_the_first_channel():
    # maxima summing to 10 and to 0.1 have the shares 0.2, 0.5, 0.3 of the first test
    for scale in (10.0, 0.1):
        maxima = scale * torch.tensor([[0.2, 0.5, 0.3, 0.0]])
        assert summit_activation_counts(maxima, 0.6).tolist() == [[0, 1, 1, 0]]
    # 64 equal channels (as many as the Nature CNN's last layer): each is 1/64 of the mass; mass 0.1 takes
    # the first 7 (6/64 < 0.1 before the 7th, 7/64 before the 8th)
    counts = summit_activation_counts(torch.ones(2, 64), 0.1)
    assert counts[:, :7].eq(1).all() and counts[:, 7:].eq(0).all()
    assert summit_activation_counts(torch.ones(1, 64)).sum() == 2  # the default mass 0.03: 0 and 1/64 before
    assert summit_activation_counts(torch.ones(1, 4), 0.5).tolist() == [[1, 1, 0, 0]]  # 0.5 before the third: not below


def test_merging_keeps_one_example_of_a_window_two_parts_both_saw():
    _, layers = _tiny_layers()
    screen = np.zeros((1, 1, 8, 8), np.uint8)
    screen[0, 0, 2:4, 4:6] = 90  # what conv1's cell (1, 2) sees

    def part(episode, peak):
        acc = SummaryAccumulator(1, layers, examples_per_channel=2)
        a1 = torch.zeros(1, 2, 4, 4)
        a1[0, 0, 1, 2] = peak
        acc.add(_readout(a1, torch.zeros(1, 3, 3, 3), [0]), screen, episode, np.array([0]))
        return acc

    merged = part(0, 2.0).merge(part(1, 1.0))
    whole = part(0, 2.0)
    a1 = torch.zeros(1, 2, 4, 4)
    a1[0, 0, 1, 2] = 1.0
    whole.add(_readout(a1, torch.zeros(1, 3, 3, 3), [0]), screen, 1, np.array([0]))
    assert [(e.episode, e.activation) for e in merged.examples[0][0]] == [(0, 2.0)]  # the same start screen, say
    assert [(e.episode, e.activation) for e in whole.examples[0][0]] == [(0, 2.0)]


def test_a_move_never_chosen_and_a_channel_never_firing_read_as_zeros_not_nan():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(3, layers)
    a1 = torch.zeros(2, 2, 4, 4)
    a1[0, 0, 0, 0], a1[1, 0, 3, 3] = 0.5, 3.0  # channel 0 fires on both frames; channel 1 never
    acc.add(_readout(a1, torch.zeros(2, 3, 3, 3), [0, 1]), np.zeros((2, 1, 8, 8), np.uint8), 0, np.arange(2))
    assert acc.frames().tolist() == [1, 1, 0]
    assert acc.mean_activation("conv1").tolist() == [[0.5, 0], [3, 0], [0, 0]]
    np.testing.assert_allclose(acc.selectivity("conv1"), [[-1, 0], [1, 0], [0, 0]])  # mean 1.75, std 1.25; move 2: 0
    assert acc.summit_frequency("conv1").tolist() == [[1, 0], [1, 0], [0, 0]]
    np.testing.assert_allclose(acc.where("conv1")[:2, 0], [[0.5, 0.5], [6.5, 6.5]])  # cell centres y * 2 + 0.5
    assert not acc.where("conv1")[:, 1].any() and not acc.peak_regions("conv1")[:, 1].any()
    np.testing.assert_allclose(acc.peak_regions("conv1")[:2, 0], np.eye(9)[[0, 8]])  # top left; bottom right
    assert not acc.where("conv1")[2].any() and not acc.peak_regions("conv1")[2].any()


@pytest.mark.filterwarnings("error")  # no division by a zero std, even one the result throws away
@pytest.mark.parametrize("size", [1.0, 1e-9])
def test_selectivity_of_small_activations_and_of_a_single_frame(size):
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(2, layers)
    a1 = torch.zeros(1, 2, 4, 4)
    a1[0, 0, 0, 0] = 0.3 * size
    acc.add(_readout(a1, torch.zeros(1, 3, 3, 3), [0]), np.zeros((1, 1, 8, 8), np.uint8), 0, np.arange(1))
    assert not acc.selectivity("conv1").any()  # one frame: nothing varies
    a1[0, 0, 0, 0] = 0.1 * size
    acc.add(_readout(a1, torch.zeros(1, 3, 3, 3), [1]), np.zeros((1, 1, 8, 8), np.uint8), 0, np.arange(1))
    # channel 0: 0.3 and 0.1, mean 0.2, std 0.1 (times size); channel 1 never fires
    np.testing.assert_allclose(acc.selectivity("conv1"), [[1, 0], [-1, 0]], rtol=1e-5)


def test_a_relevance_place_on_the_top_row_and_of_little_mass_is_kept():
    _, layers = _tiny_layers()
    acc = SummaryAccumulator(1, layers)
    acc.sums["conv1.relevance_where_sum"][0, 0] = [0.0, 0.5 * 5, 0.5]  # (0, 5) with relevance 0.5
    acc.sums["conv1.relevance_where_sum"][0, 1] = [0.25 * 6, 0.0, 0.25]  # (6, 0)
    np.testing.assert_allclose(acc.relevance_where("conv1"), [[0, 5], [6, 0]])
