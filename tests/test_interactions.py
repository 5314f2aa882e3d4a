"""Neural Interaction Detection: hand-computed cases, vectorisation, cut-off, CNN mapping, figures."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic, NatureQNetwork
from rlviz.explain.interactions import (
    Interaction,
    aggregated_influence,
    greedy_interactions,
    mlp_weights,
    neuron_interactions,
    pairwise_matrix,
    pairwise_strengths,
    rank_pairs,
)
from rlviz.explain.interactions_cnn import (
    activation_interaction_matrices,
    cnn_parts,
    frame_interactions,
    grouped_weights,
    policy_interaction_matrix,
    policy_interactions,
    receptive_field_boxes,
)
from rlviz.present.interaction_figures import (
    draw_interaction_matrix,
    draw_interaction_pairs,
)
from rlviz.present.interaction_report import write_interaction_report
from rlviz.util.errors import RlvizError

# 2 hidden units, 3 inputs; signs must not matter (NID reads |W|)
W1 = [[1.0, -2.0, 0.5], [-3.0, 1.0, 2.0]]
WY = [[-3.0, 1.0]]  # z = (3, 1)


def _agent(n_actions: int = 3, seed: int = 0, q: bool = False) -> Agent:
    torch.manual_seed(seed)
    net = NatureQNetwork(n_actions) if q else NatureActorCritic(n_actions)
    return Agent(net)


@pytest.fixture(scope="module")
def agent() -> Agent:
    return _agent()


# ------------------------------------------------------------------------------------ core


def test_pairwise_strength_matches_hand_computation() -> None:
    # omega{0,1} = 3*min(1,2) + 1*min(3,1) = 4; omega{0,2} = 3*0.5 + 1*2 = 3.5; omega{1,2} = 1.5 + 1 = 2.5
    got = neuron_interactions([W1, WY], order=2)
    assert [i.features for i in got] == [(0, 1), (0, 2), (1, 2)]
    assert [i.strength for i in got] == pytest.approx([4.0, 3.5, 2.5])


def test_module_and_weight_list_give_the_same_answer() -> None:
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W1))
        net[2].weight.copy_(torch.tensor(WY))
    assert neuron_interactions(net) == neuron_interactions([W1, WY])


def test_influence_multiplies_absolute_weights_through_layers() -> None:
    w2 = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    wy = torch.tensor([[-1.0, 3.0], [2.0, 0.0]], dtype=torch.float64)
    # row 0: |(-1, 3)| |w2| = (1*1 + 3*0.5, 1*2 + 0) = (2.5, 2); row 1: (2, 4); summed: (4.5, 6)
    assert aggregated_influence([w2, wy], 0).tolist() == pytest.approx([2.5, 2.0])
    assert aggregated_influence([w2, wy], 1).tolist() == pytest.approx([2.0, 4.0])
    assert aggregated_influence([w2, wy], None).tolist() == pytest.approx([4.5, 6.0])


def test_action_reads_one_output_row() -> None:
    # output 0 only reads unit 0 (mixes inputs 0, 1); output 1 only unit 1 (mixes inputs 1, 2)
    w1 = [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]
    wy = [[1.0, 0.0], [0.0, 1.0]]
    assert neuron_interactions([w1, wy], action=0, top_k=1)[0].features == (0, 1)
    assert neuron_interactions([w1, wy], action=1, top_k=1)[0].features == (1, 2)
    both = neuron_interactions([w1, wy], action=None, top_k=2)
    assert {i.features for i in both} == {(0, 1), (1, 2)}


def test_pairwise_vectorised_equals_double_loop() -> None:
    g = torch.Generator().manual_seed(3)
    for h, p, block in [(37, 23, 1 << 24), (37, 23, 37 * 23 * 2), (16, 1200, 16 * 1200 * 7)]:
        w = torch.randn(h, p, generator=g, dtype=torch.float64)
        z = torch.rand(h, generator=g, dtype=torch.float64)
        m = pairwise_strengths(w.abs(), z, block_elements=block)
        pairs = list(itertools.combinations(range(p), 2))
        if p > 100:  # the large case: a fixed sample of pairs, in float32
            pairs = [pairs[k] for k in torch.randint(len(pairs), (300,), generator=g).tolist()]
        for a, b in pairs:
            ref = sum(float(z[i]) * min(abs(float(w[i, a])), abs(float(w[i, b]))) for i in range(h))
            assert float(m[a, b]) == pytest.approx(ref, rel=1e-5)
            assert float(m[b, a]) == float(m[a, b])
        assert torch.all(m.diagonal() == 0)


def test_any_order_matches_hand_computation_and_drops_strict_subsets() -> None:
    # unit 0 (z=3), |w| (1, 2, .5): {0,1} += 3*1, {0,1,2} += 3*.5; unit 1 (z=1), |w| (3, 1, 2):
    # {0,2} += 2, {0,1,2} += 1.  Ranked: {0,1} 3, {0,1,2} 2.5, {0,2} 2 -> {0,2} is a strict
    # subset of the stronger kept {0,1,2} and goes; {0,1} ranks above its superset and stays.
    got = neuron_interactions([W1, WY], order=None, cutoff=None)
    assert got == [Interaction((0, 1), 3.0), Interaction((0, 1, 2), 2.5)]
    assert neuron_interactions([W1, WY], order="any", cutoff=None) == got


def test_a_dropped_subset_does_not_end_the_list() -> None:
    """The hand-computed case plus a unit mixing features 3 and 4 (strength 1, ranked after the
    dropped {0, 2}): {3, 4} is still reported (kills 'continue' -> 'break' at a dropped subset)."""
    w1 = [[1.0, -2.0, 0.5, 0.0, 0.0], [-3.0, 1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, -1.0]]
    got = greedy_interactions(w1, [3.0, 1.0, 1.0], cutoff=None)
    assert got == [Interaction((0, 1), 3.0), Interaction((0, 1, 2), 2.5), Interaction((3, 4), 1.0)]


def test_equal_strengths_of_equal_size_rank_in_feature_order() -> None:
    """Like rank_pairs: {0, 1} before {2, 3} at equal strength, whichever unit formed it first."""
    got = greedy_interactions([[0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]], [1.0, 1.0], cutoff=None)
    assert got == [Interaction((0, 1), 1.0), Interaction((2, 3), 1.0)]


def test_raw_any_order_collapses_to_all_features_on_dense_weights() -> None:
    rng = np.random.default_rng(0)
    w1, z = rng.random((256, 20)) + 0.1, rng.random(256)
    raw = greedy_interactions(w1, z, cutoff=None)
    assert raw[0].features == tuple(range(20))  # the pitfall the cut-off exists for


def test_shuffle_cutoff_finds_nothing_on_weights_without_structure() -> None:
    for seed in range(3):
        rng = np.random.default_rng(seed)
        w1, z = rng.random((256, 20)) + 0.1, rng.random(256)
        assert greedy_interactions(w1, z) == []


def test_shuffle_cutoff_keeps_a_planted_interaction() -> None:
    rng = np.random.default_rng(1)
    w1, z = rng.random((200, 30)), rng.random(200)
    w1[:30, [2, 5, 7]] += 2.0  # 30 units mix features 2, 5, 7
    w1[30:50, [11, 12]] += 2.0  # 20 units mix features 11, 12
    got = greedy_interactions(w1, z)
    assert [i.features for i in got] == [(2, 5, 7), (11, 12)]


def test_dense_uniform_units_do_not_make_all_features_interact() -> None:
    """Units that weigh all 10 features alike (each at its own level) carry no interaction
    structure; only the row-shuffle null (which keeps each unit's density) says so: the
    column shuffle alone lets the full set pass."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        w1 = rng.random((64, 1)) * (1 + 0.01 * rng.random((64, 10)))
        z = rng.random(64)
        assert greedy_interactions(w1, z, cutoff=None)[0].features == tuple(range(10))  # raw: the pitfall
        assert greedy_interactions(w1, z) == []


def test_a_true_interaction_plus_the_next_ranked_feature_is_not_reported(monkeypatch) -> None:
    """Units mixing 2 and 5, where 9 also weighs in: {2, 5} and {2, 5, 9} are real; without the
    conditional null (the parent kept, every other column shuffled) the next-ranked random
    feature rides along as {2, 5, 9, x}."""
    for seed, extra in ((0, 3), (1, 1)):
        rng = np.random.default_rng(seed)
        w1, z = rng.random((200, 30)), rng.random(200)
        w1[:30, [2, 5]] += 2.0
        w1[:30, 9] += 1.0
        assert [i.features for i in greedy_interactions(w1, z)] == [(2, 5), (2, 5, 9)]
        with monkeypatch.context() as m:  # what the conditional null removes
            m.setattr("rlviz.explain.interactions._beats_its_parents", lambda *a, **k: True)
            unconditional = [i.features for i in greedy_interactions(w1, z)]
        assert sum(len(f) == 4 and {2, 5, 9} < set(f) for f in unconditional) == extra


def test_non_mlp_layers_and_bad_orders_are_refused() -> None:
    with pytest.raises(RlvizError):
        neuron_interactions(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 1)))
    with pytest.raises(RlvizError):
        neuron_interactions([W1, WY], order=3)
    with pytest.raises(RlvizError):
        neuron_interactions([W1, WY], action=1)  # one output only
    with pytest.raises(RlvizError):
        mlp_weights([np.ones((2, 3)), np.ones((1, 5))])  # do not chain


