"""Untrusted agent files and bad inputs: refused up front with one line, never a traceback, a
hang or gigabytes of memory (issue #19: the denial-of-service, traceback and silently-wrong
findings). Every crafted file is built here, in a temporary folder."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from safety_helpers import cli, edit_agent_json, one_line_error
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.cli import build_parser
from rlviz.explain.lrp import lrp
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError

EVALUATE = ("--episodes", "1", "--max-steps", "1", "--quiet")


def _refused(capsys, agent: str, *extra: str) -> str:
    code, _, err = cli(capsys, "evaluate", "--agent", agent, *extra, *EVALUATE)
    assert code == 2, err
    return one_line_error(err)


def _arch(**changes):
    arch = {"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4}
    arch.update(changes)
    return arch


def _env(**changes):
    env = EnvSpec("Pong").to_dict()
    env.update(changes)
    return env


MALFORMED = {  # name: (changes, a word the one-line refusal must contain: the field it names)
    "architecture missing": ({"architecture": ...}, "architecture"),
    "architecture a string": ({"architecture": "nature-actor-critic"}, "architecture"),
    "n_actions a string": ({"architecture": _arch(n_actions="abc")}, "n_actions"),
    "n_actions negative": ({"architecture": _arch(n_actions=-1)}, "n_actions"),
    "n_actions 1e12": ({"architecture": _arch(n_actions=1e12)}, "n_actions"),
    "n_actions 3000000": ({"architecture": _arch(n_actions=3_000_000)}, "n_actions"),  # a 6 GB net, unless checked first
    "in_channels 1e9": ({"architecture": _arch(in_channels=10**9)}, "in_channels"),
    "screen_size 100": ({"env": _env(screen_size=100)}, "screen_size"),
    "frame_stack 0": ({"env": _env(frame_stack=0)}, "frame_stack"),
    "frame_stack a string": ({"env": _env(frame_stack="4")}, "frame_stack"),
    "frame_skip 0": ({"env": _env(frame_skip=0)}, "frame_skip"),
    "noop_max 1e12": ({"env": _env(noop_max=10**12)}, "noop_max"),
    "env missing": ({"env": ...}, "env"),
    "action_names a number": ({"action_names": 5}, "action_names"),
    "kind q on an actor-critic net": ({"kind": "q"}, "kind"),
    "hints a string": ({"hints": "expert"}, "hints"),
    "provenance a string": ({"provenance": "trained"}, "provenance"),
    "provenance steps a string": ({"provenance": {"steps": "many"}}, "provenance.steps"),
    "evaluation a list": ({"evaluation": [1, 2]}, "evaluation"),
    "evaluation mean a string": ({"evaluation": {"mean": "high"}}, "evaluation.mean"),
}


@pytest.mark.parametrize("changes,field", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_agent_json_is_refused_with_one_line_before_anything_is_built(agent_dir, capsys, changes, field):
    edit_agent_json(agent_dir, **changes)
    assert field in _refused(capsys, str(agent_dir))


@pytest.mark.parametrize("raw", [
    b'{"format": "rlviz-agent", "version": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"format": "rlviz-agent", "version": 1, "n": ' + b"9" * 5000 + b"}",
    b'{"format": "rlviz-agent", "version": 1, "n": NaN}',
    b"\xff\xfe{ not json",
    b"",
], ids=["deep nesting", "5000-digit integer", "NaN", "not UTF-8", "empty"])
def test_unparsable_agent_json_is_one_line(agent_dir, capsys, raw):
    (agent_dir / "agent.json").write_bytes(raw)
    _refused(capsys, str(agent_dir))


def test_agent_json_pointing_at_dev_zero_is_refused_without_reading(agent_dir, capsys):
    (agent_dir / "agent.json").unlink()
    (agent_dir / "agent.json").symlink_to("/dev/zero")
    _refused(capsys, str(agent_dir))


def test_agent_json_that_is_a_fifo_is_refused_without_hanging(agent_dir, capsys):
    (agent_dir / "agent.json").unlink()
    os.mkfifo(agent_dir / "agent.json")
    assert "not a regular file" in _refused(capsys, str(agent_dir))


def test_an_oversized_agent_json_is_refused(agent_dir, capsys):
    edit_agent_json(agent_dir, padding="x" * (2 << 20))
    assert "bytes" in _refused(capsys, str(agent_dir))


def test_an_expert_folder_that_links_back_to_its_agent_is_refused(agent_dir, capsys):
    edit_agent_json(agent_dir, hints={"source": "expert"})
    (agent_dir / "expert").symlink_to(".")
    assert "leaves its agent folder" in _refused(capsys, str(agent_dir))  # at once, not 40 levels deep


def test_nan_weights_are_refused_at_load(agent_dir, capsys):
    state = load_file(agent_dir / "model.safetensors")
    state["actor.weight"][0, 0] = float("nan")
    save_file(state, agent_dir / "model.safetensors")
    assert "NaN" in _refused(capsys, str(agent_dir))


def test_weights_declaring_the_wrong_shapes_are_refused_before_they_are_read(agent_dir, monkeypatch, capsys):
    import rlviz.agents.formats.native as native

    state = load_file(agent_dir / "model.safetensors")
    state["actor.weight"] = torch.zeros(7, 512)
    save_file(state, agent_dir / "model.safetensors")
    for reader in ("load_file", "load_safetensors"):  # whichever decodes the tensors must not run
        monkeypatch.setattr(native, reader, lambda *a, **k: pytest.fail("tensors were decoded"), raising=False)
    assert "shape" in _refused(capsys, str(agent_dir))


# ---- SB3 zips and torch files --------------------------------------------------------------

def _policy_bytes() -> bytes:
    from rlviz.agents.networks import NatureActorCritic

    torch.manual_seed(0)
    net = NatureActorCritic(6)
    names = {"features.0": "features_extractor.cnn.0", "features.2": "features_extractor.cnn.2",
             "features.4": "features_extractor.cnn.4", "features.7": "features_extractor.linear.0",
             "actor": "action_net", "critic": "value_net"}
    state = {}
    for key, value in net.state_dict().items():
        prefix, _, param = key.rpartition(".")
        state[f"{names[prefix]}.{param}"] = value
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_an_sb3_zip_with_a_huge_policy_member_is_refused_before_it_is_read(tmp_path, monkeypatch, capsys):
    import rlviz.agents.formats.cleanrl as cleanrl

    path = tmp_path / "ppo-PongNoFrameskip-v4.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data", json.dumps({"n_epochs": 4}))
        archive.writestr("policy.pth", bytes(80 << 20))  # 80 MB of zeros, about 80 kB compressed
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(cleanrl.torch, "load", lambda *a, **k: pytest.fail("policy.pth was decoded"))
    assert "policy.pth" in _refused(capsys, str(path))


def test_a_torch_file_with_a_bad_checksum_is_refused(tmp_path, capsys):
    raw = bytearray(_policy_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the largest stored tensor
    path = tmp_path / "agent.cleanrl_model"
    path.write_bytes(bytes(raw))
    assert "checksum" in _refused(capsys, str(path), "--game", "Pong")


def test_random_bytes_are_called_damaged_not_python_objects(tmp_path, capsys):
    path = tmp_path / "agent.cleanrl_model"
    path.write_bytes(bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)))
    line = _refused(capsys, str(path), "--game", "Pong")
    assert "Python objects" not in line and ("corrupt" in line or "not a PyTorch" in line)


def test_an_sb3_zip_with_too_many_actions_is_refused_before_the_net_is_built(tmp_path, capsys):
    raw = _policy_bytes()
    state = torch.load(io.BytesIO(raw), weights_only=True)
    state["action_net.weight"] = torch.zeros(1000, 512)
    state["action_net.bias"] = torch.zeros(1000)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = tmp_path / "ppo-PongNoFrameskip-v4.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("policy.pth", buffer.getvalue())
    assert "1000 outputs" in _refused(capsys, str(path))


# ---- observations and networks -----------------------------------------------------------

def test_float_observations_in_0_255_are_refused(pong_agent, random_obs):
    with pytest.raises(RlvizError, match=r"\[0, 1\]"):
        pong_agent(random_obs.astype(np.float32))
    logits, _ = pong_agent(random_obs.astype(np.float32) / 255)  # the documented float input works
    assert logits.shape == (3, 6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_pixels_are_refused_not_hidden(pong_agent, random_obs, bad):
    from rlviz.explain.perturbation import perturbation_saliency

    obs = random_obs[:1].astype(np.float32) / 255
    obs[0, 3, 40, 40] = bad
    with pytest.raises(RlvizError, match="NaN or infinite"):
        perturbation_saliency(pong_agent, obs)


def test_three_stacked_frames_are_refused_clearly(pong_agent, random_obs):
    with pytest.raises(RlvizError, match=r"\(4, 84, 84\)"):
        pong_agent(random_obs[0, :3])
    with pytest.raises(RlvizError, match=r"\(4, 84, 84\)"):
        lrp(pong_agent, random_obs[:, :3])


def test_an_empty_batch_gives_an_empty_lrp_result(pong_agent):
    maps = lrp(pong_agent, np.zeros((0, 4, 84, 84), np.uint8))
    assert maps.shape == (0, 4, 84, 84) and maps.dtype == np.float32


def test_agent_refuses_a_network_whose_value_is_not_one_number_per_frame():
    class TwoValues(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4 * 84 * 84, 8)

        def forward(self, x):
            h = self.fc(x.flatten(1))
            return h[:, :6], h[:, 6:8]  # a value of shape [N, 2]

    with pytest.raises(RlvizError, match="value"):
        Agent(TwoValues(), env_spec=EnvSpec("Pong"))


# ---- command-line numbers ------------------------------------------------------------------

BAD_ARGUMENTS = [
    ["video", "--seed", "-1"], ["video", "--fps", "nan"], ["video", "--fps", "0"], ["video", "--fps", "-30"],
    ["video", "--size", "100000x100000"], ["video", "--size", "20000x360"], ["video", "--size", "big"],
    ["video", "--batch", "0"], ["video", "--frames", "0"], ["video", "--device", "foo"],
    ["train", "--out", "x", "--envs", "0"], ["train", "--out", "x", "--snapshots", "abc"],
    ["train", "--out", "x", "--threads", "-1"], ["train", "--out", "x", "--checkpoint-every", "inf"],
    ["evaluate", "--max-steps", "0"], ["evaluate", "--episodes", "0"], ["frame", "--out", "x.png", "--step", "-2"],
    ["bench", "--memory", "1,x"], ["faithfulness", "--region", "0"],
    ["attribute", "--out", "x.png", "--step", "-1"], ["attribute", "--out", "x.png", "--seed", "-3"],
    ["whatif", "--episodes", "0"], ["whatif", "--video-frames", "0"], ["whatif", "--threads", "-1"],
    ["report", "--frames", "0"], ["report", "--batch", "0"], ["report", "--episodes", "x"],
    ["objects", "--frames", "0"], ["objects", "--spacing", "0"], ["objects", "--steps", "-5"],
    ["summarize", "--out", "x", "--examples", "0"], ["summarize", "--out", "x", "--per-layer", "0"],
    ["interactions", "--threads", "-2"],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=[" ".join(a) for a in BAD_ARGUMENTS])
def test_every_number_is_checked_when_it_is_parsed(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert "error: argument" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_is_refused_at_parse_time_on_a_machine_without_one(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--device", "cuda"])
    assert "no CUDA GPU" in capsys.readouterr().err


def test_bench_memory_only_passes_the_game_to_its_video_processes(agent_dir, monkeypatch, capsys):
    import rlviz.bench as bench

    seen = []
    monkeypatch.setattr(bench, "_video_subprocess", lambda *a, **k: seen.append((a, k)) or (1.0, 100.0, 3))
    code, _, err = cli(capsys, "bench", "--agent", str(agent_dir), "--game", "Pong", "--memory", "3", "--memory-only")
    assert code == 0, err
    assert any("Pong" in list(a) + list(k.values()) for a, k in seen)
