"""Loading rlviz's native agent folders (written by :mod:`rlviz.agents.folder`) as :class:`Agent`.

``agent.json`` holds the architecture, env spec, action names, provenance and evaluation;
the weights are in safetensors, so loading never unpickles anything.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from rlviz.agents.agent import Agent
from rlviz.agents.folder import EXPERT_FOLDER, read_agent_json, save_native
from rlviz.agents.networks import build_network
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError


def load_native(path: str | Path, device: str | torch.device = "cpu") -> Agent:
    """Load an agent folder written by :func:`save_native`."""
    folder = Path(path)
    doc = read_agent_json(folder / "agent.json")
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


__all__ = ["load_native", "save_native"]
