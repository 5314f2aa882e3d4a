"""What the method registry promises, checked without running the methods: each name reaches
its own function with the target and options given; each listed option is that function's
keyword with its default; each method's output, ranking and citation are the ones the README
and docs/faithfulness.md document; `rlviz methods` prints all of it. (The methods themselves run
in test_method_registry.py and test_attribution_methods.py.)"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rlviz.explain.registry as reg
from rlviz.explain.registry import MethodSpec, attribute, get_spec, method_names, methods_table, registry, to_map
from rlviz.explain.targets import Contrast
from rlviz.util.errors import RlvizError

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "README.md").exists())  # (mutmut runs tests in a subfolder)
# the function behind each method (README: "Explanation methods"; sarfa reads perturbation_saliency's options)
FUNCTIONS = {
    "saliency-actor": ("rlviz.explain.perturbation", "perturbation_saliency"),
    "saliency-critic": ("rlviz.explain.perturbation", "perturbation_saliency"),
    "sarfa": ("rlviz.explain.sarfa", "sarfa"),
    "gradient": ("rlviz.explain.gradient", "gradient"),
    "gradient-x-input": ("rlviz.explain.gradient", "gradient_x_input"),
    "smoothgrad": ("rlviz.explain.smoothgrad", "smoothgrad"),
    "integrated-gradients": ("rlviz.explain.integrated_gradients", "integrated_gradients"),
    "deeplift": ("rlviz.explain.deeplift", "deeplift"),
    "gradcam": ("rlviz.explain.gradcam", "gradcam"),
    "meaningful-perturbation": ("rlviz.explain.meaningful_perturbation", "meaningful_perturbation"),
}
AGENT = object()  # the methods are replaced: the agent is only passed along


def _keywords(fn) -> dict:
    return {p.name: p.default for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY}


def test_each_listed_option_is_its_functions_keyword_with_the_same_default():
    from rlviz.explain.lrp import COMPOSITES
    from rlviz.explain.lrp import lrp as lrp_fn

    specs = registry()
    for name, spec in specs.items():
        listed = {opt: default for opt, (default, _) in spec.options.items()}
        if name.startswith("lrp-"):
            composite = COMPOSITES[name.removeprefix("lrp-")]
            expected = {p: None for p in inspect.signature(composite).parameters} | {"batch_size": _keywords(lrp_fn)["batch_size"]}
        else:
            module, function = FUNCTIONS["saliency-actor" if name == "sarfa" else name]
            expected = _keywords(getattr(importlib.import_module(module), function))
        assert listed == expected, name
        assert all(help_text for _, help_text in spec.options.values()), name
    assert {n for n in specs if n.startswith("lrp-")} == {f"lrp-{c}" for c in COMPOSITES}
    assert set(specs) - {n for n in specs if n.startswith("lrp-")} == set(FUNCTIONS)


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1] in ("map", "frames"):
            for name in re.findall(r"`([a-z<>-]+)`", cells[0]):
                rows[name] = cells
    return rows


def test_output_ranking_and_citation_are_the_documented_ones():
    readme = _readme_rows()
    ranking = {}
    for line in (ROOT / "docs" / "faithfulness.md").read_text().splitlines():
        m = re.match(r"\| `([a-z<>-]+)` \|.*\| by (value|magnitude)", line)
        if m:
            ranking[m.group(1)] = m.group(2)
    for name, spec in registry().items():
        doc = "lrp-<composite>" if name.startswith("lrp-") else name
        row = readme[doc]
        assert spec.output == row[1], name
        assert spec.rank_by == ranking[doc], name
        cited = re.search(r"\(([A-Z][a-z]+ (?:et al\.|& [A-Z][a-z]+) \d{4})\)[^(]*$", row[2])
        if cited:
            assert spec.summary.endswith(cited.group(1) + ")"), name
    assert get_spec("gradient-x-input").summary.endswith("(Shrikumar et al. 2016; LRP-0 on a ReLU net)")  # README: LRP-0
    assert all(s.summary.endswith("(Bach et al. 2015; Montavon et al. 2019)") for n, s in registry().items() if n.startswith("lrp-"))


class Recorder:
    """Stands in for a method's function: records the call, returns a marked map of the right shape."""

    def __init__(self, mark: float, frames: bool, drop_batch: bool = False):
        self.mark, self.frames, self.drop_batch, self.calls = mark, frames, drop_batch, []

    def __call__(self, agent, obs, *args, **kw):
        target = args[0] if args else kw.pop("target", None)
        self.calls.append((agent, np.shape(obs), target, kw))
        shape = (len(obs), 4, 84, 84) if self.frames else (len(obs), 84, 84)
        out = np.full(shape, self.mark, np.float64)
        return out[0] if self.drop_batch else out


