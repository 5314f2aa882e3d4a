"""Bytes of a ``torch.save`` checkpoint -> a flat ``{name: tensor}`` state dict, never unpickling.

People's checkpoints are rarely a bare ``model.state_dict()``: they are gzip-compressed (as
OCAtari's agents are), or they wrap the weights in a dict with the optimizer and counters
(``{"estimator_state": ..., "optim_state": ...}``, ``{"model_weights": ...}``,
``{"state_dict": ...}``). This module peels those layers off. Every load goes through
``torch.load(..., weights_only=True)``, which lets through only tensors and plain containers.
"""

from __future__ import annotations

import gzip
import io
import pickle
import warnings
import zlib
from typing import Any

import torch

from rlviz.util.errors import RlvizError

GZIP_MAGIC = b"\x1f\x8b"
MAX_UNZIPPED_BYTES = 2 << 30  # refuse gzip bombs before inflating them fully
# where wrappers keep the network's weights, most specific first
WRAPPER_KEYS = (
    "estimator_state", "model_weights", "model_state_dict", "state_dict", "model_state", "model",
    "policy", "net", "network", "q_network", "online_net", "weights", "params",
)  # fmt: skip
MAX_DEPTH = 4


def gunzip(raw: bytes, source: str) -> bytes:
    """Inflate gzip bytes (capped at MAX_UNZIPPED_BYTES); other bytes pass unchanged."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            out = stream.read(MAX_UNZIPPED_BYTES + 1)
    except (OSError, EOFError, zlib.error):
        raise RlvizError(f"{source} is a damaged gzip file; download or compress it again") from None
    if len(out) > MAX_UNZIPPED_BYTES:
        raise RlvizError(f"{source} inflates to over {MAX_UNZIPPED_BYTES} bytes; not a model file")
    return out


def load_weights_only(raw: bytes, source: str) -> Any:
    """``torch.load(weights_only=True)`` of (possibly gzip-compressed) bytes, errors as RlvizError.

    The one place rlviz reads a torch file (checkpoints, CleanRL files, SB3's policy.pth). A
    file is said to hold Python objects only when the weights-only unpickler refused a global
    (a class or function to import); random or damaged bytes fail on an operand instead and
    are called corrupt.
    """
    data = gunzip(raw, source)
    from rlviz.agents.formats.checks import check_torch_archive

    check_torch_archive(data, source)  # a damaged archive is refused, not half-read (issue #19)
    try:
        with warnings.catch_warnings():  # a crafted file must not make torch print pages of warnings
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        message = str(exc).lower()
        if "weights only" in message and "global" in message:
            raise RlvizError(
                f"{source} holds Python objects besides tensors and was refused unopened "
                "(rlviz never unpickles); save only model.state_dict()"
            ) from None
        raise RlvizError(f"{source} is corrupt or not a PyTorch weights file; re-save it with torch.save(model.state_dict(), path)") from None
    except Exception:  # noqa: BLE001 - torch raises many types for damaged archives
        raise RlvizError(f"{source} is corrupt or truncated; re-save it with torch.save(model.state_dict(), path)") from None


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def find_state_dict(obj: Any, source: str) -> tuple[dict[str, torch.Tensor], str]:
    """The state dict inside a loaded checkpoint and the path of wrapper keys to it ("" if bare).

    A dict of tensors is the state dict; otherwise the first wrapper key of WRAPPER_KEYS that
    leads to one, then the sole dict value under any other key (depth at most MAX_DEPTH)."""
    path: list[str] = []
    for _ in range(MAX_DEPTH + 1):
        if _is_state_dict(obj):
            return dict(obj), "/".join(path)
        if not isinstance(obj, dict):
            break
        key = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if key is None:
            inner = [k for k, v in obj.items() if isinstance(v, dict) and v]
            tensors = [k for k, v in obj.items() if isinstance(v, torch.Tensor)]
            if len(inner) == 1 and not tensors:
                key = inner[0]
            elif tensors:  # tensors beside counters or configs: keep the tensors
                return {str(k): obj[k] for k in tensors}, "/".join(path)
            else:
                break
        path.append(str(key))
        obj = obj[key]
    keys = ", ".join(str(k) for k in list(obj)[:8]) if isinstance(obj, dict) else type(obj).__name__
    raise RlvizError(
        f"{source} holds no state dict rlviz can find (top-level: {keys}); "
        "save the network's model.state_dict(), or nest it under 'state_dict'"
    )


def read_checkpoint(raw: bytes, source: str) -> tuple[dict[str, torch.Tensor], str]:
    """Bytes of a (gzip-compressed or plain) torch checkpoint -> (state dict, wrapper path)."""
    return find_state_dict(load_weights_only(raw, source), source)
