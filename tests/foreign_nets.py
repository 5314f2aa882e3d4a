"""Networks as other Atari packages write them (their own module names and forwards), with
random weights, for the import and save tests. Not tests themselves."""

from __future__ import annotations

import torch
from torch import nn

N_ACTIONS = 6  # SpaceInvaders and Pong both have 6 minimal actions


def _convs() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU())


def _mlp(out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, out))


class ConvHeadQ(nn.Module):
    """A DQN trainer's Nature CNN: keys conv.0/2/4 and head.0/2; divides by 255 inside."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.head = _convs(), _mlp(N_ACTIONS)

    def forward(self, x):
        return self.head(self.conv(x.float() / 255.0).flatten(1))


class AtariNet(nn.Module):
    """OCAtari-style uint8-input net with name-mangled private modules (``_AtariNet__features``)."""

    def __init__(self, distributional: int = 0) -> None:
        super().__init__()
        self.atoms = distributional
        self.__features = _convs()
        self.__head = _mlp(N_ACTIONS * (distributional or 1))

    def forward(self, x):
        assert x.dtype == torch.uint8
        out = self.__head(self.__features(x.float().div(255)).flatten(1))
        if self.atoms:
            return torch.softmax(out.view(-1, N_ACTIONS, self.atoms), -1)  # a distribution per action
        return out


class OddActorCritic(nn.Module):
    """An actor-critic whose value head comes first and whose keys say nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.v = nn.Linear(512, 1)
        self.body = nn.Sequential(_convs(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU())
        self.pi = nn.Linear(512, N_ACTIONS)

    def forward(self, x):
        h = self.body(x / 255.0)
        return self.pi(h), self.v(h).squeeze(-1)


class RawPixelQ(nn.Module):
    """A Q-network that takes pixel values 0..255 as floats, no /255 (needs --input-scale 255)."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.f = _convs(), _mlp(N_ACTIONS)

    def forward(self, x):
        return self.f(self.c(x.float()).flatten(1))


class DuelingQ(nn.Module):
    """Wang et al.'s dueling layout: separate value and advantage streams after the convs."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = _convs()
        self.value_stream, self.advantage_stream = _mlp(1), _mlp(N_ACTIONS)

    def forward(self, x):
        h = self.trunk(x / 255.0).flatten(1)
        a = self.advantage_stream(h)
        return self.value_stream(h) + a - a.mean(-1, keepdim=True)


class SharedDuelingQ(nn.Module):
    """Dueling heads on one shared dense layer: same shapes as an actor-critic."""

    def __init__(self) -> None:
        super().__init__()
        self.torso = nn.Sequential(_convs(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU())
        self.val, self.adv = nn.Linear(512, 1), nn.Linear(512, N_ACTIONS)

    def forward(self, x):
        h = self.torso(x / 255.0)
        a = self.adv(h)
        return self.val(h) + a - a.mean(-1, keepdim=True)


class C51(nn.Module):
    """CleanRL's c51_atari QNetwork: atoms stored as a buffer; Q = sum softmax * atoms."""

    def __init__(self, n_atoms: int = 11) -> None:
        super().__init__()
        self.n_atoms = n_atoms
        self.register_buffer("atoms", torch.linspace(-5.0, 7.0, n_atoms))
        self.network = nn.Sequential(_convs(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, N_ACTIONS * n_atoms))

    def forward(self, x):
        logits = self.network(x / 255.0).view(-1, N_ACTIONS, self.n_atoms)
        return (torch.softmax(logits, -1) * self.atoms).sum(-1)


class QRDQN(nn.Module):
    """QR-DQN: the head gives quantiles per action; Q is their mean."""

    def __init__(self, n_quantiles: int = 8) -> None:
        super().__init__()
        self.n = n_quantiles
        self.features, self.quantiles = _convs(), _mlp(N_ACTIONS * n_quantiles)

    def forward(self, x):
        return self.quantiles(self.features(x / 255.0).flatten(1)).view(-1, N_ACTIONS, self.n).mean(-1)


def _randomised(net: nn.Module, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for p in net.parameters():
        nn.init.normal_(p, std=0.05)
    return net.eval()


class ProcgenResidual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ProcgenSequence(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.res_block0, self.res_block1 = ProcgenResidual(c_out), ProcgenResidual(c_out)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(self.conv(x), kernel_size=3, stride=2, padding=1)
        return self.res_block1(self.res_block0(x))


class ProcgenAgent(nn.Module):
    """CleanRL ppo_procgen's IMPALA CNN agent, on 4x84x84 stacks (channels-first here)."""

    def __init__(self) -> None:
        super().__init__()
        seqs, c = [], 4
        for out in (16, 32, 32):
            seqs.append(ProcgenSequence(c, out))
            c = out
        self.network = nn.Sequential(*seqs, nn.Flatten(), nn.ReLU(), nn.Linear(32 * 11 * 11, 256), nn.ReLU())
        self.actor, self.critic = nn.Linear(256, N_ACTIONS), nn.Linear(256, 1)

    def forward(self, x):
        hidden = self.network(x / 255.0)
        return self.actor(hidden), self.critic(hidden)