class FakeSaliency:
    def __init__(self, n: int) -> None:
        self.actor, self.critic = np.full((n, 84, 84), 1.0), np.full((n, 84, 84), 2.0)


@pytest.fixture
def fakes(monkeypatch):
    """Every method's function replaced by a recorder whose map holds its own number."""
    calls = {}

    def saliency(agent, obs, **kw):
        calls.setdefault("perturbation_saliency", []).append((agent, np.shape(obs), None, kw))
        return FakeSaliency(len(obs))

    monkeypatch.setattr(importlib.import_module("rlviz.explain.perturbation"), "perturbation_saliency", saliency)
    recorders = {}
    for k, (name, (module, function)) in enumerate(FUNCTIONS.items()):
        if function == "perturbation_saliency":
            continue
        recorders[name] = Recorder(10.0 + k, get_spec(name).output == "frames")
        monkeypatch.setattr(importlib.import_module(module), function, recorders[name])
    lrp = Recorder(99.0, True)
    monkeypatch.setattr(importlib.import_module("rlviz.explain.lrp"), "lrp", lrp)
    recorders["lrp"] = lrp
    return calls, recorders


def test_each_method_name_reaches_its_own_function_with_the_target_and_options(fakes):
    calls, recorders = fakes
    obs = np.zeros((3, 4, 84, 84), np.uint8)
    assert np.all(attribute(AGENT, obs, "saliency-actor", stride=7) == 1.0)
    assert np.all(attribute(AGENT, obs, "saliency-critic", target="value") == 2.0)
    assert calls["perturbation_saliency"] == [(AGENT, (3, 4, 84, 84), None, {"stride": 7}), (AGENT, (3, 4, 84, 84), None, {})]
    for k, name in enumerate(FUNCTIONS):
        if name.startswith("saliency"):
            continue
        maps = attribute(AGENT, obs, name, target=1, batch_size=5)
        assert maps.dtype == np.float32 and np.all(maps == 10.0 + k), name
        assert recorders[name].calls == [(AGENT, (3, 4, 84, 84), 1, {"batch_size": 5})], name
    contrast = Contrast(np.array([0, 1, 2]))
    maps = attribute(AGENT, obs, "lrp-epsilon-gamma-box", target=contrast, gamma=0.5)
    assert np.all(maps == 99.0)
    assert recorders["lrp"].calls == [(AGENT, (3, 4, 84, 84), contrast, {"composite": "epsilon-gamma-box", "gamma": 0.5})]


def test_one_observation_becomes_a_batch_of_one_whatever_the_method_returns(fakes):
    _, recorders = fakes
    assert attribute(AGENT, np.zeros((4, 84, 84), np.uint8), "gradient").shape == (1, 4, 84, 84)
    assert attribute(AGENT, torch.zeros(4, 84, 84), "gradcam").shape == (1, 84, 84)
    assert recorders["gradcam"].calls[0][1] == (1, 4, 84, 84)
    assert attribute(AGENT, torch.zeros(2, 4, 84, 84), "gradcam").shape == (2, 84, 84)
    assert attribute(AGENT, np.zeros((2, 4, 84, 84), np.uint8).tolist(), "gradient").shape == (2, 4, 84, 84)  # a list of them
    recorders["deeplift"].drop_batch = recorders["gradcam"].drop_batch = True  # a function that drops the batch axis
    assert attribute(AGENT, np.zeros((1, 4, 84, 84)), "deeplift").shape == (1, 4, 84, 84)
    assert attribute(AGENT, np.zeros((1, 4, 84, 84)), "gradcam").shape == (1, 84, 84)


def test_the_default_method_is_gradient_x_input_of_the_greedy_action(fakes):
    _, recorders = fakes
    assert np.all(attribute(AGENT, np.zeros((2, 4, 84, 84), np.uint8)) == recorders["gradient-x-input"].mark)
    assert recorders["gradient-x-input"].calls == [(AGENT, (2, 4, 84, 84), "action", {})]


def test_which_targets_each_method_takes(fakes):
    obs = np.zeros((1, 4, 84, 84), np.uint8)
    for name, spec in registry().items():
        for target in ("action", "value", "contrast", 2, np.array([1]), Contrast(np.array([1]))):
            if name == "sarfa" and isinstance(target, str) and target == "value":
                with pytest.raises(RlvizError, match=r"^method 'sarfa' cannot explain target 'value'; it takes: action, contrast, index$"):
                    attribute(AGENT, obs, name, target=target)
            else:
                attribute(AGENT, obs, name, target=target)
        assert spec.uses_target == (not name.startswith("saliency-")), name


