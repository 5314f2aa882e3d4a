"""The report's objects layer: per step, each object's box on the newest frame and, per map,
the objects holding most of its mass.

While the report replays, every observation's objects are found against the agent's background
(:mod:`rlviz.explain.objects`) and kept as one small label image per step (which object owns
each pixel of the stacked footprints) and the box of each object in the newest stacked frame,
the frame the page shows. When the maps are written, each map's shares on the objects are
computed from that label image (explain/objects/shares.py: |map| on the object over the whole
|map|, of the map as drawn) and the top ``TOP`` go into ``data.js``.

Example:
    >>> layer = ObjectsLayer(background(agent), "Pong", steps=n, size=84, folder=tmp)
    >>> layer.add(k, obs)                    # during the replay
    >>> layer.record_shares("lrp-action", k, lrp_map)
    >>> layer.to_data()["boxes"][k]          # [[name index, top, left, bottom, right], ...] in observation pixels
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlviz.explain.objects import find_objects, label_image, shares_on_labels

TOP = 3  # objects listed per map
MINIMUM = 0.005  # shares below half a percent are not listed


class ObjectsLayer:
    """Boxes, names and label images of every step, and the top objects of every map."""

    def __init__(self, background: np.ndarray, game: str, *, steps: int, size: int, folder: Path) -> None:
        self.background, self.game = np.asarray(background, np.uint8), game
        self.names: list[str] = []
        self.boxes: list[list[list[int]]] = [[] for _ in range(steps)]
        self.step_names: list[list[str]] = [[] for _ in range(steps)]
        self.labels = np.lib.format.open_memmap(Path(folder) / "object-labels.npy", "w+", np.uint8, (steps, size, size))
        self.shares: dict[str, list[list[list[float]]]] = {}

    def _index(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def add(self, k: int, obs: np.ndarray) -> None:
        """Step k's objects: label image, names, and boxes in the newest stacked frame."""
        objects = find_objects(obs, self.background, self.game)[:255]
        self.labels[k] = label_image(objects, obs.shape[-2:])
        self.step_names[k] = [o.name for o in objects]
        for o in objects:
            newest = o.masks[-1]
            if newest.any():
                rows, cols = np.nonzero(newest)
                self.boxes[k].append([self._index(o.name), int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1])

    def record_shares(self, layer: str, k: int, values: np.ndarray) -> None:
        """The top objects of one map of step k: [[name index, share], ...], largest first."""
        per_step = self.shares.setdefault(layer, [[] for _ in range(len(self.boxes))])
        by = shares_on_labels(values, np.asarray(self.labels[k]), self.step_names[k]).by_object
        ranked = sorted(by.items(), key=lambda kv: -kv[1])[:TOP]
        per_step[k] = [[self._index(name), round(share, 3)] for name, share in ranked if share >= MINIMUM]

    def to_data(self, steps: int) -> dict:
        return {"names": self.names, "boxes": self.boxes[:steps], "shares": {key: v[:steps] for key, v in self.shares.items()}}
