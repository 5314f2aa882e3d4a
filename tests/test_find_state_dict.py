"""Where the weights sit inside a checkpoint someone hands us: each rule of
``formats.checkpoint.find_state_dict`` pinned by a hand-built checkpoint (mutation testing of
the module showed these rules were reached only through whole imports)."""

from __future__ import annotations

import pytest
import torch

from rlviz.agents.formats.checkpoint import MAX_DEPTH, WRAPPER_KEYS, find_state_dict
from rlviz.util.errors import RlvizError

W = {"conv.weight": torch.ones(2, 2), "conv.bias": torch.zeros(2)}


def test_a_bare_state_dict_is_itself_with_an_empty_path():
    found, path = find_state_dict(dict(W), "f")
    assert path == "" and found.keys() == W.keys() and all(found[k] is W[k] for k in W)


@pytest.mark.parametrize("key", WRAPPER_KEYS)
def test_every_wrapper_key_leads_to_the_weights(key):
    found, path = find_state_dict({"step": 3, key: dict(W)}, "f")
    assert path == key and found.keys() == W.keys()


def test_the_first_wrapper_key_in_order_wins_over_a_later_one():
    other = {"other.weight": torch.ones(1)}
    first, later = WRAPPER_KEYS[0], WRAPPER_KEYS[-1]
    found, path = find_state_dict({later: other, first: dict(W)}, "f")
    assert path == first and found.keys() == W.keys()


def test_a_sole_dict_under_any_other_key_is_followed_and_the_path_joined_with_slashes():
    found, path = find_state_dict({"agent": {"brain": dict(W)}, "empty": {}, "note": "x"}, "f")
    assert path == "agent/brain" and found.keys() == W.keys()


def test_tensors_beside_counters_keep_only_the_tensors():
    found, path = find_state_dict({"wrap": {**W, "step": 7, "config": {"lr": 1e-3}}}, "f")
    assert path == "wrap" and found.keys() == W.keys()


def test_keys_are_strings_even_when_the_checkpoint_used_numbers_beside_tensors():
    found, _ = find_state_dict({0: torch.ones(1), "step": 1}, "f")
    assert list(found) == ["0"]


def test_nesting_deeper_than_max_depth_is_refused_and_max_depth_is_found():
    deep = dict(W)
    for k in range(MAX_DEPTH):
        deep = {f"level{k}": deep}
    assert find_state_dict(deep, "f")[1].count("/") == MAX_DEPTH - 1
    with pytest.raises(RlvizError, match="holds no state dict"):
        find_state_dict({"top": deep}, "f")


@pytest.mark.parametrize("obj, shown", [
    ({"a": 1, "b": "x"}, "top-level: a, b"),
    ({"one": {"x": 1}, "two": {"y": 2}}, "top-level: one, two"),  # two candidates: no guessing
    ([1, 2], "top-level: list"),
    ({}, "top-level: )"),
])
def test_no_state_dict_is_one_line_that_names_the_file_and_what_is_there(obj, shown):
    with pytest.raises(RlvizError) as err:
        find_state_dict(obj, "agent.pt")
    text = str(err.value)
    assert text.startswith("agent.pt holds no state dict") and shown in text and "\n" not in text
    assert "model.state_dict()" in text


def test_the_error_lists_at_most_eight_keys():
    with pytest.raises(RlvizError) as err:
        find_state_dict({f"k{i}": i for i in range(12)}, "f")
    assert "k7" in str(err.value) and "k8" not in str(err.value)