def test_unknown_options_are_refused_in_one_line_listing_them_and_the_methods_own(fakes):
    obs = np.zeros((1, 4, 84, 84), np.uint8)
    with pytest.raises(RlvizError, match=r"^method 'gradient' has no option steps, zeta; its options: batch_size$"):
        attribute(AGENT, obs, "gradient", zeta=1, steps=3)
    with pytest.raises(RlvizError, match=r"^method 'saliency-actor' has no option target_layer; its options: stride, mask_sigma"):
        attribute(AGENT, obs, "saliency-actor", target_layer=1)
    with pytest.raises(RlvizError, match=r"^target must be"):
        attribute(AGENT, obs, "saliency-actor", target="policy")  # checked even where the target is not used


def test_an_unknown_name_lists_every_method_and_says_when_lrp_is_missing(monkeypatch):
    names = ", ".join(method_names())
    with pytest.raises(RlvizError, match=rf"^unknown explanation method 'lrp-nothing'; choose from: {re.escape(names)}$"):
        get_spec("lrp-nothing")
    monkeypatch.setitem(sys.modules, "rlviz.explain.lrp", None)  # the optional LRP module does not import
    assert reg._lrp_composites() == {}
    without = [n for n in method_names() if not n.startswith("lrp-")]
    assert method_names() == without and len(without) == len(FUNCTIONS)
    with pytest.raises(RlvizError, match=rf"^unknown explanation method 'lrp-zero' \(LRP could not be imported\); choose from: {re.escape(', '.join(without))}$"):
        get_spec("lrp-zero")
    with pytest.raises(RlvizError, match=r"^unknown explanation method 'occlusion'; choose"):
        get_spec("occlusion")


def test_to_map_sums_the_stack_signed_for_value_methods_and_in_magnitude_for_the_others():
    maps = np.zeros((1, 4, 84, 84), np.float32)
    maps[0, :, 3, 5] = [1.0, -2.0, 0.5, -0.25]
    by_value = to_map(get_spec("deeplift"), maps)
    by_magnitude = to_map(get_spec("gradient"), maps)
    assert by_value.shape == by_magnitude.shape == (1, 84, 84)
    assert by_value[0, 3, 5] == pytest.approx(-0.75) and by_magnitude[0, 3, 5] == pytest.approx(3.75)
    assert np.count_nonzero(by_value) == np.count_nonzero(by_magnitude) == 1
    flat = np.full((2, 84, 84), -1.0)
    assert to_map(get_spec("saliency-actor"), flat) is flat  # already one map per observation


def test_methods_table_prints_each_methods_shape_ranking_targets_summary_and_options():
    lines = methods_table().splitlines()
    specs = registry()
    headers = [k for k, line in enumerate(lines) if "  ->  " in line]
    assert [lines[k].split("  ->  ")[0] for k in headers] == list(specs) == method_names()
    for k, (name, spec) in zip(headers, specs.items()):
        shape = "(N, 4, 84, 84)" if spec.output == "frames" else "(N, 84, 84)"
        targets = ", ".join(spec.targets) if spec.targets else "fixed (all logits / the value)"
        assert lines[k] == f"{name}  ->  {shape}, ranked by {spec.rank_by}; targets: {targets}"
        assert lines[k + 1] == f"    {spec.summary}"
        assert lines[k + 2 : k + 2 + len(spec.options)] == [f"    {o}={d!r}: {h}" for o, (d, h) in spec.options.items()]
    assert lines[headers[0]] == "saliency-actor  ->  (N, 84, 84), ranked by magnitude; targets: fixed (all logits / the value)"
    assert "gradient  ->  (N, 4, 84, 84), ranked by magnitude; targets: action, value, contrast, index" in lines
    assert "    stride=5: grid stride of the perturbation centres, px" in lines
    assert len(lines) == len(specs) * 2 + sum(len(s.options) for s in specs.values())


def test_a_spec_without_options_or_targets_has_neither():
    spec = MethodSpec("x", lambda *a: None, "map", "value", (), "s")
    assert spec.options == {} and spec.free_options is False and spec.uses_target is False


def test_a_method_without_targets_has_no_contrastive_variant_and_says_so():
    from rlviz.assess.faithfulness import get_method

    for name in ("saliency-actor", "saliency-critic"):
        with pytest.raises(RlvizError, match=rf"^method '{name}' has no contrastive variant; it takes: no target$"):
            get_method(f"{name}@contrast")
    assert get_method("saliency-critic").targets == ()
