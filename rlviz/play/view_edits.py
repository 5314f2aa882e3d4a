"""View edits: change only what the agent sees, never the game.

A view edit rewrites the observation (uint8 (4, 84, 84), after the pipeline) while the
emulator plays on untouched, so any change of behaviour comes from what the agent saw. Two
kinds exist:

* ``blank:x0,y0,x1,y1`` paints a box (observation pixels, half-open, x = column) in every
  stacked frame with that frame's median gray level (``blank:x0,y0,x1,y1=V``: with V). A box
  is one kind of :class:`Region`; an object found on the screen (issue #18's objects and
  background model) plugs in as another Region with the same ``mask(obs)`` call.
* ``remove:OBJECT`` paints a named object (issue #18's objects, found in every observation
  against the agent's background) with the background in every stacked frame
  (:class:`PaintBackground`; the region comes from :mod:`rlviz.explain.objects.view_edit`).
* ``hint:off`` / ``hint:random`` / ``hint:constant=ACTION`` rewrite the hint strip of an agent
  trained with hint pixels (:mod:`rlviz.play.hints`): no hint, a random move, or always the same
  move, in place of the expert's (or, for the control, the random) move it was trained with.

``render()`` paints the same edit onto the RGB frame (scaled), so a video shows what the agent saw.
The wrappers keep the observation before the edit in ``unedited``: the measurement asks the
agent what it would have done on it.

Example:
    >>> env = ViewEdit(make_env("Pong"), parse_view_edit("blank:0,14,12,80"))
    >>> env = HintEdit(wrap_for_agent(make_env("Pong"), overfit_agent), "off")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from rlviz.play.hints import (
    HINT_OFF,
    HINT_ON,
    HintPixels,
    hint_blocks,
    hint_mask,
    write_hints,
)
from rlviz.util.errors import RlvizError

VIEW_EDITS = ("blank:x0,y0,x1,y1[=V]", "remove:OBJECT", "hint:off", "hint:random", "hint:constant=ACTION")


class Region(Protocol):
    """Where a view edit paints: a boolean mask of the observation, (H, W) for every stacked
    frame alike or (C, H, W) per stacked frame (an object tracked across the stack)."""

    says: str

    def mask(self, obs: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in observation pixels, half-open: columns x0..x1-1, rows y0..y1-1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def says(self) -> str:
        return f"the box x {self.x0}-{self.x1 - 1}, y {self.y0}-{self.y1 - 1} of the 84x84 view"

    def mask(self, obs: np.ndarray) -> np.ndarray:
        h, w = obs.shape[-2:]
        m = np.zeros((h, w), bool)
        m[self.y0 : self.y1, self.x0 : self.x1] = True
        return m


@dataclass(frozen=True)
class Blank:
    """Paint a region with each frame's median gray level (or with ``value``)."""

    region: Region
    value: int | None = None

    @property
    def says(self) -> str:
        fill = f"gray level {self.value}" if self.value is not None else "the frame's median gray"
        return f"the agent's view of {self.region.says} is painted over with {fill}"

    def apply(self, obs: np.ndarray) -> np.ndarray:
        out = np.array(obs, dtype=np.uint8, copy=True)
        mask = np.asarray(self.region.mask(out), bool)
        frames = out.reshape(-1, *out.shape[-2:])
        masks = np.broadcast_to(mask.reshape(-1, *mask.shape[-2:]), frames.shape)
        for f, m in zip(frames, masks):  # per stacked frame: the median of that frame, not of the stack
            f[m] = self.value if self.value is not None else np.uint8(np.median(f))
        return out


