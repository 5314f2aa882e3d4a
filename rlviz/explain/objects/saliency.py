"""Object saliency (Iyer et al. 2018): how much the policy changes when one object is removed.

Remove an object by painting its pixels with the background in every stacked frame, run the
network once more, and score the change as perturbation saliency does (DESIGN.md §4):
policy 1/2 ||f(I) - f(I')||^2 over the logits (Q-values for a Q-network), value 1/2 (V(I) - V(I'))^2.
One batch holds the clean observation and one copy per object.

Example:
    >>> object_saliency(agent, obs, objects, bg)
    {'ball': {'policy': 0.8, 'value': 0.01}, "agent's paddle": {'policy': 2.1, 'value': 0.0}}
"""

from __future__ import annotations

import numpy as np
import torch

from rlviz.agents.agent import Agent, to_float_obs
from rlviz.explain.objects.segment import SceneObject, check_pair


def remove_object(obs: np.ndarray, obj: SceneObject, background: np.ndarray) -> np.ndarray:
    """uint8 (C, H, W): obs with the object's pixels painted with the background in each frame."""
    obs, background = check_pair(obs, background)
    return np.where(obj.masks, background[None], obs).astype(np.uint8)


def object_saliency(
    agent: Agent, obs: np.ndarray, objects: list[SceneObject], background: np.ndarray
) -> dict[str, dict[str, float]]:
    """{object name: {"policy": 1/2 ||delta logits||^2, "value": 1/2 delta V^2}} for one observation."""
    if not objects:
        return {}
    obs, background = check_pair(obs, background)
    batch = np.stack([obs] + [remove_object(obs, o, background) for o in objects])
    with torch.no_grad():
        logits, value = agent.forward(to_float_obs(batch, agent.device))
    logits, value = logits.double(), value.double()
    policy = 0.5 * ((logits[1:] - logits[:1]) ** 2).sum(-1)
    val = 0.5 * (value[1:] - value[:1]) ** 2
    return {o.name: {"policy": float(p), "value": float(v)} for o, p, v in zip(objects, policy, val)}
