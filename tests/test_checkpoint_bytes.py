"""Bytes of a checkpoint -> weights: ``formats.checkpoint``'s gzip layer, its one torch reader
and the messages a user sees when a file is refused (mutation testing of the module showed
the gzip size cap, the CPU mapping, the refusal under ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` and
most messages were reached by no test)."""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import pytest
import torch

from rlviz.agents.formats import checkpoint
from rlviz.agents.formats.checkpoint import gunzip, load_weights_only, read_checkpoint
from rlviz.util.errors import RlvizError

W = {"conv.weight": torch.arange(6.0).reshape(2, 3), "conv.bias": torch.tensor([0.5, -1.5])}


class Payload:
    """Unpickling this object creates ``marker`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _saved(obj, *, zip_format: bool = True) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=zip_format)
    return buffer.getvalue()


def _assert_weights_equal(found: dict, expected: dict) -> None:
    assert found.keys() == expected.keys()
    for key, tensor in expected.items():
        torch.testing.assert_close(found[key], tensor, atol=0, rtol=0)


def test_bytes_that_are_not_gzip_pass_through_unchanged():
    raw = _saved(W)
    assert gunzip(raw, "f") is raw


def test_gzip_bytes_inflate_to_the_original():
    raw = _saved(W)
    assert gunzip(gzip.compress(raw), "f") == raw


def test_a_gzip_file_exactly_at_the_cap_inflates_and_one_byte_over_is_refused(monkeypatch):
    monkeypatch.setattr(checkpoint, "MAX_UNZIPPED_BYTES", 100)
    at_cap = bytes(range(100))
    assert gunzip(gzip.compress(at_cap), "bomb.gz") == at_cap
    with pytest.raises(RlvizError) as err:
        gunzip(gzip.compress(at_cap + b"x"), "bomb.gz")
    assert str(err.value) == "bomb.gz inflates to over 100 bytes; not a model file"


def test_a_truncated_gzip_file_is_called_damaged_by_name():
    cut = gzip.compress(_saved(W))[:-20]
    with pytest.raises(RlvizError) as err:
        gunzip(cut, "agent.pt.gz")
    assert str(err.value) == "agent.pt.gz is a damaged gzip file; download or compress it again"


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_gzip_compressed_wrapped_checkpoint_reads_to_its_weights_and_wrapper_path(zip_format):
    raw = gzip.compress(_saved({"step": 3, "state_dict": W}, zip_format=zip_format))
    found, path = read_checkpoint(raw, "agent.pt.gz")
    assert path == "state_dict"
    _assert_weights_equal(found, W)


def _as_if_saved_on_cuda(raw: bytes) -> bytes:
    """A legacy-format file whose storages say they were saved on ``cuda`` (as a checkpoint
    from a GPU machine does): the location string of each storage, rewritten in the pickle."""
    cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x04\x00\x00\x00cuda"
    assert raw.count(cpu) >= 1
    return raw.replace(cpu, cuda)


def test_a_checkpoint_saved_on_a_gpu_loads_onto_the_cpu():
    raw = _as_if_saved_on_cuda(_saved(W, zip_format=False))
    loaded = load_weights_only(raw, "gpu.pt")
    _assert_weights_equal(loaded, W)
    assert all(t.device.type == "cpu" for t in loaded.values())


def test_a_payload_is_refused_even_when_the_environment_asks_torch_to_unpickle(tmp_path, monkeypatch):
    """``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (set by people loading old checkpoints) turns
    torch.load's default into a full unpickle; rlviz's explicit ``weights_only=True`` is not a default."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned"
    raw = _saved({**W, "evil": Payload(marker)})
    with pytest.raises(RlvizError) as err:
        load_weights_only(raw, "agent.pt")
    assert not marker.exists()
    assert str(err.value) == (
        "agent.pt holds Python objects besides tensors and was refused unopened "
        "(rlviz never unpickles); save only model.state_dict()"
    )


def test_a_bad_pickle_opcode_is_corrupt_not_python_objects():
    """An UnpicklingError that is not a refused global: the file is damaged."""
    with pytest.raises(RlvizError) as err:
        load_weights_only(b"\x80\x02\xff" + bytes(64), "agent.pt")
    assert str(err.value) == (
        "agent.pt is corrupt or not a PyTorch weights file; re-save it with torch.save(model.state_dict(), path)"
    )


def test_a_truncated_legacy_file_is_corrupt_or_truncated_by_name():
    raw = _saved(W, zip_format=False)
    with pytest.raises(RlvizError) as err:
        load_weights_only(raw[: len(raw) - 40], "old.pt")
    assert str(err.value) == "old.pt is corrupt or truncated; re-save it with torch.save(model.state_dict(), path)"


def test_a_torchscript_archive_is_refused_without_torch_printing_a_warning(recwarn):
    """torch.load warns before it refuses a ``torch.jit.save`` archive; rlviz's one-line error is all a user sees."""
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buffer)
    recwarn.clear()  # torch.jit's own deprecation warnings while the archive is written
    with pytest.raises(RlvizError, match=r"^scripted\.pt is corrupt"):
        load_weights_only(buffer.getvalue(), "scripted.pt")
    assert [str(w.message) for w in recwarn] == []


def test_a_checkpoint_without_a_state_dict_is_refused_naming_the_file():
    with pytest.raises(RlvizError) as err:
        read_checkpoint(_saved({"step": 3, "lr": 0.1}), "run/agent.pt")
    assert str(err.value) == (
        "run/agent.pt holds no state dict rlviz can find (top-level: step, lr); "
        "save the network's model.state_dict(), or nest it under 'state_dict'"
    )


def test_tensors_beside_counters_two_wrappers_down_keep_their_full_path():
    found, path = read_checkpoint(_saved({"agent": {"online": {**W, "updates": 12}}}), "f")
    assert path == "agent/online"
    _assert_weights_equal(found, W)


def test_a_damaged_gzip_checkpoint_is_refused_naming_the_file():
    with pytest.raises(RlvizError) as err:
        read_checkpoint(gzip.compress(_saved(W))[:-20], "run/agent.pt.gz")
    assert str(err.value) == "run/agent.pt.gz is a damaged gzip file; download or compress it again"


def test_a_damaged_archive_is_refused_naming_the_file():
    raw = bytearray(_saved(W))
    at = bytes(raw).index(W["conv.weight"].numpy().tobytes())
    raw[at + 5] ^= 0xFF  # one bit of the weights flipped: the member's CRC no longer matches
    with pytest.raises(RlvizError, match=r"^run/agent\.pt is corrupt"):
        read_checkpoint(bytes(raw), "run/agent.pt")


def test_a_gzip_bomb_is_refused_without_inflating_it_past_the_cap(monkeypatch):
    """The cap bounds memory, not only the answer: 20 MB of zeros (20 KB compressed) is
    refused after at most cap + 1 bytes are inflated."""
    import tracemalloc

    monkeypatch.setattr(checkpoint, "MAX_UNZIPPED_BYTES", 1000)
    bomb = gzip.compress(bytes(20 << 20), compresslevel=1)
    tracemalloc.start()
    try:
        with pytest.raises(RlvizError, match="inflates to over 1000 bytes"):
            gunzip(bomb, "bomb.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20
