"""A Q-network's strip shows its Q-values relative to the best move, never a one-hot 100% bar."""

from __future__ import annotations

import numpy as np
import torch

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureQNetwork
from rlviz.play.envs import EnvSpec
from rlviz.present.layout import (
    CHOSEN_BAR,
    FrameRenderer,
    FrameView,
    Scales,
    compute_layout,
)
from rlviz.present.text import TextLayer

NAMES = ["NOOP", "FIRE", "RIGHT", "LEFT"]


def texts_of(monkeypatch) -> list[str]:
    seen: list[str] = []
    draw = TextLayer.draw
    monkeypatch.setattr(TextLayer, "draw", lambda self, frame: (seen.extend(t for _, t, *_ in self.items), draw(self, frame))[1])
    return seen


def bar_lengths(frame: np.ndarray, renderer: FrameRenderer) -> list[int]:
    """Pixels of bar fill (chosen green or the gray of the others) on each row's middle line."""
    top, row, _, shown = renderer._bars_geometry()
    s = renderer.layout.strip
    out = []
    for k in range(shown):
        line = frame[top + k * row + row // 2, s.x : s.x + s.w].astype(int)
        fill = (np.abs(line - CHOSEN_BAR).sum(1) < 6) | (np.abs(line - (110, 116, 140)).sum(1) < 6)
        out.append(int(fill.sum()))
    return out


def test_q_network_strip_shows_relative_q_values_with_the_greedy_move_highlighted(monkeypatch):
    torch.manual_seed(0)
    agent = Agent(NatureQNetwork(4), env_spec=EnvSpec("Breakout"), action_names=NAMES,
                  architecture={"name": "nature-q", "n_actions": 4})
    q, _ = agent(np.random.default_rng(0).integers(0, 256, (1, 4, 84, 84), dtype=np.uint8))
    q = q[0].numpy().astype(np.float64)
    greedy = int(q.argmax())
    probs = agent.probabilities(torch.as_tensor(q)[None])[0].numpy()  # the one-hot the strip used to show
    seen = texts_of(monkeypatch)
    renderer = FrameRenderer(compute_layout(1280, 720), NAMES, title="t", q_network=agent.kind == "q")
    view = FrameView(rgb=np.zeros((210, 160, 3), np.uint8), step=3, action=greedy, probs=probs, value=float(q.max()),
                     score=0.0, q_values=q)
    frame = renderer.render(view, Scales())
    texts = seen + renderer_static_texts(monkeypatch, agent)
    assert "100%" not in texts and "0%" not in texts
    assert "Value of each move (Q)" in texts
    for i in range(4):  # Q minus the best, closed form; the greedy move says "best"
        assert ("best" if i == greedy else f"{q[i] - q.max():+.2f}") in texts
    lengths = bar_lengths(frame, renderer)
    expected = (q - q.min()) / (q.max() - q.min()) * max(lengths)
    assert np.abs(np.array(lengths) - expected).max() <= 2  # bars run from the worst move to the best
    assert lengths.index(max(lengths)) == greedy


def renderer_static_texts(monkeypatch, agent) -> list[str]:
    seen = texts_of(monkeypatch)
    FrameRenderer(compute_layout(1280, 720), NAMES, title="t", q_network=agent.kind == "q")
    return seen
