"""rlviz's native agent format: a folder with ``agent.json`` and ``model.safetensors``.

``agent.json`` holds the architecture, env spec, action names, provenance and evaluation;
the weights are in safetensors, so loading never unpickles anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rlviz.agent import Agent
from rlviz.envs import EnvSpec
from rlviz.errors import RlvizError
from rlviz.networks import build_network

FORMAT = "rlviz-agent"
VERSION = 1
EXPERT_FOLDER = "expert"  # the hint expert of an agent trained on hint pixels (rlviz.hints)


def save_native(agent: Agent, path: str | Path) -> Path:
    """Write ``agent.json`` and ``model.safetensors`` into the folder ``path``."""
    if agent.architecture is None:
        raise RlvizError(
            "this agent's network has no architecture description, so it cannot be rebuilt "
            "from a file; build it with rlviz.networks (e.g. NatureActorCritic)"
        )
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in agent.net.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "kind": agent.kind,
        "architecture": agent.architecture,
        "env": agent.env_spec.to_dict(),
        "action_names": agent.action_names,
        **{k: v for k, v in agent.metadata.items() if k not in ("format", "version")},
    }
    (folder / "agent.json").write_text(json.dumps(doc, indent=2) + "\n")
    if agent.hint_expert is not None:  # hinted agents carry their teacher, so they replay anywhere
        save_native(agent.hint_expert, folder / EXPERT_FOLDER)
    return folder


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RlvizError(f"{path} is not a readable agent.json ({exc}); re-save the agent") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RlvizError(f"{path} is not an rlviz agent description (format != {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise RlvizError(f"{path} has format version {doc.get('version')}; this rlviz reads version {VERSION}")
    return doc


def load_native(path: str | Path, device: str | torch.device = "cpu") -> Agent:
    """Load an agent folder written by :func:`save_native`."""
    folder = Path(path)
    doc = _read_json(folder / "agent.json")
    net = build_network(doc["architecture"])
    weights = folder / "model.safetensors"
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise RlvizError(f"{weights} is corrupt or unreadable ({exc}); restore it from git or retrain") from None
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unknown = sorted(set(state) - set(expected))
    if missing or unknown:
        raise RlvizError(f"{weights} does not fit {doc['architecture']['name']}: missing {missing}, unknown {unknown}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise RlvizError(
                f"{weights}: {key} has shape {tuple(tensor.shape)}, expected {tuple(expected[key].shape)}"
            )
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
        if not (folder / EXPERT_FOLDER / "agent.json").exists():
            raise RlvizError(f"{folder} was trained on expert hints but has no {EXPERT_FOLDER}/ folder; restore it")
        agent.hint_expert = load_native(folder / EXPERT_FOLDER, device=device)
    return agent
