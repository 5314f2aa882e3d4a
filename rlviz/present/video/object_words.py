"""The video's words about objects: what each panel's map lies on, where it looks in a caption,
which objects an interaction's cells hold, and the end card's "where it looked".

Every sentence is made from the per-step shares that the explain pass stores
(:func:`frame_shares`, the same ``object_shares`` as ``rlviz.top_objects``), so the strip,
the captions, the end card and the timeline JSON cannot disagree. A frame without objects
says nothing; an unknown game's objects are "object N" (rlviz.explain.objects), never an
invented name.

Example:
    >>> looks_line([("opponent's paddle", 0.62), ("ball", 0.21)])
    "looks at: opponent's paddle 62%, ball 21%"
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlviz.explain.objects import SceneObject, object_shares
from rlviz.present.object_figures import strip_text

TOP_K = 3  # objects a strip line lists
SHOWN_MINIMUM = 0.005  # shares that would print as "0%" are left out
CAPTION_SHARE = 0.2  # a caption names the top object only where it holds at least 20% of the map,
CAPTION_LEAD = 2.0  # ... at least twice the share of the next object,
CAPTION_RUN = 10  # ... for at least this many steps in a row (no flicker between objects)
CELL_MOSTLY = 2 / 3  # a cell is named for an object holding this much of the cell's object pixels
CELL_MIN_PIXELS = 4  # ... and at least this many of them
PANEL_MAPS = ("saliency", "lrp")  # panels whose maps get an object line (saliency: the actor map)
LEADS = {"saliency": "looks at", "lrp": "relevance on"}

Top = list[tuple[str, float]]


def frame_shares(values: np.ndarray, objects: list[SceneObject]) -> dict[str, float]:
    """Each object's share of ``values``' mass on one frame (rlviz.explain.objects.object_shares)."""
    return object_shares(values, objects).by_object


def top_of(shares: dict[str, float] | None, k: int = TOP_K) -> Top:
    """The ``k`` largest shares, largest first, those under SHOWN_MINIMUM left out: the order
    and cut of ``rlviz.top_objects``."""
    ranked = sorted((shares or {}).items(), key=lambda kv: -kv[1])
    return [(name, share) for name, share in ranked[:k] if share >= SHOWN_MINIMUM]


def looks_line(top: Top, panel: str = "saliency") -> str:
    """The strip's line under a panel: "looks at: opponent's paddle 62%, ball 21%"; "" without objects."""
    return f"{LEADS.get(panel, 'on')}: {strip_text(top)}" if top else ""


def phrase(name: str) -> str:
    """An object's name in a sentence: "the ball", but "object 3" as it is."""
    return name if name.startswith("object ") else f"the {name}"


def caption_text(name: str, panel: str) -> str:
    """The caption's words: constant over a run (the shares are on the line under the map)."""
    if panel == "lrp":
        return f"Of the objects, {phrase(name)} weighs most in its move"
    return f"Of the objects, it watches {phrase(name)} most"


def object_captions(tops: Sequence[Top | None], panel: str = "saliency", *, share: float = CAPTION_SHARE,
                    lead: float = CAPTION_LEAD, run: int = CAPTION_RUN) -> list[str]:
    """One caption per step, "" where none. The claim "of the objects, it watches X most" is
    made exactly on the steps where X is the top object with at least ``share`` of the map and
    ``lead`` times the next object's share, in a run of at least ``run`` consecutive steps with
    the same X (shorter runs would flicker). Saliency maps spread over empty court, so "mostly"
    (half the map) is rare; the claim is about the objects, with the share said."""
    def leader(t: Top | None) -> str | None:
        if not t or t[0][1] < share or (len(t) > 1 and t[0][1] < lead * t[1][1]):
            return None
        return t[0][0]

    lead_of = [leader(t) for t in tops]
    out = [""] * len(tops)
    k = 0
    while k < len(lead_of):
        j = k
        while j < len(lead_of) and lead_of[j] is not None and lead_of[j] == lead_of[k]:
            j += 1
        if lead_of[k] is not None and j - k >= run:
            for t in range(k, j):
                out[t] = caption_text(tops[t][0][0], panel)
        k = max(j, k + 1)
    return out