@dataclass(frozen=True)
class PaintBackground:
    """Paint a region with the background (uint8 (H, W)) in every stacked frame: an object's
    pixels removed from the agent's view (``remove:OBJECT``, region from
    :mod:`rlviz.explain.objects.view_edit`). The rendered frame gets the RGB frame's median colour."""

    region: Region
    background: np.ndarray
    value: None = None  # ViewEdit.render paints the median colour of the RGB frame

    @property
    def says(self) -> str:
        return f"{self.region.says} is removed from the agent's view (painted with the background)"

    def apply(self, obs: np.ndarray) -> np.ndarray:
        out = np.array(obs, dtype=np.uint8, copy=True)
        mask = np.asarray(self.region.mask(out), bool)
        frames = out.reshape(-1, *out.shape[-2:])
        masks = np.broadcast_to(mask.reshape(-1, *mask.shape[-2:]), frames.shape)
        for f, m in zip(frames, masks):
            f[m] = self.background[m]
        return out


def parse_view_edit(text: str) -> Blank | str:
    """``blank:x0,y0,x1,y1[=V]`` -> :class:`Blank`; ``hint:MODE`` -> the mode string (see HintEdit)."""
    kind, _, arg = text.partition(":")
    if kind == "hint":
        if arg in ("off", "random") or arg.startswith("constant="):
            return arg
        raise RlvizError(f"unknown hint edit {text!r}; use one of hint:off, hint:random, hint:constant=ACTION")
    if kind != "blank":
        raise RlvizError(f"unknown view edit {text!r}; view edits: {', '.join(VIEW_EDITS)}")
    box, _, value = arg.partition("=")
    try:
        x0, y0, x1, y1 = (int(v) for v in box.split(","))
        fill = int(value) if value else None
    except ValueError:
        raise RlvizError(f"a blank view edit looks like blank:x0,y0,x1,y1 or blank:x0,y0,x1,y1=V, got {text!r}") from None
    if not (0 <= x0 < x1 <= 84 and 0 <= y0 < y1 <= 84):
        raise RlvizError(f"the box {x0},{y0},{x1},{y1} must satisfy 0 <= x0 < x1 <= 84 and 0 <= y0 < y1 <= 84 (observation pixels)")
    if fill is not None and not 0 <= fill <= 255:
        raise RlvizError(f"the fill value must be a gray level 0-255, got {fill}")
    return Blank(Box(x0, y0, x1, y1), fill)


