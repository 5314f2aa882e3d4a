"""rlviz's native agent folder: ``agent.json`` and ``model.safetensors``, written and read.

``agent.json`` holds the architecture, env spec, action names, provenance and evaluation;
the weights are in safetensors, so loading never unpickles anything. Every file is written to a
temporary name and renamed into place (never through a symbolic link), and ``agent.json`` is
read with a size cap and checked field by field (:mod:`rlviz.agents.schema`) before anything
is built from it. This module knows the files, not the :class:`~rlviz.agents.agent.Agent` class (it takes any object with the agent's
attributes), so ``Agent.save`` can use it without an import circle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import save as safetensors_bytes

from rlviz.agents.schema import MAX_AGENT_JSON_BYTES, check_agent_doc, parse_agent_json
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import (
    inside_folder,
    read_limited,
    write_bytes_atomic,
    write_text_atomic,
)

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
    if folder.is_symlink() and folder.name == EXPERT_FOLDER:
        raise RlvizError(f"{folder} is a symbolic link; rlviz writes an agent's {EXPERT_FOLDER}/ folder only as a real folder")
    folder.mkdir(parents=True, exist_ok=True)
    state = described or {k: v.detach().cpu().contiguous() for k, v in agent.net.state_dict().items()}
    write_bytes_atomic(folder / "model.safetensors", safetensors_bytes(state))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "kind": agent.kind,
        "architecture": architecture,
        "env": agent.env_spec.to_dict(),
        "action_names": agent.action_names,
        **{k: v for k, v in agent.metadata.items() if k not in ("format", "version")},
    }
    write_text_atomic(folder / "agent.json", json.dumps(doc, indent=2) + "\n")
    if agent.hint_expert is not None:  # hinted agents carry their teacher, so they replay anywhere
        save_native(agent.hint_expert, folder / EXPERT_FOLDER)
    return folder


def read_agent_json(path: Path) -> dict[str, Any]:
    """``agent.json`` of an agent folder, refused unless it is a regular file inside the
    folder, at most 1 MB, and every field rlviz reads has its type and range."""
    inside_folder(path.parent, path, what="agent.json")
    doc = parse_agent_json(read_limited(path, MAX_AGENT_JSON_BYTES, what="agent.json"), str(path))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RlvizError(f"{path} is not an rlviz agent description (format != {FORMAT!r})")
    if doc.get("version") != VERSION or isinstance(doc.get("version"), bool):
        raise RlvizError(f"{path} has format version {str(doc.get('version'))[:20]}; this rlviz reads version {VERSION}")
    return check_agent_doc(doc, str(path))


