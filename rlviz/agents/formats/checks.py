"""Checks every agent file format shares: size caps, archive integrity, finite weights.

Agent files come from anywhere. Before a byte of weights is decoded, the file must be a
regular file under :data:`MAX_WEIGHTS_BYTES`; a ``torch.save`` archive's members must pass
their CRC (torch's own reader does not check it); and after decoding, weights holding NaN or
infinity are refused, since every output and explanation would silently be NaN.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from rlviz.util.errors import RlvizError

MAX_WEIGHTS_BYTES = 64 << 20  # the largest network rlviz builds is about 14 MB in float32
MAX_ACTIONS = 18  # Atari's full action space
MAX_CHANNELS = 16


def _finite(tensor: torch.Tensor) -> bool:
    try:  # numpy is about 100x faster than torch for this on a busy 2-core machine
        return bool(np.isfinite(tensor.detach().cpu().numpy()).all())
    except TypeError:  # bfloat16 and other types numpy lacks
        return bool(torch.isfinite(tensor).all())


def check_finite(state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights holding NaN or infinity."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not _finite(tensor):
            raise RlvizError(f"{source}: {key} holds NaN or infinite values; the agent cannot be explained, retrain or restore it")


def check_torch_archive(raw: bytes, source: str) -> None:
    """A ``torch.save`` zip archive whose members all pass their CRC check (torch's reader
    would load a damaged one); files in torch's legacy non-zip format pass unchecked."""
    if not raw.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_WEIGHTS_BYTES:
                raise RlvizError(f"{source} declares more than {MAX_WEIGHTS_BYTES:,} bytes of weights; not an Atari policy")
            bad = archive.testzip()
    except RlvizError:
        raise
    except Exception:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError, ... all mean "damaged"
        raise RlvizError(f"{source} is corrupt or truncated; re-save it with torch.save(model.state_dict(), path)") from None
    if bad is not None:
        raise RlvizError(f"{source} is corrupt ({bad} fails its checksum); download or save it again")


def check_head(n_actions: int, in_channels: int, source: str) -> None:
    """Shapes read from the weights, checked before a network is built from them."""
    if not 1 <= n_actions <= MAX_ACTIONS:
        raise RlvizError(f"{source}: the policy head has {n_actions} outputs; Atari agents have 1 to {MAX_ACTIONS} actions")
    if not 1 <= in_channels <= MAX_CHANNELS:
        raise RlvizError(f"{source}: the first layer takes {in_channels} channels; Atari agents stack 1 to {MAX_CHANNELS} frames")
