"""Policy network architectures rlviz can build from an ``agent.json`` description.

All networks take float32 observations in [0, 1] of shape [N, C, 84, 84]; the /255 happens
outside the net, which fixes LRP's input domain to [0, 1] (DESIGN.md §3).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rlviz.util.errors import RlvizError


def nature_trunk(in_channels: int = 4) -> nn.Sequential:
    """The Nature-DQN convolutional trunk followed by its 512-unit dense layer."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(32, 64, kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(64, 64, kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 512),
        nn.ReLU(),
    )


class NatureActorCritic(nn.Module):
    """Nature-CNN actor-critic (as in CleanRL's ppo_atari): shared trunk, two linear heads."""

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        self.features = nature_trunk(in_channels)
        self.actor = nn.Linear(512, n_actions)
        self.critic = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.features(x)
        return self.actor(hidden), self.critic(hidden).squeeze(-1)


class NatureQNetwork(nn.Module):
    """Nature-DQN Q-network: one output tensor of Q-values."""

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        self.features = nature_trunk(in_channels)
        self.q = nn.Linear(512, n_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.q(self.features(x))


ARCHITECTURES = {
    "nature-actor-critic": NatureActorCritic,
    "nature-q": NatureQNetwork,
}


def build_network(arch: dict[str, Any]) -> nn.Module:
    """Build a network from its description, e.g. {"name": "nature-actor-critic", "n_actions": 6}."""
    name = arch.get("name")
    if name not in ARCHITECTURES:
        raise RlvizError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    try:
        return ARCHITECTURES[name](int(arch["n_actions"]), int(arch.get("in_channels", 4)))
    except KeyError as exc:
        raise RlvizError(f"architecture description lacks {exc.args[0]!r}") from None


class NatureActorCriticSeparate(nn.Module):
    """Nature-CNN actor-critic with separate trunks for policy and value.

    This is SB3's ``CnnPolicy`` with ``share_features_extractor=False``: ``features`` feeds
    the actor (so policy explanations see the same layout as :class:`NatureActorCritic`),
    ``critic_features`` feeds the critic.
    """

    def __init__(self, n_actions: int, in_channels: int = 4) -> None:
        super().__init__()
        self.features = nature_trunk(in_channels)
        self.critic_features = nature_trunk(in_channels)
        self.actor = nn.Linear(512, n_actions)
        self.critic = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.actor(self.features(x)), self.critic(self.critic_features(x)).squeeze(-1)


ARCHITECTURES["nature-actor-critic-separate"] = NatureActorCriticSeparate
