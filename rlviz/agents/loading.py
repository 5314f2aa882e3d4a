"""``load_agent``: open an agent from any supported file, never unpickling anything."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from rlviz.agents.agent import Agent
from rlviz.util.errors import RlvizError


def _is_sb3_zip(path: Path) -> bool:
    """SB3 zips hold policy.pth; a modern torch.save file is a zip too, but holds data.pkl."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return "policy.pth" in zf.namelist()


def load_agent(
    path: str | Path, game: str | None = None, *, device: str | torch.device = "cpu", arch: str | None = None,
) -> Agent:
    """Load an agent: an rlviz folder (agent.json + model.safetensors), an SB3 / RL Zoo
    ``.zip``, a CleanRL ``.cleanrl_model`` state dict, or any torch checkpoint (gzip or not,
    wrapped or not) whose tensors form an architecture rlviz knows (``game`` required for files
    that do not name their game; ``arch`` picks among architectures the shapes fit)."""
    p = Path(path)
    if not p.exists():
        raise RlvizError(f"no agent at {p}; pass a folder with agent.json, an SB3 .zip or a CleanRL .cleanrl_model")
    if p.is_dir():
        if not (p / "agent.json").exists():
            raise RlvizError(f"{p} has no agent.json; an rlviz agent folder holds agent.json and model.safetensors")
        from rlviz.agents.formats.native import load_native

        agent = load_native(p, device=device)
        if game is not None:
            from rlviz.play.envs import canonical_game

            if canonical_game(game) != agent.env_spec.game:
                raise RlvizError(f"{p} was trained on {agent.env_spec.game}, not {game}; drop --game or pick that game")
        return agent
    if p.suffix == ".zip" or _is_sb3_zip(p):
        from rlviz.agents.formats.sb3 import load_sb3

        return load_sb3(p, game=game, device=device)
    from rlviz.agents.formats.cleanrl import load_cleanrl

    return load_cleanrl(p, game=game, device=device, arch=arch)
