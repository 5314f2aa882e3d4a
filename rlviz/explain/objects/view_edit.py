"""``remove:OBJECT``: a named object as the Region of a view edit (play/view_edits.py).

In every observation the object is found against the agent's background (segment.py) and its
mask in each stacked frame is painted with the background (view_edits.PaintBackground): the
agent sees the game without, say, the ball, while the emulator plays on with it. Where the
object is not on the screen, nothing is painted.

Example:
    >>> edit = object_removal("opponent's paddle", background(agent), "Pong")
    >>> edit.apply(obs)   # obs with the opponent's paddle gone from all 4 frames
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlviz.explain.objects.games import rules_for
from rlviz.explain.objects.segment import find_objects
from rlviz.play.view_edits import PaintBackground
from rlviz.util.errors import RlvizError


@dataclass(frozen=True, eq=False)
class ObjectRegion:
    """Where the object ``name`` is in an observation: bool (C, H, W), one mask per stacked frame."""

    name: str
    background: np.ndarray
    game: str | None
    fixed: bool = False  # it moves: Edit.focus_mask has no one place for it

    @property
    def says(self) -> str:
        return f"the {self.name}" if not self.name.startswith("object ") else self.name

    def mask(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        for o in find_objects(obs, self.background, self.game):  # none in the blank frames padding a reset's stack
            if o.name == self.name:
                return o.masks
        return np.zeros(obs.shape if obs.ndim == 3 else obs.shape[-2:], bool)


def object_names(game: str | None) -> tuple[str, ...]:
    """The names objects of ``game`` can have (empty for a game without rules: "object N")."""
    rules = rules_for(game)
    return rules.names if rules is not None else ()


def object_removal(name: str, background: np.ndarray, game: str | None) -> PaintBackground:
    """The view edit that removes object ``name``; refuses a name the game's objects never have."""
    names = object_names(game)
    unnamed = name.startswith("object ") and name[7:].isdigit()
    if not unnamed and name not in names:
        known = ", ".join(names) if names else "object 1, object 2, ... (numbered top-left first; see 'rlviz objects --boxes')"
        raise RlvizError(f"unknown object {name!r} for {game}; its objects: {known}")
    return PaintBackground(ObjectRegion(name, np.asarray(background, np.uint8), game), np.asarray(background, np.uint8))
