"""Checkpoints of other packages' networks open by structure, whatever their key names.

Each test builds a network the way another package would (its own module names, its own
forward, random weights), saves it the way that package does (plain, wrapped, gzip), imports
it with ``rlviz import`` and checks the imported agent's outputs equal the original's."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.formats.checkpoint import read_checkpoint
from rlviz.agents.formats.structure import recognise
from rlviz.agents.loading import load_agent
from rlviz.cli import main
from rlviz.util.errors import RlvizError
from tests.foreign_nets import (
    C51,
    QRDQN,
    AtariNet,
    ConvHeadQ,
    DuelingQ,
    OddActorCritic,
    ProcgenAgent,
    RawPixelQ,
    SharedDuelingQ,
    _mlp,
    _randomised,
)


def _save(obj, path, *, gz: bool = False):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path.write_bytes(gzip.compress(buffer.getvalue()) if gz else buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def obs() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (5, 4, 84, 84), dtype=np.uint8)


def _reference(net: nn.Module, obs: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        out = net(torch.from_numpy(obs))
    return out[0] if isinstance(out, tuple) else out


CASES = {
    # name: (network factory, wrap the state dict, gzip, extra CLI args)
    "conv-head-q": (ConvHeadQ, lambda sd: sd, False, []),
    "ocatari-gzip-estimator-state": (AtariNet, lambda sd: {"estimator_state": sd, "optim_state": {"lr": 1e-4}, "step": 7}, True, []),
    "cleanrl-model-weights": (OddActorCritic, lambda sd: {"model_weights": sd, "args": {"env_id": "x"}}, False, []),
    "nested-model-state-dict": (ConvHeadQ, lambda sd: {"checkpoint": {"model": {"state_dict": sd}}}, False, []),
    "raw-pixel-q": (RawPixelQ, lambda sd: sd, False, ["--input-scale", "255"]),
    "dueling-streams": (DuelingQ, lambda sd: {"state_dict": sd}, False, []),
    "dueling-shared-named": (SharedDuelingQ, lambda sd: sd, False, []),
    "dueling-shared-arch": (SharedDuelingQ, lambda sd: {k.replace("adv.", "h2."): v for k, v in sd.items()}, False,
                            ["--arch", "nature-dueling-q"]),
    "c51": (C51, lambda sd: sd, True, []),
    "qr-dqn": (QRDQN, lambda sd: {"model": sd}, False, ["--arch", "nature-qr-dqn"]),
    "impala": (ProcgenAgent, lambda sd: sd, False, []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_imported_agent_outputs_equal_the_original_network(tmp_path, obs, case):
    factory, wrap, gz, extra = CASES[case]
    net = _randomised(factory())
    src = _save(wrap(net.state_dict()), tmp_path / ("model.pt.gz" if gz else "model.pt"), gz=gz)
    out = tmp_path / "agents" / case
    assert main(["import", str(src), "--game", "SpaceInvaders", "--out", str(out), *extra]) == 0
    agent = load_agent(out)
    logits, _ = agent(obs)
    expected = _reference(net, obs)
    assert torch.allclose(logits, expected, atol=1e-5, rtol=1e-5), (logits - expected).abs().max()
    doc = json.loads((out / "agent.json").read_text())
    assert doc["action_names"] == ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
    assert doc["source"]["file"] == src.name and doc["source"]["format"] == "torch state dict"
    assert doc["source"]["imported_by"] == "rlviz import"


def test_import_records_the_pipeline_options(tmp_path):
    src = _save(_randomised(ConvHeadQ()).state_dict(), tmp_path / "dqn.pt")
    out = tmp_path / "si"
    args = ["import", str(src), "--game", "ALE/SpaceInvaders-v5", "--frame-skip", "5", "--sticky-actions", "0.25",
            "--noop-max", "0", "--name", "si-dqn", "--out", str(out)]
    assert main(args) == 0
    agent = load_agent(out)
    spec = agent.env_spec
    assert (spec.game, spec.frame_skip, spec.sticky_action_prob, spec.noop_max) == ("SpaceInvaders", 5, 0.25, 0)
    assert agent.name == "si-dqn"


def test_full_action_space_override_gives_ale_names(tmp_path, obs):
    class Full(ConvHeadQ):
        def __init__(self) -> None:
            super().__init__()
            self.head = _mlp(18)

    net = _randomised(Full())
    src = _save(net.state_dict(), tmp_path / "full.pt")
    assert main(["import", str(src), "--game", "Pong", "--full-action-space", "--out", str(tmp_path / "f")]) == 0
    agent = load_agent(tmp_path / "f")
    assert agent.env_spec.full_action_space and len(agent.action_names) == 18
    assert agent.action_names[:3] == ["NOOP", "FIRE", "UP"]


def test_gzip_checkpoint_is_not_called_python_objects(tmp_path):
    src = _save({"estimator_state": _randomised(AtariNet()).state_dict()}, tmp_path / "m.gz", gz=True)
    state, wrapper = read_checkpoint(src.read_bytes(), str(src))
    assert wrapper == "estimator_state" and len(state) == 10


def test_shared_dense_with_two_heads_is_ambiguous_and_lists_candidates(tmp_path):
    """Heads named h1 / h2 say nothing: an actor-critic and a dueling Q-net have these shapes."""
    state = {k.replace("val.", "h1.").replace("adv.", "h2."): v for k, v in _randomised(SharedDuelingQ()).state_dict().items()}
    src = _save(state, tmp_path / "amb.pt")
    with pytest.raises(RlvizError, match="nature-actor-critic, nature-dueling-q.*--arch") as info:
        load_agent(src, game="Pong")
    assert "\n" not in str(info.value)


def test_distributional_head_without_support_is_ambiguous(tmp_path):
    src = _save(_randomised(QRDQN()).state_dict(), tmp_path / "qr.pt")
    with pytest.raises(RlvizError, match="nature-c51, nature-qr-dqn"):
        load_agent(src, game="Pong")


def test_unknown_structure_lists_its_layers(tmp_path):
    src = _save({"enc.weight": torch.zeros(8, 4, 3, 3), "out.weight": torch.zeros(6, 8)}, tmp_path / "x.pt")
    with pytest.raises(RlvizError, match=r"enc.weight \(8, 4, 3, 3\)"):
        load_agent(src, game="Pong")


def test_recognition_ignores_names_and_order():
    """Renaming every module and reversing the key order gives the same network."""
    state = _randomised(OddActorCritic()).state_dict()
    renamed = {}
    for key, value in reversed(list(state.items())):
        prefix, _, param = key.rpartition(".")
        renamed[f"m{sorted({k.rpartition('.')[0] for k in state}).index(prefix)}.{param}"] = value
    a = recognise(state, "a", n_actions=(6, 18))
    b = recognise(renamed, "b", n_actions=(6, 18), arch="nature-actor-critic")  # names no longer break the tie
    assert a.architecture == b.architecture == {"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4}
    x = torch.rand(2, 4, 84, 84)
    assert torch.equal(a.net(x)[0], b.net(x)[0]) and torch.equal(a.net(x)[1], b.net(x)[1])


def test_pipeline_overrides_work_on_commands_that_take_an_agent(tmp_path, capsys):
    src = _save(_randomised(ConvHeadQ()).state_dict(), tmp_path / "dqn.pt")
    assert main(["evaluate", "--agent", str(src), "--game", "Pong", "--frame-skip", "5", "--sticky-actions", "0.25",
                 "--episodes", "1", "--max-steps", "3", "--quiet", "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["lengths"] == [3]