def merge_captions(events: Sequence[str] | None, objects: Sequence[str]) -> list[str]:
    """Event captions (rewards, lives, value changes) first; object captions where there is none."""
    if events is None:
        return list(objects)
    return [e or o for e, o in zip(events, objects)]


def cell_object(box: tuple[int, int, int, int], labels: np.ndarray, names: Sequence[str]) -> str | None:
    """The object a cell (x0, y0, x1, y1 in observation pixels) mostly holds: the one with at
    least CELL_MOSTLY of the cell's object pixels (and CELL_MIN_PIXELS of them); None otherwise."""
    x0, y0, x1, y1 = (round(v) for v in box)
    cell = labels[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    ids = cell[cell > 0]
    if ids.size < CELL_MIN_PIXELS:
        return None
    counts = np.bincount(ids, minlength=len(names) + 1)
    best = int(np.argmax(counts))
    return names[best - 1] if counts[best] >= CELL_MOSTLY * ids.size else None


def pair_line(pair_objects: Sequence[tuple[str | None, str | None]] | None) -> str:
    """The interactions panel's line: "1: ball + opponent's paddle" for the strongest pair whose
    two cells each mostly hold one object; "" when no shown pair has both cells named."""
    for n, (a, b) in enumerate(pair_objects or (), 1):
        if a and b:
            return f"{n}: {a} + {b}" if a != b else f"{n}: two cells on {phrase(a)}"
    return ""


def linked_objects(per_step: Sequence[Sequence[tuple[str | None, str | None]] | None]) -> tuple[tuple[str, str], float] | None:
    """The pair of objects the drawn interaction pairs join in the most frames, and the share
    of frames (of those with a record) in which some drawn pair joins them: cells named as in
    :func:`pair_line`, a pair counted once per frame, in either order. None when no drawn pair
    had both cells named. Ties go to the pair seen first."""
    frames = [p for p in per_step if p is not None]
    counts: dict[tuple[str, str], int] = {}
    for pairs in frames:
        for pair in {tuple(sorted((a, b))) for a, b in pairs if a and b}:
            counts[pair] = counts.get(pair, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda k: counts[k])  # max keeps the first of equal counts
    return best, counts[best] / len(frames)


def linked_sentence(per_step: Sequence[Sequence[tuple[str | None, str | None]] | None]) -> str:
    """The end card's interactions line in objects, in the panel line's words: "Boxes joined
    most often: ball + opponent's paddle (34% of frames)."; "" when no drawn pair had both
    cells named."""
    found = linked_objects(per_step)
    if found is None:
        return ""
    (a, b), share = found
    what = f"{a} + {b}" if a != b else f"two cells on {phrase(a)}"
    return f"Boxes joined most often: {what} ({100 * share:.0f}% of frames)."


def mean_object_shares(per_step: Sequence[dict[str, float] | None]) -> dict[str, float]:
    """Mean share of each object over the steps given (a step without it counts 0), as
    ``rlviz.explain.objects.mean_shares``; steps with no record (None) are left out."""
    steps = [s for s in per_step if s is not None]
    if not steps:
        return {}
    names: list[str] = []
    for s in steps:
        names += [n for n in s if n not in names]
    return {n: float(sum(s.get(n, 0.0) for s in steps) / len(steps)) for n in names}


def where_it_looked(per_step: Sequence[dict[str, float] | None], panel: str = "saliency") -> str:
    """The end card's line from the mean shares over the shown steps, in the strip's words:
    "Where it looked, on average: opponent's paddle 31%, ball 12%."; "" when no object held
    any mass. Short, so that the card's word limit keeps it."""
    top = top_of(mean_object_shares(per_step), 2)
    if not top:
        return ""
    lead = "Where it looked, on average:" if panel == "saliency" else "What weighed in its moves, on average:"
    return f"{lead} {strip_text(top)}."
