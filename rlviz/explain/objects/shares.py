"""How much of a map's mass lies on each object: "opponent's paddle 62%, ball 21%".

A map's mass is its absolute value, summed over the stacked frames for a (C, H, W) map. The
share of an object is the mass on its footprint (the pixels it covers in any stacked frame)
over the map's whole mass; a pixel two objects share counts once, for the smaller one
(segment.label_image), so the shares of the objects add up to the share on objects. A frame
without objects, or a map without mass, gives empty shares and 0, never a division by zero.

Example:
    >>> s = object_shares(rel[0], objects)
    >>> s.on_objects, s.by_object            # 0.91, {'ball': 0.62, "agent's paddle": 0.29}
    >>> top_objects(rel[0], objects, k=2)    # [('ball', 0.62), ("agent's paddle", 0.29)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rlviz.explain.objects.segment import SceneObject, label_image
from rlviz.util.errors import RlvizError


@dataclass
class Shares:
    """Share of a map's absolute mass on all objects and on each object (fractions in [0, 1])."""

    on_objects: float
    by_object: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"share_on_objects": self.on_objects, "by_object": dict(self.by_object)}


def mass(values: np.ndarray) -> np.ndarray:
    """|map| as (H, W): summed over the stacked frames for a (C, H, W) map."""
    values = np.abs(np.asarray(values, np.float64))
    if values.ndim == 3:
        return values.sum(axis=0)
    if values.ndim != 2:
        raise RlvizError(f"a map is (H, W) or (C, H, W) for one observation, got shape {values.shape}")
    return values


def object_shares(values: np.ndarray, objects: list[SceneObject]) -> Shares:
    """The share of ``values``' mass on each object and on all of them, for one observation."""
    m = mass(values)
    total = float(m.sum())
    if not objects or total <= 0 or not np.isfinite(total):
        return Shares(0.0, {o.name: 0.0 for o in objects})
    if objects[0].masks.shape[1:] != m.shape:
        raise RlvizError(f"map {m.shape} and objects {objects[0].masks.shape[1:]} differ in size")
    return shares_on_labels(m, label_image(objects, m.shape), [o.name for o in objects])


def shares_on_labels(values: np.ndarray, labels: np.ndarray, names: list[str]) -> Shares:
    """The same shares from a label image (segment.label_image: k where names[k-1] is, 0 elsewhere):
    what a long rollout keeps per step instead of every object's masks."""
    m = mass(values)
    total = float(m.sum())
    if not names or total <= 0 or not np.isfinite(total):
        return Shares(0.0, {name: 0.0 for name in names})
    if labels.shape != m.shape:
        raise RlvizError(f"map {m.shape} and object labels {labels.shape} differ in size")
    by = {name: float(m[labels == k + 1].sum() / total) for k, name in enumerate(names)}
    return Shares(float(m[labels > 0].sum() / total), by)


def top_objects(values: np.ndarray, objects: list[SceneObject], k: int = 3, minimum: float = 0.0) -> list[tuple[str, float]]:
    """The ``k`` objects holding most of the map's mass on one frame, with their shares,
    largest first (those under ``minimum`` left out): what a video strip lists."""
    shares = object_shares(values, objects).by_object
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    return [(name, share) for name, share in ranked[:k] if share > minimum]


def mean_shares(per_frame: list[Shares]) -> Shares:
    """Shares over a rollout: the mean over frames (each frame weighs the same); an object
    missing from a frame counts 0 there."""
    if not per_frame:
        return Shares(0.0, {})
    names: list[str] = []
    for s in per_frame:
        names += [n for n in s.by_object if n not in names]
    n = len(per_frame)
    return Shares(float(sum(s.on_objects for s in per_frame) / n),
                  {name: float(sum(s.by_object.get(name, 0.0) for s in per_frame) / n) for name in names})
