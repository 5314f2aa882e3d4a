"""Names for the objects of the bundled games, from where they sit on the screen and their size.

Why position rules and not RAM: the objects are found as pixels that differ from the
background (segment.py), and a name only has to be put on such a component. Its place and
size on the observation say what it is in Pong, Breakout and SpaceInvaders, whose layouts
are fixed (the paddles move in fixed columns, the score sits in the top band, the bricks and
shields in fixed rows). RAM positions (as OCAtari reads them) would need the emulator state
of every one of the 4x4 skipped frames behind an observation and a calibration from RAM
coordinates to observation pixels per game and pipeline; rules on the observation work on
any observation, saved or replayed, with no emulator at hand and no extra dependency.

Coordinates below are fractions of the observation's height and width: the whole 210x160
frame is resized to the observation (DESIGN.md §3), so a fraction holds for any screen size.
A rule takes a component's box and pixels and returns a name, or None when it cannot tell
(the component then keeps an unnamed "object N"). Unknown games have no rule: their
objects are never given invented names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Blob:
    """One connected component of one stacked frame, as a rule sees it (pixels as fractions)."""

    top: float
    bottom: float  # exclusive
    left: float
    right: float  # exclusive
    height: int  # in observation pixels
    width: int
    area: int
    brighter: float  # share of its pixels brighter than the background there

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def cx(self) -> float:
        return (self.left + self.right) / 2


def pong(b: Blob) -> str | None:
    """Pong (gymnasium's ALE screen): score on top, opponent's paddle left (x = 16-19 of 160),
    agent's paddle right (x = 140-143), the ball anywhere on the court."""
    if b.bottom <= 0.13:  # the score band above the top wall (rows 0-10 of 84)
        return "opponent's score" if b.cx < 0.5 else "agent's score"
    if 0.08 <= b.cx <= 0.14 and b.width <= 4 and (b.height >= 4 or b.top <= 0.19 or b.bottom >= 0.9):
        return "opponent's paddle"  # a paddle cut by a wall may show only a few rows
    if 0.85 <= b.cx <= 0.91 and b.width <= 4 and (b.height >= 4 or b.top <= 0.19 or b.bottom >= 0.9):
        return "agent's paddle"
    return "ball"


def breakout(b: Blob) -> str | None:
    """Breakout: score and lives in the top band, bricks in rows 57-92 of 210, the paddle at
    rows 189-193, the ball anywhere (small)."""
    if b.bottom <= 0.1:
        return "lives" if 0.58 <= b.cx <= 0.78 else "score"
    if b.width <= 3 and b.height <= 4:
        return "ball"
    if 0.26 <= b.cy <= 0.46:
        return "bricks"  # a knocked-out brick differs from the background's wall of bricks
    if b.cy >= 0.86:
        return "paddle"
    return None


def space_invaders(b: Blob) -> str | None:
    """SpaceInvaders: score in the top band, the cannon at the bottom (rows 185-195 of 210),
    shields at rows 157-175, thin bullets anywhere, the invaders between the score and the shields.
    The UFO flies in the score band's rows and is counted with the score."""
    if b.bottom <= 0.13:
        return "score"
    if b.width <= 1 or (b.width <= 2 and b.area <= 5):
        return "bullets"
    if b.cy >= 0.86:
        return "cannon"
    if 0.73 <= b.cy < 0.86:
        return "shields"
    return "invaders"


@dataclass(frozen=True)
class GameRules:
    """The names of one game's objects (in display order) and the rule that assigns them."""

    names: tuple[str, ...]
    rule: Callable[[Blob], str | None]


GAMES: dict[str, GameRules] = {
    "Pong": GameRules(("ball", "opponent's paddle", "agent's paddle", "agent's score", "opponent's score"), pong),
    "Breakout": GameRules(("ball", "paddle", "bricks", "score", "lives"), breakout),
    "SpaceInvaders": GameRules(("cannon", "bullets", "invaders", "shields", "score"), space_invaders),
}


def rules_for(game: str | None) -> GameRules | None:
    """The rules of a bundled game (by its ALE name, e.g. 'Pong'), or None for any other game."""
    if game is None:
        return None
    key = game.replace("NoFrameskip", "").split("-")[0].split("/")[-1]
    for name, rules in GAMES.items():
        if key.lower().replace("_", "") == name.lower():
            return rules
    return None


def blob(mask: np.ndarray, brighter: np.ndarray) -> Blob:
    """The Blob of one component given as a boolean mask (H, W) and where the frame is brighter."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    area = int(rows.size)
    return Blob(top / h, bottom / h, left / w, right / w, int(bottom - top), int(right - left), area,
                float(brighter[mask].mean()))