def test_refusals_say_what_was_found_and_what_to_do() -> None:
    """The user sees these lines (kills the message mutants of mlp_weights and aggregated_influence)."""
    cases = [
        (lambda: neuron_interactions(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 1))),
         "NID reads MLPs of Linear and element-wise layers; found Conv2d. For a CNN policy use policy_interactions(agent)"),
        (lambda: mlp_weights([]), "the model has no Linear layer; pass an MLP or a list of weight matrices"),
        (lambda: neuron_interactions([W1]), "NID needs at least two Linear layers (a hidden layer and an output)"),
        (lambda: neuron_interactions([W1, WY], action=1), "output row 1 does not exist; the model has 1 outputs"),
        (lambda: mlp_weights([np.ones((2, 3)), np.ones((1, 5))]),
         "weight matrices do not chain: (2, 3) then (1, 5); give them as (out, in), first layer first"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(RlvizError) as info:
            call()
        assert str(info.value) == message


def test_actions_count_from_the_end_like_python_indices() -> None:
    """-1 is the last output; -(n+1) does not exist (kills the bounds mutants of the action check)."""
    w1 = [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]
    wy = [[1.0, 0.0], [0.0, 1.0]]  # 2 outputs over 2 units
    assert neuron_interactions([w1, wy], action=-1) == neuron_interactions([w1, wy], action=1)
    assert neuron_interactions([w1, wy], action=-2) == neuron_interactions([w1, wy], action=0)
    with pytest.raises(RlvizError, match="output row -3 does not exist; the model has 2 outputs"):
        neuron_interactions([w1, wy], action=-3)
    with pytest.raises(RlvizError, match="output row -2 does not exist; the model has 1 outputs"):
        neuron_interactions([W1, WY], action=-2)  # 1 output over 2 units: the unit count is not the bound


def test_a_vector_is_not_a_weight_matrix() -> None:
    """A 1-D first 'layer' whose length happens to match the next layer's inputs is refused."""
    with pytest.raises(RlvizError, match="do not chain"):
        mlp_weights([np.ones(3), np.ones((1, 3))])


def test_a_block_holding_one_linear_layer_reads_like_the_flat_mlp() -> None:
    net = nn.Sequential(nn.Sequential(nn.Linear(3, 2)), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0][0].weight.copy_(torch.tensor(W1))
        net[2].weight.copy_(torch.tensor(WY))
    assert neuron_interactions(net) == neuron_interactions([W1, WY])


def test_weights_come_back_as_float64_cpu_matrices_from_float32_layers_and_parameters() -> None:
    """Trainable float32 parameters (requires_grad) can be passed as a list; NID reads them in float64."""
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    weights = mlp_weights([net[0].weight, net[2].weight])
    assert [w.dtype for w in weights] == [torch.float64, torch.float64]
    assert [w.device.type for w in weights] == ["cpu", "cpu"]
    assert torch.equal(weights[0], net[0].weight.detach().double())
    assert [w.dtype for w in mlp_weights(net)] == [torch.float64, torch.float64]


def test_small_problems_keep_float64_precision_large_ones_use_float32() -> None:
    """omega of two weights 1 + 2^-30 is 1 + 2^-30 in float64 (float32 would round it to 1); a
    problem of h p^2 > 5e7 floats is computed in float32 to halve its memory."""
    w = torch.full((1, 2), 1.0 + 2.0**-30, dtype=torch.float64)
    m = pairwise_strengths(w, torch.ones(1, dtype=torch.float64))
    assert m.dtype == torch.float64 and float(m[0, 1]) == 1.0 + 2.0**-30
    big = pairwise_strengths(torch.ones(16, 1800, dtype=torch.float64), torch.ones(16, dtype=torch.float64))
    assert big.dtype == torch.float32 and float(big[0, 1]) == 16.0


def _tied_matrix() -> torch.Tensor:
    """20 x 20 symmetric strengths: pair number k (in (a, b) order) has k / 1000, except every
    9th pair, which has 1.0 (22 pairs tied at the top)."""
    ia, ib = torch.triu_indices(20, 20, offset=1)
    values = torch.arange(len(ia), dtype=torch.float64) / 1000
    values[::9] = 1.0
    m = torch.zeros(20, 20, dtype=torch.float64)
    m[ia, ib] = values
    return m + m.T


def test_rank_pairs_orders_by_strength_then_pair_for_any_input_and_top_k() -> None:
    """Oracle: Python's sort on (-strength, a, b). top_k=22 < 190 // 8 takes the topk path,
    top_k=30 the full sort; ties keep (a, b) order on both (kills the sort and topk mutants)."""
    m = _tied_matrix()
    want = sorted(((a, b) for a in range(20) for b in range(a + 1, 20)), key=lambda ab: (-float(m[ab]), ab))
    for matrix in (m, m.numpy(), m.tolist(), m.clone().requires_grad_()):
        got = rank_pairs(matrix)
        assert [i.features for i in got] == want
        assert [i.strength for i in got] == [float(m[ab]) for ab in want]
    for top_k in (22, 30):  # not inside the tie: there topk picks which tied pairs make the cut
        assert [i.features for i in rank_pairs(m, top_k)] == want[:top_k]
    distinct = torch.rand(20, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    distinct = distinct + distinct.T
    want = sorted(((a, b) for a in range(20) for b in range(a + 1, 20)), key=lambda ab: -float(distinct[ab]))
    assert [i.features for i in rank_pairs(distinct, 3)] == want[:3]


def test_pairwise_matrix_is_the_hand_computed_omega_per_action() -> None:
    w1 = [[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]
    wy = [[1.0, 0.0], [0.0, 3.0]]  # output 0 reads unit 0, output 1 unit 1
    # omega{0,1} = z0 min(1, 1) + z1 min(0, 2); omega{0,2} = 0; omega{1,2} = z1 min(2, 1)
    expected = {None: [[0, 1, 0], [1, 0, 3], [0, 3, 0]], 0: [[0, 1, 0], [1, 0, 0], [0, 0, 0]],
                1: [[0, 0, 0], [0, 0, 3], [0, 3, 0]]}  # fmt: skip
    for action, want in expected.items():
        got = pairwise_matrix([w1, wy], action=action)
        assert isinstance(got, np.ndarray) and got.tolist() == want
    deeper = [w1, [[1.0, 0.0], [0.0, 1.0]], wy]  # an identity layer in between changes nothing
    assert pairwise_matrix(deeper, action=1).tolist() == expected[1]


def _prefix_sets(w: np.ndarray, z: float) -> list[Interaction]:
    """The raw any-order list of one unit, by hand: features by weight (ties by index), each
    prefix of k >= 2 features with strength z times its k-th weight; strongest first, then smaller."""
    order = sorted(range(len(w)), key=lambda j: (-w[j], j))
    sets = [(tuple(sorted(order[:k])), z * w[order[k - 1]]) for k in range(2, len(w) + 1) if w[order[k - 1]] > 0]
    return [Interaction(f, v) for f, v in sorted(sets, key=lambda fv: (-fv[1], len(fv[0])))]


def test_raw_any_order_of_one_unit_is_its_weight_prefixes_with_ties_broken_by_feature() -> None:
    """20 features on 3 weight levels: tied weights join a set in feature order (kills a
    non-stable argsort, whose order of ties differs)."""
    w = np.random.default_rng(0).integers(1, 4, 20).astype(np.float64)
    assert greedy_interactions(w[None, :], [2.0], cutoff=None) == _prefix_sets(w, 2.0)


def test_silent_units_and_zero_weights_add_nothing() -> None:
    """A unit with z = 0 before a live one, and a live unit whose last weights are 0: the raw
    list is the live units' prefixes alone (kills 'continue' -> 'break' and 'break' -> 'return')."""
    live = np.array([3.0, 1.0, 2.0, 0.0, 0.0])
    w = np.stack([np.ones(5), live])
    assert greedy_interactions(w, [0.0, 2.0], cutoff=None) == _prefix_sets(live, 2.0)
    assert _prefix_sets(live, 2.0) == [Interaction((0, 2), 4.0), Interaction((0, 1, 2), 2.0)]


def test_any_order_accepts_float32_and_tensors_straight_from_a_layer() -> None:
    """float32 weights are read in float64 (the strengths equal the float64 run's exactly), and
    trainable tensors (requires_grad) are accepted (kills the dtype and tensor-branch mutants)."""
    rng = np.random.default_rng(1)
    w32, z32 = rng.random((8, 6)).astype(np.float32), rng.random(8).astype(np.float32)
    want = greedy_interactions(w32.astype(np.float64), z32.astype(np.float64), cutoff=None)
    assert greedy_interactions(w32, z32, cutoff=None) == want
    tensors = torch.from_numpy(w32).requires_grad_(), torch.from_numpy(z32).requires_grad_()
    assert greedy_interactions(*tensors, cutoff=None) == want


@pytest.mark.parametrize("p, largest", [(40, 40), (64, 64), (65, 32)])
def test_default_max_order_is_every_size_up_to_64_features_then_32(p: int, largest: int) -> None:
    w = np.random.default_rng(p).random((8, p)) + 0.1
    raw = greedy_interactions(w, np.ones(8), cutoff=None)
    assert max(len(i.features) for i in raw) == largest


def test_max_order_2_gives_pairs_and_below_2_is_refused() -> None:
    rng = np.random.default_rng(1)
    w1, z = rng.random((200, 30)), rng.random(200)
    w1[:30, [2, 5, 7]] += 2.0
    pairs = greedy_interactions(w1, z, max_order=2)
    assert pairs and all(len(i.features) == 2 for i in pairs)
    assert {i.features for i in pairs} <= {(2, 5), (2, 7), (5, 7)}
    with pytest.raises(RlvizError) as info:
        greedy_interactions(w1, z, max_order=1)
    assert str(info.value) == "max_order must be at least 2, got 1"
    with pytest.raises(RlvizError) as info:
        neuron_interactions([W1, WY], order=3)
    assert str(info.value) == "order must be 2 (pairwise) or None / 'any' (any order), got 3"
    with pytest.raises(RlvizError) as info:
        greedy_interactions(w1, z, cutoff="strict")
    assert str(info.value) == "cutoff must be 'shuffle' or None, got 'strict'"


def test_any_order_results_do_not_depend_on_the_scale_of_the_weights() -> None:
    """NID is scale-free: weights times 2^-10 (exact in floats) give the same sets with strengths
    times 2^-10 (kills a conditional null that starts at 1.0 instead of 0)."""
    rng = np.random.default_rng(0)
    w1, z = rng.random((200, 30)), rng.random(200)
    w1[:30, [2, 5]] += 2.0
    w1[:30, 9] += 1.0
    got = greedy_interactions(w1, z)
    assert [i.features for i in got] == [(2, 5), (2, 5, 9)]
    small = greedy_interactions(w1 * 2.0**-10, z)
    assert small == [Interaction(i.features, i.strength * 2.0**-10) for i in got]


def test_a_true_pair_plus_the_next_ranked_feature_is_not_reported() -> None:
    """A pair planted in 15 of 60 units: the next-ranked random feature of those units beats the
    unconditional null as {1, 4, 10}; the conditional null on the parent pair removes it
    (kills skipping parents of size 2)."""
    rng = np.random.default_rng(2)
    w1, z = rng.random((60, 12)), rng.random(60)
    w1[:15, [1, 4]] += 1.5
    assert [i.features for i in greedy_interactions(w1, z)] == [(1, 4)]


def test_a_feature_every_unit_weighs_alike_does_not_join_a_true_pair() -> None:
    """Feature 9 weighs 1.5 (within 1%) in every unit: merely popular, it ranks third in the
    planted pair's units. The conditional null keeps each outside column's weights (shuffling
    them across units), so 9 stays as popular there and {2, 5, 9} does not beat it (kills a
    conditional null that shuffles the outside block as a whole, axis=None)."""
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        w1, z = rng.random((200, 30)), rng.random(200)
        w1[:30, [2, 5]] += 2.0
        w1[:, 9] = 1.5 + 0.01 * rng.random(200)
        assert [i.features for i in greedy_interactions(w1, z)] == [(2, 5)]


def test_the_verb_passes_every_option_to_the_any_order_search() -> None:
    """A borderline case (a pair planted in 15 of 60 units) whose shuffle cut-off depends on the
    seed and on n_null: neuron_interactions(order=None) equals greedy_interactions on |W1| and z
    option by option, with greedy's defaults (shuffle cut-off, seed 0, 20 shuffles)."""
    rng = np.random.default_rng(15)
    w1, z = rng.random((60, 12)), rng.random(60)
    w1[:15, [1, 4]] += 1.5
    weights = [w1, z[None, :]]  # one output: z is its row
    runs = [{}, {"seed": 1}, {"n_null": 5}, {"cutoff": None}, {"top_k": 2, "n_null": 5}, {"max_order": 2, "cutoff": None}]
    results = [greedy_interactions(w1, z, **kw) for kw in runs]
    assert len({tuple(r) for r in results}) == len(runs)  # every option changes the answer here
    for kw, want in zip(runs, results):
        assert neuron_interactions(weights, order=None, **kw) == want
    assert results[0] == greedy_interactions(w1, z, cutoff="shuffle", seed=0, n_null=20)


# ------------------------------------------------------------------------------------ CNN


def test_grouping_sums_absolute_weights_over_channels_or_cells(agent: Agent) -> None:
    parts = cnn_parts(agent)
    w1 = parts.fc1.weight.detach().double()
    cells, chans = grouped_weights(parts, "cell"), grouped_weights(parts, "channel")
    assert cells.shape == (512, 49) and chans.shape == (512, 64)
    for i, cell in [(0, 0), (5, 17), (511, 48)]:
        ref = sum(abs(float(w1[i, c * 49 + cell])) for c in range(64))  # channel-major flatten
        assert float(cells[i, cell]) == pytest.approx(ref)
    for i, chan in [(0, 0), (7, 33)]:
        ref = sum(abs(float(w1[i, chan * 49 + g])) for g in range(49))
        assert float(chans[i, chan]) == pytest.approx(ref)


def test_receptive_fields_match_gradient_support() -> None:
    torch.manual_seed(0)
    net = NatureActorCritic(2)
    with torch.no_grad():  # positive weights and biases: every ReLU passes, support = field
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.abs_()
                m.bias.fill_(0.1)
    parts = cnn_parts(Agent(net))
    boxes = receptive_field_boxes(parts)
    x = torch.rand(1, 4, 84, 84, requires_grad=True)
    out = parts.conv(x)[0].sum(0)  # (7, 7): all channels of each cell
    for r in range(7):
        for c in range(7):
            (grad,) = torch.autograd.grad(out[r, c], x, retain_graph=True)
            ys, xs = np.nonzero(grad[0].abs().sum(0).numpy())
            assert tuple(boxes[r * 7 + c]) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert tuple(boxes[r * 7 + c]) == (8 * c, 8 * r, 8 * c + 36, 8 * r + 36)


def test_rgb_boxes_are_a_pure_scale_of_observation_boxes(agent: Agent) -> None:
    top = policy_interactions(agent, top_k=20)
    for it in top:
        for (ox0, oy0, ox1, oy1), (x0, y0, x1, y1) in zip(it.obs_boxes, it.rgb_boxes):
            assert x0 == np.floor(ox0 * 160 / 84) and y0 == np.floor(oy0 * 210 / 84)
            assert x1 == np.ceil(ox1 * 160 / 84) and y1 == np.ceil(oy1 * 210 / 84)
        for (px0, py0, px1, py1), (x0, y0, x1, y1) in zip(it.rgb_patches, it.rgb_boxes):
            assert x0 <= px0 < px1 <= x1 and y0 <= py0 < py1 <= y1


def test_policy_pairs_equal_the_matrix_ranking(agent: Agent) -> None:
    m = policy_interaction_matrix(agent, action=1)
    top = policy_interactions(agent, action=1, top_k=3)
    a, b = top[0].features
    assert m[a, b] == pytest.approx(m.max()) and top[0].strength == pytest.approx(m.max())
    assert top[0].labels == (f"cell r{a // 7} c{a % 7}", f"cell r{b // 7} c{b % 7}")


def test_each_action_reports_the_regions_its_units_combine() -> None:
    agent = _agent(n_actions=2)
    net = agent.net
    with torch.no_grad():
        w = torch.zeros(512, 64, 49)
        w[0, :, [3, 10]] = 1.0  # unit 0 mixes cells 3 and 10
        w[1, :, [20, 40]] = 1.0  # unit 1 mixes cells 20 and 40
        net.features[7].weight.copy_(w.reshape(512, -1))
        net.actor.weight.zero_()
        net.actor.weight[0, 0] = 1.0  # action 0 reads unit 0
        net.actor.weight[1, 1] = 1.0  # action 1 reads unit 1
    assert policy_interactions(agent, action=0, top_k=1)[0].features == (3, 10)
    assert policy_interactions(agent, action=1, top_k=1)[0].features == (20, 40)


def test_frame_conditioned_with_unit_activations_equals_weight_only(agent: Agent) -> None:
    ones = torch.ones(2, 64, 7, 7)
    for group, action in [("cell", None), ("channel", 2), ("cell", "value")]:
        per_frame = activation_interaction_matrices(agent, ones, group=group, action=action)
        weight_only = policy_interaction_matrix(agent, group=group, action=action)
        np.testing.assert_allclose(per_frame[0], weight_only, rtol=1e-10)
        np.testing.assert_allclose(per_frame[1], weight_only, rtol=1e-10)


def test_a_silent_cell_takes_part_in_no_active_pair(agent: Agent) -> None:
    acts = torch.rand(3, 64, 7, 7) + 0.1
    acts[1, :, 2, 4] = 0.0  # cell 18 silent in frame 1 only
    m = activation_interaction_matrices(agent, acts)
    assert np.all(m[1, 18, :] == 0) and np.all(m[1, :, 18] == 0)
    assert np.all(np.delete(m[0, 18], 18) > 0)  # the same cell is active in frame 0


def test_frame_interactions_are_batched_per_frame(agent: Agent) -> None:
    obs = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    batched = frame_interactions(agent, obs, top_k=4)
    assert len(batched) == 3 and all(len(f) == 4 for f in batched)
    single = frame_interactions(agent, obs[2], top_k=4)
    assert [i.features for i in single[0]] == [i.features for i in batched[2]]
    assert [i.strength for i in single[0]] == pytest.approx([i.strength for i in batched[2]], rel=1e-5)


def test_bad_requests_are_refused_with_rlviz_errors(agent: Agent) -> None:
    with pytest.raises(RlvizError):
        policy_interactions(_agent(q=True), action="value")
    with pytest.raises(RlvizError):
        policy_interactions(agent, group="pixel")
    with pytest.raises(RlvizError):
        policy_interactions(agent, action=3)
    with pytest.raises(RlvizError):
        policy_interactions(Agent(nn.Sequential(nn.Flatten(), nn.Linear(4 * 84 * 84, 2))))


# ------------------------------------------------------------------------------------ figures


def test_pair_figure_draws_on_the_frame_and_keeps_its_size_for_video(agent: Agent) -> None:
    frame = np.zeros((210, 160, 3), np.uint8)
    pairs = policy_interactions(agent, top_k=3)
    overlay = draw_interaction_pairs(frame, pairs, scale=1, legend=False)
    assert overlay.shape == frame.shape and overlay.dtype == np.uint8
    x0, y0, x1, y1 = pairs[0].rgb_patches[0]
    assert overlay[y0:y1, x0:x1].any()  # the strongest pair's patch is drawn
    figure = draw_interaction_pairs(frame, pairs, title="test")
    assert figure.shape[1] == 480 and figure.shape[0] > 630
    with pytest.raises(RlvizError):
        draw_interaction_pairs(frame, policy_interactions(agent, group="channel", top_k=1))


def test_matrix_figure_is_an_rgb_image_with_a_grey_diagonal() -> None:
    m = np.random.default_rng(0).random((49, 49))
    img = draw_interaction_matrix(m + m.T, title="t")
    assert img.ndim == 3 and img.dtype == np.uint8
    left, top, px = 92, 64, 10  # the layout's margins and cell size for 49 groups
    assert tuple(img[top + 5 * px + 5, left + 5 * px + 5]) == (160, 160, 160)


def test_report_writes_ranked_json_and_figures_per_action(agent: Agent, tmp_path) -> None:
    paths = write_interaction_report(agent, tmp_path, frame_rgb=np.zeros((210, 160, 3), np.uint8))
    report = json.loads(paths["json"].read_text())
    assert set(report["analyses"]) == {"overall", "action_0_action_0", "action_1_action_1",
                                       "action_2_action_2", "value"}
    pairs = report["analyses"]["overall"]["pairs"]
    assert [p["strength"] for p in pairs] == sorted((p["strength"] for p in pairs), reverse=True)
    assert len(pairs[0]["rgb_boxes"]) == 2 and pairs[0]["relative_strength"] == 1.0
    # the file holds the analysis itself: the same pairs and strengths as the API, per action
    for key, act in (("overall", None), ("action_1_action_1", 1)):
        want = policy_interactions(agent, action=act, top_k=10)
        got = report["analyses"][key]["pairs"]
        assert [tuple(p["features"]) for p in got] == [w.features for w in want]
        assert [p["strength"] for p in got] == pytest.approx([w.strength for w in want])
        assert [p["rgb_boxes"] for p in got] == [[list(b) for b in w.rgb_boxes] for w in want]
    matrix = policy_interaction_matrix(agent, action=None)
    median = float(np.median(matrix[np.triu_indices_from(matrix, 1)]))
    assert report["analyses"]["overall"]["median_pair_strength"] == pytest.approx(median)
    for key in ("overall", "action_1_action_1", "value"):
        for kind in ("matrix", "pairs"):
            assert cv2.imread(str(paths[f"{kind}_{key}"])) is not None
