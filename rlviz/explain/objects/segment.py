"""Objects of one observation: pixels that differ from the background, grouped and named.

In each of the stacked frames, a pixel belongs to an object where it differs from the
background by more than ``threshold`` gray levels; connected components (8-neighbourhood)
of those pixels are the pieces. A piece is then

* named by the game's rule (games.py) in a bundled game, and all pieces with one name over
  the whole stack form that object (the ball seen in 4 frames is one "ball", the invaders one
  "invaders");
* in any other game (or where the rule cannot tell) tracked across the stack: a piece joins
  the track of a piece in the previous frame whose box, grown by ``link`` pixels, it touches;
  each track is one unnamed object, "object 1", "object 2", ... numbered top-left first.

Each object keeps a mask per stacked frame, grown by ``dilate`` pixels so that the blurred
edge a resize leaves around a small object counts as the object (the measurement protocol of
DESIGN.md §8: > 10 levels, dilated by 1 px).

Example:
    >>> objects = find_objects(obs, bg, game="Pong")
    >>> [o.name for o in objects]
    ['ball', "opponent's paddle", "agent's paddle"]
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rlviz.explain.objects.games import blob, rules_for
from rlviz.util.errors import RlvizError

THRESHOLD = 10  # gray levels
DILATE = 1  # pixels
LINK = 3  # pixels a piece may move between two stacked frames and stay one track


@dataclass
class SceneObject:
    """One object of an observation: its name and its pixels in each stacked frame."""

    name: str
    masks: np.ndarray  # bool (C, H, W): the object's (dilated) pixels in each stacked frame

    @property
    def footprint(self) -> np.ndarray:
        """bool (H, W): where the object is in any stacked frame."""
        return self.masks.any(axis=0)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the footprint, bottom/right exclusive."""
        rows, cols = np.nonzero(self.footprint)
        return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def check_pair(obs: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """obs as uint8 (C, H, W) and the background as one (H, W) frame, or a clear error."""
    obs, background = np.asarray(obs), np.asarray(background)
    if obs.ndim == 2:
        obs = obs[None]
    if obs.ndim != 3:
        raise RlvizError(f"objects are found in one observation (C, H, W), got shape {obs.shape}")
    if background.ndim == 3:
        background = background[-1]
    if background.shape != obs.shape[1:]:
        raise RlvizError(
            f"background {background.shape} does not fit observations {obs.shape[1:]}; compute it for "
            "this agent's pipeline (rlviz objects --background --agent A)"
        )
    return obs, background


def difference_masks(obs: np.ndarray, background: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """bool (C, H, W): pixels of each stacked frame that differ from the background by > threshold."""
    obs, background = check_pair(obs, background)
    return np.abs(obs.astype(np.int16) - background.astype(np.int16)[None]) > threshold


def _pieces(mask: np.ndarray) -> list[np.ndarray]:
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return [labels == k for k in range(1, n)]


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0:
        return mask
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _box_touches(a: np.ndarray, b: np.ndarray, link: int) -> bool:
    ra, ca = np.nonzero(a)
    rb, cb = np.nonzero(b)
    return not (ra.max() + link < rb.min() or rb.max() + link < ra.min()
                or ca.max() + link < cb.min() or cb.max() + link < ca.min())


def _tracks(pieces: list[tuple[int, np.ndarray]], n_frames: int, link: int) -> list[list[tuple[int, np.ndarray]]]:
    """Group (frame, mask) pieces into tracks: a piece continues the nearest track whose last
    piece (in an earlier frame) it touches within ``link`` pixels, else it starts a new one."""
    tracks: list[list[tuple[int, np.ndarray]]] = []
    for t in range(n_frames):
        taken: set[int] = set()
        for frame, mask in (p for p in pieces if p[0] == t):
            best, best_d = None, None
            cy, cx = (v.mean() for v in np.nonzero(mask))
            for k, track in enumerate(tracks):
                last_t, last = track[-1]
                if k in taken or last_t >= t or not _box_touches(mask, last, link):
                    continue
                ly, lx = (v.mean() for v in np.nonzero(last))
                d = (cy - ly) ** 2 + (cx - lx) ** 2
                if best_d is None or d < best_d:
                    best, best_d = k, d
            if best is None:
                tracks.append([(frame, mask)])
                taken.add(len(tracks) - 1)
            else:
                tracks[best].append((frame, mask))
                taken.add(best)
    return tracks


def find_objects(
    obs: np.ndarray,
    background: np.ndarray,
    game: str | None = None,
    *,
    threshold: float = THRESHOLD,
    dilate: int = DILATE,
    link: int = LINK,
) -> list[SceneObject]:
    """The objects of one observation (uint8 (C, H, W)) against the background (uint8 (H, W)).

    Named objects of a bundled ``game`` come first, in the game's order; unnamed ones follow as
    "object 1", "object 2", ... An observation equal to the background has no objects: [], and
    an all-zero stacked frame (the padding after a reset) contributes none.
    """
    obs, background = check_pair(obs, background)
    diff = difference_masks(obs, background, threshold)
    brighter = obs.astype(np.int16) > background.astype(np.int16)[None]
    rules = rules_for(game)
    named: dict[str, np.ndarray] = {}
    unnamed: list[tuple[int, np.ndarray]] = []
    for t in range(obs.shape[0]):
        if not obs[t].any():  # a blank frame padding the stack after a reset: no objects, not one frame-sized one
            continue
        for piece in _pieces(diff[t]):
            name = rules.rule(blob(piece, brighter[t])) if rules is not None else None
            if name is None:
                unnamed.append((t, piece))
                continue
            masks = named.setdefault(name, np.zeros(obs.shape, bool))
            masks[t] |= piece
    objects = []
    if rules is not None:
        order = {n: i for i, n in enumerate(rules.names)}
        for name in sorted(named, key=lambda n: order.get(n, len(order))):
            objects.append(SceneObject(name, named[name]))
    tracks = _tracks(unnamed, obs.shape[0], link)
    tracks.sort(key=lambda tr: min((np.nonzero(m)[0].min(), np.nonzero(m)[1].min()) for _, m in tr))
    for k, track in enumerate(tracks, start=1):
        masks = np.zeros(obs.shape, bool)
        for t, mask in track:
            masks[t] |= mask
        objects.append(SceneObject(f"object {k}", masks))
    for o in objects:
        o.masks = np.stack([_grow(m, dilate) for m in o.masks])
    return objects


def label_image(objects: list[SceneObject], shape: tuple[int, int]) -> np.ndarray:
    """int (H, W): 0 where no object is, k where objects[k-1] is. A pixel that two objects'
    footprints share goes to the smaller object (a ball beside a paddle keeps its own pixels)."""
    labels = np.zeros(shape, np.int32)
    sizes = [int(o.footprint.sum()) for o in objects]
    for k in sorted(range(len(objects)), key=lambda i: -sizes[i]):  # largest first, smaller ones overwrite
        labels[objects[k].footprint] = k + 1
    return labels
