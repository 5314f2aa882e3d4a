"""One name for every what-if edit, and the env an agent plays with it.

``--edit`` takes a game edit's name (``opponent-frozen``; :mod:`rlviz.play.game_edits`), a
view edit (``blank:x0,y0,x1,y1[=V]``) or a hint edit (``hint:off`` ...; both in
:mod:`rlviz.play.view_edits`). :func:`parse_edit` checks it against the agent's game before
anything is played; :func:`edited_env` builds the agent's own pipeline with the edit in place.

Example:
    >>> edit = parse_edit("opponent-frozen", agent)
    >>> env = edited_env(agent, edit)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlviz.play.game_edits import EDITS, GameEdit, RamEdits, check_edit_fits, game_edit
from rlviz.play.hints import hint_mask, hint_source
from rlviz.play.view_edits import (
    VIEW_EDITS,
    Blank,
    HintEdit,
    PaintBackground,
    ViewEdit,
    hint_edit_says,
    parse_view_edit,
)
from rlviz.util.errors import RlvizError


@dataclass(frozen=True)
class Edit:
    """A parsed edit: ``kind`` is "game" (the emulator changes) or "view" (only what the agent sees)."""

    text: str
    kind: str
    game: GameEdit | None = None
    blank: Blank | PaintBackground | None = None
    hint: str | None = None
    hint_says: str = ""

    @property
    def says(self) -> str:
        if self.game is not None:
            return self.game.says
        if self.blank is not None:
            return self.blank.says
        return self.hint_says

    @property
    def focus_says(self) -> str:
        if self.game is not None:
            return self.game.focus_says
        if self.blank is not None:
            return getattr(self.blank.region, "name", "the painted box")
        return "the hint strip"

    def focus_mask(self, size: int = 84, n_actions: int = 1) -> np.ndarray | None:
        """Boolean (size, size) mask of the observation pixels the edit acts on (None: no one place)."""
        if self.game is not None:
            if self.game.focus is None:
                return None
            x0, y0, x1, y1 = self.game.focus
            m = np.zeros((size, size), bool)
            m[int(y0 * size / 210) : int(np.ceil(y1 * size / 210)), int(x0 * size / 160) : int(np.ceil(x1 * size / 160))] = True
            return m
        if self.blank is not None:
            if not getattr(self.blank.region, "fixed", True):
                return None  # an object moves: no one place (its shares are measured per object)
            return self.blank.region.mask(np.zeros((size, size), np.uint8))
        return hint_mask(n_actions, size)


def all_edits_text() -> str:
    """Every edit, one game per line, for ``rlviz whatif --list``."""
    lines = [f"{game}: " + ", ".join(f"{e.name} ({e.says})" for e in edits.values()) for game, edits in EDITS.items()]
    lines.append("any game (what the agent sees only): " + ", ".join(VIEW_EDITS[:2])
                 + " (OBJECT: a name of the game's objects, see 'rlviz objects')")
    lines.append("agents trained with hint pixels (pong-overfit, pong-control): " + ", ".join(VIEW_EDITS[2:]))
    return "\n".join(lines)


def parse_edit(text: str, agent: Any) -> Edit:
    """Parse ``--edit`` for this agent; refuses an edit that does not fit its game, ROM or hints."""
    game = agent.env_spec.game
    if text.startswith("remove:"):
        raise RlvizError("remove:OBJECT needs the agent's objects and background: parse it with "
                         "rlviz.assess.whatif.parse_whatif_edit (the CLI and what_if do)")
    if text.startswith(("blank:", "hint:")):
        view = parse_view_edit(text)
        if isinstance(view, Blank):
            return Edit(text, "view", blank=view)
        if hint_source(agent) is None:
            raise RlvizError(f"hint edits need an agent trained with hint pixels (e.g. agents/pong-overfit); {agent.name!r} has none")
        says = hint_edit_says(view, list(agent.action_names))  # checks an action name now, before playing
        return Edit(text, "view", hint=view, hint_says=says)
    if game not in EDITS:
        raise RlvizError(f"no game edits for {game}; games with edits: {', '.join(EDITS)}; "
                         f"or a view edit: {', '.join(VIEW_EDITS)}")
    if text not in EDITS[game]:
        elsewhere = [g for g, edits in EDITS.items() if text in edits]
        if elsewhere:
            raise RlvizError(f"{text!r} is an edit of {elsewhere[0]}, not of {game} (the agent's game); "
                             f"{game}'s edits: {', '.join(EDITS[game])}")
        raise RlvizError(f"unknown edit {text!r} for {game}; its edits: {', '.join(EDITS[game])}; "
                         f"view edits: {', '.join(VIEW_EDITS)}")
    edit = game_edit(game, text)
    check_edit_fits(edit, game)  # the RAM addresses must belong to this ROM, before any frame is played
    return Edit(text, "game", game=edit)


def original_env(agent: Any, render_mode: str | None = "rgb_array") -> gym.Env:
    """The agent's own env, unedited (with its hint strip, if it was trained with one)."""
    from rlviz.play.rollout import env_for

    return env_for(agent, render_mode=render_mode)


def edited_env(agent: Any, edit: Edit, render_mode: str | None = "rgb_array") -> gym.Env:
    """The agent's own pipeline with ``edit`` in place: RAM writes under the frame skip for a
    game edit, the observation rewritten after the pipeline for a view edit."""
    from rlviz.play.envs import action_names, make_env
    from rlviz.play.hints import wrap_for_agent

    if edit.game is not None:
        spec = agent.env_spec
        env = make_env(spec.game, spec=spec, render_mode=render_mode, wrap_base=lambda base: RamEdits(base, edit.game))
        agent.check_env(env.rlviz_spec, len(action_names(env)))
        return wrap_for_agent(env, agent)
    env = original_env(agent, render_mode)
    if edit.blank is not None:
        return ViewEdit(env, edit.blank)
    return HintEdit(env, edit.hint)