class ViewEdit(gym.Wrapper):
    """Apply a :class:`Blank` to every observation (all stacked frames) and to the rendered frame.

    Example:
        >>> env = ViewEdit(make_env("Pong"), Blank(Box(0, 14, 12, 80)))
        >>> obs, _ = env.reset(seed=0); env.unedited.shape
        (4, 84, 84)
    """

    def __init__(self, env: gym.Env, edit: Blank | PaintBackground) -> None:
        super().__init__(env)
        self.edit = edit
        self.unedited: np.ndarray | None = None
        if hasattr(env, "rlviz_spec"):
            self.rlviz_spec = env.rlviz_spec

    def _edit(self, obs: Any) -> np.ndarray:
        self.unedited = np.ascontiguousarray(np.asarray(obs, dtype=np.uint8))
        return self.edit.apply(self.unedited)

    def reset(self, **kwargs):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        return self._edit(obs), info

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._edit(obs), reward, terminated, truncated, info

    def render(self) -> Any:
        frame = self.env.render()
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or self.unedited is None:
            return frame
        size = self.unedited.shape[-1]
        small = np.asarray(self.edit.region.mask(self.unedited), bool)
        small = small.reshape(-1, *small.shape[-2:])[-1]  # the newest frame's mask: the frame on screen
        h, w = frame.shape[:2]
        rows = (np.arange(h) * size // h)[:, None]
        cols = (np.arange(w) * size // w)[None, :]
        big = small[rows, cols]  # the mask at the RGB frame's resolution
        frame = frame.copy()
        if self.edit.value is not None:
            frame[big] = self.edit.value
        else:
            frame[big] = np.median(frame.reshape(-1, 3), axis=0).astype(np.uint8)
        return frame


def _hint_wrapper(env: gym.Env) -> HintPixels:
    inner = env
    while not isinstance(inner, HintPixels):
        if not hasattr(inner, "env"):
            raise RlvizError("hint edits need an agent trained with hint pixels (e.g. agents/pong-overfit, agents/pong-control)")
        inner = inner.env
    return inner


class HintEdit(gym.Wrapper):
    """Rewrite the hint strip of a hinted env: ``"off"`` (the strip all dark: no hint),
    ``"random"`` (a random move, seeded by the reset seed) or ``"constant=ACTION"`` (always
    that move; an action index or name). ``info["hint_shown"]`` is the move shown (None when off).

    Example:
        >>> env = HintEdit(wrap_for_agent(make_env("Pong"), overfit), "constant=NOOP")
    """

    def __init__(self, env: gym.Env, mode: str, *, seed: int = 0) -> None:
        super().__init__(env)
        hinted = _hint_wrapper(env)
        self.n_actions, self.rows = hinted.n_actions, hinted.rows
        self.mode, self.seed_ = mode, seed
        self.says = hint_edit_says(mode, _names(env) or [str(a) for a in range(self.n_actions)])
        self.constant = _action_index(mode.split("=", 1)[1], _names(env), self.n_actions) if mode.startswith("constant=") else None
        self.rng = np.random.default_rng(seed)
        self.shown: int | None = None
        self.unedited: np.ndarray | None = None
        if hasattr(env, "rlviz_spec"):
            self.rlviz_spec = env.rlviz_spec

    def _edit(self, obs: Any, info: dict) -> tuple[np.ndarray, dict]:
        self.unedited = np.ascontiguousarray(np.asarray(obs, dtype=np.uint8))
        if self.mode == "off":
            out = self.unedited.copy()
            out[..., hint_mask(self.n_actions, out.shape[-1], self.rows)] = HINT_OFF
            self.shown = None
        else:
            self.shown = self.constant if self.constant is not None else int(self.rng.integers(self.n_actions))
            out = write_hints(self.unedited, self.shown, self.n_actions, self.rows)
        info = dict(info)
        info["hint_shown"] = self.shown
        return out, info

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # type: ignore[override]
        if seed is not None:
            self.rng = np.random.default_rng([self.seed_, seed, 1])
        obs, info = self.env.reset(seed=seed, options=options)
        return self._edit(obs, info)

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, info = self._edit(obs, info)
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        """The RGB frame with the edited strip painted where the network sees it."""
        frame = self.env.render()
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or self.unedited is None:
            return frame
        size = self.unedited.shape[-1]
        h, w = frame.shape[:2]
        frame = frame.copy()
        frame[round((size - self.rows) * h / size) :, :] = HINT_OFF
        if self.shown is not None:
            r0, r1, c0, c1 = hint_blocks(self.n_actions, size, self.rows)[self.shown]
            frame[round(r0 * h / size) : round(r1 * h / size), round(c0 * w / size) : round(c1 * w / size)] = HINT_ON
        return frame


def _names(env: gym.Env) -> list[str]:
    try:
        return list(env.unwrapped.get_action_meanings())
    except AttributeError:
        return []


def _action_index(text: str, names: list[str], n: int) -> int:
    if text.isdigit() and int(text) < n:
        return int(text)
    if text.upper() in names:
        return names.index(text.upper())
    raise RlvizError(f"unknown action {text!r} for hint:constant; use an index below {n} or one of {', '.join(names)}")


def hint_edit_says(mode: str, names: list[str]) -> str:
    """Plain words for a hint edit (``off``, ``random``, ``constant=ACTION``); refuses an unknown one."""
    if mode == "off":
        return "the hint strip is blanked: no move is hinted"
    if mode == "random":
        return "the hint strip shows a random move instead of the usual one"
    if mode.startswith("constant="):
        return f"the hint strip always shows {names[_action_index(mode.split('=', 1)[1], names, len(names))]}"
    raise RlvizError(f"unknown hint edit {mode!r}; use off, random or constant=ACTION")
