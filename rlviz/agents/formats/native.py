"""Loading rlviz's native agent folders (written by :mod:`rlviz.agents.folder`) as :class:`Agent`.

``agent.json`` holds the architecture, env spec, action names, provenance and evaluation;
the weights are in safetensors, so loading never unpickles anything. The folder is untrusted:
``agent.json`` is checked field by field before the network is built, the weights file must be
a regular file inside the folder of at most 64 MB whose header declares exactly the expected
tensors and shapes (checked before the tensors are read), and NaN or infinite weights are
refused. Links that leave the folder, and expert folders nested more than a few levels, are
refused too.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from rlviz.agents.agent import Agent
from rlviz.agents.folder import EXPERT_FOLDER, read_agent_json, save_native
from rlviz.agents.formats.checks import MAX_WEIGHTS_BYTES, check_finite
from rlviz.agents.networks import build_network
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import inside_folder, read_limited

MAX_EXPERT_DEPTH = 3  # an expert of an expert of an expert: more is a crafted loop


def _declared_shapes(raw: bytes, weights: Path) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes a safetensors header declares, read before any tensor."""
    if len(raw) < 8:
        raise RlvizError(f"{weights} is truncated (no safetensors header); restore it from git or retrain")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > len(raw) - 8:
        raise RlvizError(f"{weights} is truncated or corrupt (its header claims {size:,} bytes); restore it or retrain")
    try:
        header = json.loads(raw[8 : 8 + size].decode("utf-8"))
        shapes = {k: tuple(int(d) for d in v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        raise RlvizError(f"{weights} has a corrupt safetensors header; restore it from git or retrain") from None
    return shapes


def load_native(path: str | Path, device: str | torch.device = "cpu", *, _depth: int = 0) -> Agent:
    """Load an agent folder written by :func:`save_native`."""
    folder = Path(path)
    doc = read_agent_json(folder / "agent.json")
    net = build_network(doc["architecture"])
    weights = folder / "model.safetensors"
    inside_folder(folder, weights, what="model.safetensors")
    raw = read_limited(weights, MAX_WEIGHTS_BYTES, what="model.safetensors")
    declared = _declared_shapes(raw, weights)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(declared))
    unknown = sorted(set(declared) - set(expected))
    if missing or unknown:
        raise RlvizError(f"{weights} does not fit {doc['architecture']['name']}: missing {missing[:8]}, unknown {[u[:40] for u in unknown[:8]]}")
    for key, shape in declared.items():
        if shape != tuple(expected[key].shape):
            raise RlvizError(f"{weights}: {key} has shape {shape[:8]}, expected {tuple(expected[key].shape)}")
    try:
        state = load_safetensors(raw)
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise RlvizError(f"{weights} is corrupt ({str(exc)[:120]}); restore it from git or retrain") from None
    check_finite(state, weights)
    net.load_state_dict(state)
    metadata = {k: v for k, v in doc.items() if k not in ("format", "version", "kind", "architecture", "env", "action_names")}
    metadata.setdefault("name", folder.name)
    agent = Agent(
        net,
        env_spec=EnvSpec.from_dict(doc["env"]),
        action_names=doc.get("action_names"),
        kind=doc.get("kind"),
        architecture=doc["architecture"],
        metadata=metadata,
        device=device,
    )
    if (metadata.get("hints") or {}).get("source") == "expert":
        expert = folder / EXPERT_FOLDER
        if not (expert / "agent.json").exists():
            raise RlvizError(f"{folder} was trained on expert hints but has no {EXPERT_FOLDER}/ folder; restore it")
        if expert.is_symlink():
            inside_folder(folder, expert, what=f"{EXPERT_FOLDER}/ folder")
        if _depth >= MAX_EXPERT_DEPTH:
            raise RlvizError(f"{folder} nests {EXPERT_FOLDER}/ folders more than {MAX_EXPERT_DEPTH} deep; it is not a real agent")
        agent.hint_expert = load_native(expert, device=device, _depth=_depth + 1)
    return agent


__all__ = ["load_native", "save_native"]
