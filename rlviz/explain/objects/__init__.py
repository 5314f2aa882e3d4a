"""Explanations in terms of the game's objects (DESIGN.md §8).

background.py: the per-pixel median background per game, pipeline and agent (cached);
segment.py: objects as pixels differing from it, named by games.py or numbered;
shares.py: each object's share of a map; saliency.py: object saliency (Iyer et al. 2018).
The LRP rule relative to the background is ``rlviz.explain.lrp`` composite
"epsilon-gamma-reference".

    >>> bg = background(agent)
    >>> objects = find_objects(obs, bg, game=agent.env_spec.game)
    >>> top_objects(lrp(agent, obs)[0], objects)
"""

from rlviz.explain.objects.background import (
    background,
    compute_background,
    reference_observation,
)
from rlviz.explain.objects.games import GAMES
from rlviz.explain.objects.saliency import object_saliency, remove_object
from rlviz.explain.objects.segment import (
    SceneObject,
    difference_masks,
    find_objects,
    label_image,
)
from rlviz.explain.objects.shares import (
    Shares,
    mean_shares,
    object_shares,
    shares_on_labels,
    top_objects,
)

__all__ = [
    "GAMES", "SceneObject", "Shares", "background", "compute_background", "difference_masks", "find_objects",
    "label_image", "mean_shares", "object_saliency", "object_shares", "reference_observation", "remove_object",
    "shares_on_labels", "top_objects",
]
