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
        options = arch.get("options") or {}  # extra constructor arguments (dueling, distributional nets)
        return ARCHITECTURES[name](int(arch["n_actions"]), int(arch.get("in_channels", 4)), **options)
    except KeyError as exc:
        raise RlvizError(f"architecture description lacks {exc.args[0]!r}") from None
    except TypeError as exc:
        raise RlvizError(f"architecture {name!r} does not take these options ({exc}); re-import the agent") from None


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


class NatureDuelingQ(nn.Module):
    """Dueling Q-network (Wang et al. 2016) on the Nature CNN: Q = V + A - mean_a A.

    ``separate_streams=False``: one 512-unit dense layer feeds both heads. ``True`` (the
    paper's layout): the conv output feeds a value stream ``value_dense`` and an advantage
    stream, the latter kept in ``features`` so that ``features`` is conv stack + first dense
    layer for the advantage (the policy side) as in every rlviz Nature network.
    """

    def __init__(self, n_actions: int, in_channels: int = 4, separate_streams: bool = False) -> None:
        super().__init__()
        self.separate_streams = bool(separate_streams)
        self.features = nature_trunk(in_channels)
        if self.separate_streams:
            self.value_dense = nn.Sequential(nn.Linear(64 * 7 * 7, 512), nn.ReLU())
        self.value = nn.Linear(512, 1)
        self.advantage = nn.Linear(512, n_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.separate_streams:
            conv = self.features[:7](x)
            adv_hidden, value_hidden = self.features[7:](conv), self.value_dense(conv)
        else:
            adv_hidden = value_hidden = self.features(x)
        advantage = self.advantage(adv_hidden)
        return self.value(value_hidden) + advantage - advantage.mean(dim=-1, keepdim=True)


class NatureDistributionalQ(nn.Module):
    """Distributional Q-network on the Nature CNN; outputs the Q-values (expectations).

    The head gives ``n_actions * n_atoms`` numbers, action-major. ``"c51"`` (Bellemare et al.
    2017): Q_a = sum_i softmax(z_a)_i * support_i, the support stored as a buffer. ``"qr"``
    (QR-DQN, Dabney et al. 2018): Q_a = mean of the action's quantiles.
    """

    def __init__(
        self, n_actions: int, in_channels: int = 4, n_atoms: int = 51, distribution: str = "c51",
        v_min: float = -10.0, v_max: float = 10.0,
    ) -> None:
        super().__init__()
        if distribution not in ("c51", "qr"):
            raise RlvizError(f"distribution must be 'c51' or 'qr', got {distribution!r}")
        self.n_actions, self.n_atoms, self.distribution = int(n_actions), int(n_atoms), distribution
        self.features = nature_trunk(in_channels)
        self.head = nn.Linear(512, self.n_actions * self.n_atoms)
        if distribution == "c51":
            self.register_buffer("support", torch.linspace(float(v_min), float(v_max), self.n_atoms))

    def atoms(self, x: torch.Tensor) -> torch.Tensor:
        """The head's output as [N, actions, atoms] (logits for C51, quantiles for QR-DQN)."""
        return self.head(self.features(x)).view(-1, self.n_actions, self.n_atoms)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.atoms(x)
        if self.distribution == "c51":
            return torch.softmax(z, dim=-1) @ self.support
        return z.mean(dim=-1)


ARCHITECTURES["nature-dueling-q"] = NatureDuelingQ
ARCHITECTURES["nature-distributional-q"] = NatureDistributionalQ


class ImpalaResidual(nn.Module):
    """IMPALA residual block: x + conv1(relu(conv0(relu(x))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ImpalaStage(nn.Module):
    """IMPALA conv sequence: conv 3x3, max-pool 3 stride 2, two residual blocks."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res0, self.res1 = ImpalaResidual(out_channels), ImpalaResidual(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res1(self.res0(self.pool(self.conv(x))))


class ImpalaActorCritic(nn.Module):
    """IMPALA CNN actor-critic (Espeholt et al. 2018, as in CleanRL's ppo_procgen) on 84x84 frames:
    stages of ``channels`` (16, 32, 32), ReLU, a 256-unit dense layer, actor and critic heads."""

    def __init__(self, n_actions: int, in_channels: int = 4, channels: tuple[int, ...] = (16, 32, 32), hidden: int = 256) -> None:
        super().__init__()
        stages, size, c_in = [], 84, in_channels
        for c in channels:
            stages.append(ImpalaStage(c_in, c))
            size, c_in = (size + 1) // 2, c
        self.features = nn.Sequential(*stages, nn.Flatten(), nn.ReLU(), nn.Linear(c_in * size * size, hidden), nn.ReLU())
        self.actor = nn.Linear(hidden, n_actions)
        self.critic = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.features(x)
        return self.actor(hidden), self.critic(hidden).squeeze(-1)


ARCHITECTURES["impala-actor-critic"] = ImpalaActorCritic
