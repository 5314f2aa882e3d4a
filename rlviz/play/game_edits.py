"""Game edits: change what the emulator does by writing its RAM before every emulator frame.

A saliency map says where an agent looks; an edit of the game tests whether it depends on
it (SCoBots, Delfosse et al. 2024, with HackAtari's edits: deep Pong agents fail when the
opponent stops moving). Each edit here is a small rule that writes a few RAM bytes with
ale-py's ``setRAM`` before every emulator frame (inside the frame skip, so all four frames of
an agent step are edited), and after every reset.

The RAM addresses are facts read from HackAtari's and OCAtari's public source (k4ntz/HackAtari
``hackatari/games/*.py``, k4ntz/OC_Atari ``ocatari/ram/*.py``); the edits are written here.
RAM layouts belong to one ROM, so every edit names its game and the MD5 of the ROM its
addresses were checked on (the ROMs ale-py 0.9-0.12 ships), and is refused on any other
before a frame is played. HackAtari itself is not a dependency: it pulls OCAtari, which pins
numpy<2, and the edits needed here are a few lines each.

Example:
    >>> env = make_env("Pong", wrap_base=lambda base: RamEdits(base, game_edit("pong", "opponent-frozen")))
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rlviz.util.errors import RlvizError

Ram = Any  # ale_py.ALEInterface: getRAM() -> uint8[128], setRAM(index, value)


@dataclass(frozen=True)
class GameEdit:
    """One edit of one game: what it does in plain words, and the RAM writes that do it."""

    name: str
    game: str  # CamelCase game name, as EnvSpec.game
    says: str  # plain words for cards and reports: "the opponent's paddle is frozen in place"
    write: Callable[[Ram, dict], None]  # called before every emulator frame with a per-episode memory
    source: str  # where the RAM facts come from
    focus: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) on the 210x160 frame the edit acts on
    focus_says: str = ""  # what the focus box holds, e.g. "the opponent's paddle column"
    rom_md5: str = ""


# ---- Pong (RAM facts: OCAtari ocatari/ram/pong.py, HackAtari hackatari/games/pong.py) -------
PONG_ENEMY_Y = 21  # the opponent paddle's position (HackAtari writes it; OCAtari: "could be ram pos 21")
PONG_ENEMY_Y_SHOWN = 50  # the position the frame is drawn from (OCAtari: enemy y = ram[50] - 15)
PONG_BALL_X = 49  # OCAtari: ball x = ram[49] - 49; it grows while the ball travels towards the agent
PONG_SERVE = 11  # HackAtari: 0 < ram[11] < 5 while a point restarts
PONG_FROZEN_AT = 100  # about the middle of the court (drawn at rows 85-100 of 210)


def _pong_frozen(ram: Ram, memory: dict) -> None:
    ram.setRAM(PONG_ENEMY_Y, PONG_FROZEN_AT)
    ram.setRAM(PONG_ENEMY_Y_SHOWN, PONG_FROZEN_AT)


def _pong_lazy(ram: Ram, memory: dict) -> None:
    """While the ball travels away from the opponent (towards the agent), the opponent's paddle
    stays where it was; it moves only to return the ball (HackAtari's "lazy_enemy" rule)."""
    state = ram.getRAM()
    ball_x, enemy_y = int(state[PONG_BALL_X]), int(state[PONG_ENEMY_Y])
    if 0 < int(state[PONG_SERVE]) < 5:  # a new point: start from the middle
        memory.clear()
    if "ball_x" in memory and ball_x > memory["ball_x"]:
        ram.setRAM(PONG_ENEMY_Y, memory["enemy_y"])
        enemy_y = memory["enemy_y"]
    memory["ball_x"], memory["enemy_y"] = ball_x, enemy_y


# ---- Breakout (RAM facts: OCAtari ocatari/ram/breakout.py, HackAtari hackatari/games/breakout.py)
BREAKOUT_BRICKS = 36  # ram[0:36]: six bytes per brick row; row j (0 = bottom) is ram[j::6][:6]
BREAKOUT_ROW_COLOURS = range(64, 70)  # one colour byte per brick row (HackAtari colours them)


def _breakout_row_bytes(row_from_top: int) -> list[int]:
    j = 5 - row_from_top  # OCAtari's bitmap lists the rows bottom-up
    return [j + 6 * i for i in range(6)]


def _breakout_remove_row(row_from_top: int) -> Callable[[Ram, dict], None]:
    cells = _breakout_row_bytes(row_from_top)

    def write(ram: Ram, memory: dict) -> None:
        for cell in cells:
            ram.setRAM(cell, 0)

    return write


def _breakout_bricks_invisible(ram: Ram, memory: dict) -> None:
    """Bricks drawn black on black: they are still there and still bounce the ball."""
    for cell in BREAKOUT_ROW_COLOURS:
        ram.setRAM(cell, 0)


# ---- SpaceInvaders (RAM facts: OCAtari ocatari/ram/spaceinvaders.py, HackAtari ..._invaders.py)
SI_SHIELDS = range(43, 70)  # three shields, nine bytes each, row by row
SI_ENEMY_SHOT_Y = (81, 82)  # OCAtari: bullet_1/2_enemy_y
SI_ENEMY_SHOT_X = (83, 84)  # OCAtari: bullet_1/2_enemy_x


def _si_no_shields(ram: Ram, memory: dict) -> None:
    for cell in SI_SHIELDS:
        ram.setRAM(cell, 0)


def _si_no_shots(ram: Ram, memory: dict) -> None:
    """The invaders' two shots are kept at the top of the screen and off to the side (HackAtari's
    "no_danger" writes the same bytes)."""
    for cell in SI_ENEMY_SHOT_Y:
        ram.setRAM(cell, 0)
    for cell in SI_ENEMY_SHOT_X:
        ram.setRAM(cell, 255)


_HACK = "HackAtari hackatari/games/{}.py"
_OC = "OCAtari ocatari/ram/{}.py"
ROM_MD5 = {  # the ROMs the addresses were checked on (ale-py 0.12.1's roms/*.bin)
    "Pong": "60e0ea3cbe0913d39803477945e9e5ec",
    "Breakout": "f34f08e5eb96e500e851a80be3277a56",
    "SpaceInvaders": "72ffbef6504b75e69ee1045af9075f66",
}

EDITS: dict[str, dict[str, GameEdit]] = {
    "Pong": {
        "opponent-frozen": GameEdit(
            "opponent-frozen", "Pong", "the opponent's paddle is frozen in the middle of its side",
            _pong_frozen, f"{_OC.format('pong')} (ram[50]), {_HACK.format('pong')} (ram[21])",
            focus=(16, 34, 20, 194), focus_says="the opponent's paddle column"),
        "opponent-lazy": GameEdit(
            "opponent-lazy", "Pong", "the opponent's paddle moves only to return the ball, and stands still otherwise",
            _pong_lazy, f"{_HACK.format('pong')} (lazy_enemy: ram[21], ram[49], ram[11])",
            focus=(16, 34, 20, 194), focus_says="the opponent's paddle column"),
    },
    "Breakout": {
        "top-row-removed": GameEdit(
            "top-row-removed", "Breakout", "the top (red) row of bricks is removed",
            _breakout_remove_row(0), f"{_OC.format('breakout')} (brick bitmap ram[0:36])",
            focus=(8, 57, 152, 63), focus_says="the top brick row"),
        "bottom-row-removed": GameEdit(
            "bottom-row-removed", "Breakout", "the bottom (blue) row of bricks is removed",
            _breakout_remove_row(5), f"{_OC.format('breakout')} (brick bitmap ram[0:36])",
            focus=(8, 87, 152, 93), focus_says="the bottom brick row"),
        "bricks-invisible": GameEdit(
            "bricks-invisible", "Breakout", "the bricks are drawn black: still there, but invisible",
            _breakout_bricks_invisible, f"{_HACK.format('breakout')} (row colours ram[64:70])",
            focus=(8, 57, 152, 93), focus_says="the brick wall"),
    },
    "SpaceInvaders": {
        "shields-removed": GameEdit(
            "shields-removed", "SpaceInvaders", "the three orange shields are removed",
            _si_no_shields, f"{_OC.format('spaceinvaders')} (shields ram[43:70]), {_HACK.format('spaceinvaders')}",
            focus=(40, 157, 116, 175), focus_says="the shields"),
        "invaders-not-shooting": GameEdit(
            "invaders-not-shooting", "SpaceInvaders", "the invaders' shots are removed: they never hit",
            _si_no_shots, f"{_OC.format('spaceinvaders')} (enemy bullets ram[81:85]), {_HACK.format('spaceinvaders')} (no_danger)"),
    },
}
for _game, _edits in EDITS.items():
    for _edit in _edits.values():
        object.__setattr__(_edit, "rom_md5", ROM_MD5[_game])


def list_edits() -> dict[str, list[GameEdit]]:
    """Every game edit, per game."""
    return {game: list(edits.values()) for game, edits in EDITS.items()}


def game_edit(game: str, name: str) -> GameEdit:
    """The edit ``name`` for ``game`` (CamelCase or any spelling canonical_game accepts);
    an unknown game or edit is refused with one line listing what exists."""
    from rlviz.play.spec import canonical_game

    canon = canonical_game(game)
    if canon not in EDITS:
        raise RlvizError(f"no game edits for {canon}; games with edits: {', '.join(EDITS)}")
    if name not in EDITS[canon]:
        raise RlvizError(f"unknown edit {name!r} for {canon}; its edits: {', '.join(EDITS[canon])}")
    return EDITS[canon][name]


def rom_md5(game: str) -> str:
    """MD5 of the ROM ale-py would load for ``game`` (CamelCase)."""
    from ale_py import roms

    from rlviz.play.spec import _snake

    path = roms.get_rom_path(_snake(game))
    if path is None:
        raise RlvizError(f"ale-py has no ROM for {game}")
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def check_edit_fits(edit: GameEdit, game: str, *, md5: str | None = None) -> None:
    """Refuse an edit written for another game or another ROM (its RAM addresses would write
    into unrelated state), before anything is played."""
    if edit.game != game:
        raise RlvizError(f"edit {edit.name!r} was written for {edit.game}, not {game}; "
                         f"{game}'s edits: {', '.join(EDITS.get(game, {})) or '(none)'}")
    actual = md5 if md5 is not None else rom_md5(game)
    if edit.rom_md5 and actual != edit.rom_md5:
        raise RlvizError(f"edit {edit.name!r} writes RAM addresses checked on the {game} ROM with MD5 {edit.rom_md5}, "
                         f"but this ale-py loads a ROM with MD5 {actual}; its addresses may not fit, so it is refused")


class RamEdits(gym.Wrapper):
    """Apply a :class:`GameEdit` before every emulator frame and after every reset.

    Wrap the *base* ALE env (frameskip 1), under the frame-skip and preprocessing wrappers,
    so every emulator frame is edited (``make_env(..., wrap_base=...)`` puts it there).

    Example:
        >>> base = gym.make("ALE/Pong-v5", frameskip=1)
        >>> env = RamEdits(base, game_edit("Pong", "opponent-frozen"))
    """

    def __init__(self, env: gym.Env, edit: GameEdit) -> None:
        super().__init__(env)
        game = getattr(env.unwrapped, "_game", None)
        if game is not None:  # ale-py's AtariEnv knows its ROM id ("pong", "space_invaders")
            from rlviz.play.spec import canonical_game

            check_edit_fits(edit, canonical_game(str(game)))
        self.edit = edit
        self.memory: dict = {}

    @property
    def ale(self) -> Ram:
        return self.env.unwrapped.ale

    def reset(self, **kwargs):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        self.memory = {}
        self.edit.write(self.ale, self.memory)
        return obs, info

    def step(self, action: Any):  # type: ignore[override]
        self.edit.write(self.ale, self.memory)
        return self.env.step(action)
