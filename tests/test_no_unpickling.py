"""Loading never runs pickled code: payloads in torch files and SB3 zips stay inert."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rlviz.agents.formats.checkpoint import load_weights_only
from rlviz.agents.formats.cleanrl import load_cleanrl, read_state_dict
from rlviz.agents.loading import load_agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.util.errors import RlvizError


class Payload:
    """Unpickling this object creates ``marker`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _cleanrl_state() -> dict[str, torch.Tensor]:
    net = NatureActorCritic(6)
    rename = {"features": "network", "actor": "actor", "critic": "critic"}
    return {rename[k.split(".")[0]] + k[len(k.split(".")[0]) :]: v for k, v in net.state_dict().items()}


def _sb3_zip(path: Path, policy: bytes, data: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data", json.dumps(data))
        archive.writestr("policy.pth", policy)
        archive.writestr("_stable_baselines3_version", "2.9.2")
    return path


def _sb3_policy_state() -> dict[str, torch.Tensor]:
    net = NatureActorCritic(6)
    trunk = {"0": "cnn.0", "2": "cnn.2", "4": "cnn.4", "7": "linear.0"}
    out = {}
    for key, value in net.state_dict().items():
        module, *rest = key.split(".")
        if module == "features":
            out[f"features_extractor.{trunk[rest[0]]}.{rest[1]}"] = value
        else:
            out[f"{'action_net' if module == 'actor' else 'value_net'}.{rest[0]}"] = value
    return out


def test_payload_is_live_when_unpickled_naively(tmp_path):
    """Control: the payload really fires under plain pickle, so its absence below means something."""
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("suffix", [".pt", ".cleanrl_model"])
def test_payload_in_torch_file_is_refused_unopened(tmp_path, zip_format, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"agent{suffix}"
    torch.save({**_cleanrl_state(), "evil": Payload(marker)}, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(RlvizError, match="refused") as info:
        load_agent(path, game="Pong")
    assert "\n" not in str(info.value)
    with pytest.raises(RlvizError, match="refused"):
        load_cleanrl(path, game="Pong")
    assert not marker.exists()


def test_payload_in_sb3_policy_pth_is_refused_unopened(tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({**_sb3_policy_state(), "evil": Payload(marker)}, buffer)
    path = _sb3_zip(tmp_path / "model.zip", buffer.getvalue(), {})
    with pytest.raises(RlvizError, match="refused"):
        load_agent(path, game="Pong")
    assert not marker.exists()


def test_payload_in_sb3_data_json_is_ignored(tmp_path):
    marker = tmp_path / "pwned"
    blob = base64.b64encode(pickle.dumps(Payload(marker))).decode()
    data = {
        "policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": blob},
        "observation_space": {":type:": "<class 'gymnasium.spaces.box.Box'>", ":serialized:": blob, "_shape": [4, 84, 84]},
        "lr_schedule": {":type:": "<class 'function'>", ":serialized:": blob},
        "policy_kwargs": {":type:": "<class 'dict'>", ":serialized:": blob},
    }
    buffer = io.BytesIO()
    torch.save(_sb3_policy_state(), buffer)
    agent = load_agent(_sb3_zip(tmp_path / "model.zip", buffer.getvalue(), data), game="Pong")
    assert agent.n_actions == 6
    assert not marker.exists()


@pytest.mark.parametrize("reader", [load_weights_only, read_state_dict], ids=["checkpoint", "cleanrl"])
def test_both_torch_readers_call_objects_objects_and_damaged_bytes_damaged(tmp_path, reader):
    """One rule for every torch file (checkpoints, CleanRL files, SB3's policy.pth): a file is
    said to hold Python objects only when the weights-only unpickler refused a global; bytes
    that merely start like a pickle (0x80) are damaged, not objects."""
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({**_cleanrl_state(), "evil": Payload(marker)}, buffer)
    with pytest.raises(RlvizError, match="holds Python objects"):
        reader(buffer.getvalue(), "agent.pt")
    assert not marker.exists()
    damaged = b"\x80\x02" + bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8))
    with pytest.raises(RlvizError, match="corrupt") as info:
        reader(damaged, "agent.pt")
    assert "Python objects" not in str(info.value)
