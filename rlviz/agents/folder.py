"""rlviz's native agent folder: ``agent.json`` and ``model.safetensors``, written and read.

``agent.json`` holds the architecture, env spec, action names, provenance and evaluation;
the weights are in safetensors, so loading never unpickles anything. This module knows the
files, not the :class:`~rlviz.agents.agent.Agent` class (it takes any object with the agent's
attributes), so ``Agent.save`` can use it without an import circle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from rlviz.util.errors import RlvizError

FORMAT = "rlviz-agent"
VERSION = 1
EXPERT_FOLDER = "expert"  # the hint expert of an agent trained on hint pixels (rlviz.play.hints)


def save_native(agent: Any, path: str | Path) -> Path:
    """Write ``agent.json`` and ``model.safetensors`` into the folder ``path``."""
    architecture, described = agent.architecture, None
    if architecture is None:  # a net wrapped from Python: describe it by structure (issue #24)
        from rlviz.agents.describe import describe_network

        architecture, described = describe_network(agent)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    state = described or {k: v.detach().cpu().contiguous() for k, v in agent.net.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "kind": agent.kind,
        "architecture": architecture,
        "env": agent.env_spec.to_dict(),
        "action_names": agent.action_names,
        **{k: v for k, v in agent.metadata.items() if k not in ("format", "version")},
    }
    (folder / "agent.json").write_text(json.dumps(doc, indent=2) + "\n")
    if agent.hint_expert is not None:  # hinted agents carry their teacher, so they replay anywhere
        save_native(agent.hint_expert, folder / EXPERT_FOLDER)
    return folder


def read_agent_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RlvizError(f"{path} is not a readable agent.json ({exc}); re-save the agent") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RlvizError(f"{path} is not an rlviz agent description (format != {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise RlvizError(f"{path} has format version {doc.get('version')}; this rlviz reads version {VERSION}")
    return doc


