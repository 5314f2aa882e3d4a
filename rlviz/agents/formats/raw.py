"""Any ``torch.save`` checkpoint of a network rlviz knows, recognised by structure.

The file may be gzip-compressed and may wrap its state dict (``{"estimator_state": ...}``,
``{"model_weights": ...}``); :mod:`.checkpoint` unwraps it without unpickling, and
:mod:`.structure` finds the architecture from tensor shapes. The env spec defaults to the
``gymnasium`` pipeline (``ALE/<Game>-v5`` + ``AtariPreprocessing``, frame skip 4, no sticky
actions); ``rlviz import`` and ``--frame-skip`` / ``--sticky-actions`` ... change it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from rlviz.agents.agent import Agent
from rlviz.agents.formats.structure import recognise
from rlviz.play.envs import EnvSpec, action_names, canonical_game, make_env


def game_action_counts(game: str) -> tuple[int, ...]:
    """The game's minimal action count and the full 18."""
    env = make_env(canonical_game(game), spec=EnvSpec(), render_mode=None)
    n = len(action_names(env))
    env.close()
    return (n, 18) if n != 18 else (18,)


SpecFor = Callable[[str, int, int, str], tuple[EnvSpec, list[str]]]


def load_raw_state(
    state: dict[str, torch.Tensor], source: str, game: str, *, env_spec_for: SpecFor, arch: str | None = None,
    wrapper: str = "", pipeline: str = "gymnasium", device: str | torch.device = "cpu",
) -> Agent:
    """An :class:`Agent` from a state dict whose shapes form a known architecture.

    ``env_spec_for(game, n_actions, in_channels, pipeline)`` gives the env spec and action
    names (the CleanRL loader passes its ``atari_env_spec``, which calls this module)."""
    found = recognise(state, source, n_actions=game_action_counts(game), arch=arch)
    arch_dict = found.architecture
    spec, names = env_spec_for(game, arch_dict["n_actions"], arch_dict["in_channels"], pipeline)
    p = Path(source)
    metadata: dict[str, Any] = {
        "name": p.stem.split(".")[0],
        "source": {"format": "torch state dict", "architecture": arch_dict["name"], "file": p.name,
                   "layers": found.mapping, **({"wrapper": wrapper} if wrapper else {})},
    }
    return Agent(found.net, env_spec=spec, action_names=names, kind=found.kind, architecture=arch_dict,
                 metadata=metadata, device=device)


__all__ = ["game_action_counts", "load_raw_state"]
