"""Evaluation policies: greedy plays the likeliest move, sampled draws from the policy, reproducibly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.agents.evaluate import evaluate
from rlviz.play.rollout import env_for, play
from rlviz.util.errors import RlvizError


class FixedPolicy(nn.Module):
    """Ignores its input: the same action distribution in every state."""

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.register_buffer("logits", torch.log(torch.tensor(probs)))

    def forward(self, x: torch.Tensor):
        n = x.shape[0]
        return self.logits.expand(n, -1), torch.zeros(n)


def fixed_agent(pong_agent: Agent, probs: list[float]) -> Agent:
    return Agent(FixedPolicy(probs), env_spec=pong_agent.env_spec, action_names=pong_agent.action_names, metadata={"name": "fixed"})


def test_sampled_moves_follow_the_policy_distribution(pong_agent):
    probs = [0.05, 0.05, 0.5, 0.3, 0.05, 0.05]
    agent = fixed_agent(pong_agent, probs)
    env = env_for(agent, render_mode=None)
    try:
        greedy = [s.action for s in play(agent, env, seed=0, max_steps=50)]
        drawn = [s.action for s in play(agent, env, seed=0, max_steps=2000, sample=np.random.default_rng(1))]
    finally:
        env.close()
    assert set(greedy) == {2}
    counts = np.bincount(drawn, minlength=6)
    expected = np.asarray(probs) * len(drawn)
    assert (np.abs(counts - expected) < 4 * np.sqrt(expected)).all(), counts  # a 4-sigma band per action


def test_sampled_evaluation_is_reproducible_and_records_its_policy(pong_agent):
    agent = fixed_agent(pong_agent, [0.2, 0.2, 0.2, 0.2, 0.1, 0.1])
    a = evaluate(agent, episodes=2, seed=4, max_steps=300, progress=False, policy="sampled")
    b = evaluate(agent, episodes=2, seed=4, max_steps=300, progress=False, policy="sampled")
    assert a.returns == b.returns and a.lengths == b.lengths and a.policy == "sampled"
    assert evaluate(agent, episodes=1, seed=4, max_steps=5, progress=False).policy == "greedy"


def test_sampling_a_q_network_or_an_unknown_policy_is_refused(pong_agent):
    class Q(nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 6)

    q_agent = Agent(Q(), env_spec=pong_agent.env_spec, action_names=pong_agent.action_names)
    with pytest.raises(RlvizError, match="Q-network"):
        evaluate(q_agent, episodes=1, max_steps=5, progress=False, policy="sampled")
    from rlviz.agents.model_card import write_model_card

    with pytest.raises(RlvizError, match="Q-network"):  # refused before any episode is played
        write_model_card(q_agent, "/nonexistent", episodes=1, progress=False, sampled=True)
    with pytest.raises(RlvizError, match="unknown policy"):
        evaluate(pong_agent, episodes=1, max_steps=5, progress=False, policy="softmax")


def test_card_with_the_sampled_policy_reports_both_scores(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    pong_agent.save(tmp_path / "a")
    calls = []

    def fake_evaluate(agent, *, episodes, seed, progress, policy="greedy"):  # the card's wording, not the game
        calls.append(policy)
        if agent.env_spec.sticky_action_prob == 0.25:  # the ALE v5 rows (issue #24)
            from rlviz.agents.evaluate import Evaluation
            return Evaluation([0.0, 2.0] if policy == "greedy" else [4.0, 4.0], [10, 10], seed, policy)
        from rlviz.agents.evaluate import Evaluation
        return Evaluation([1.0, 3.0] if policy == "greedy" else [5.0, 9.0], [10, 10], seed, policy)

    monkeypatch.setattr(model_card, "evaluate", fake_evaluate)
    model_card.write_model_card(pong_agent, tmp_path / "a", episodes=2, seed=0, progress=False, sampled=True)
    card = (tmp_path / "a" / "README.md").read_text()
    doc = json.loads((tmp_path / "a" / "agent.json").read_text())
    assert calls == ["greedy", "sampled", "greedy", "sampled"]
    assert "| greedy, sticky actions 0.25 | +1.00 ± 1.00" in card and "| sampled, sticky actions 0.25 | +4.00 ± 0.00" in card
    assert doc["evaluation"]["sticky_actions"]["greedy"]["returns"] == [0.0, 2.0]
    assert "**+2.00 ± 1.00**" in card and "| sampled policy | +7.00 ± 2.00" in card and "--policy sampled" in card
    assert doc["evaluation"]["mean"] == 2.0 and doc["evaluation"]["sampled_policy"]["returns"] == [5.0, 9.0]


def test_sticky_copy_plays_an_ale_v5_sticky_env_with_the_same_network(pong_agent):
    """The card's sticky-action rows play the agent's own pipeline with repeat probability 0.25."""
    from rlviz.agents.model_card import with_sticky_actions
    from rlviz.play.rollout import env_for

    shaken = with_sticky_actions(pong_agent, 0.25)
    assert shaken.net is pong_agent.net and pong_agent.env_spec.sticky_action_prob == 0.0
    env = env_for(shaken, render_mode=None)
    assert env.unwrapped.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    env.close()
    assert len(evaluate(shaken, episodes=1, max_steps=3, progress=False).lengths) == 1


def test_card_rows_print_each_policy_its_own_mean_and_std(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card
    from rlviz.agents.evaluate import Evaluation

    pong_agent.save(tmp_path / "a")
    # agent: mean 2, std 1; random policy: mean -20, std 0.5 (numbers that cannot be confused)
    monkeypatch.setattr(model_card, "evaluate", lambda agent, **k: Evaluation([1.0, 3.0], [10, 10], k["seed"], "greedy"))
    monkeypatch.setattr(model_card, "evaluate_random",
                        lambda spec, **k: Evaluation([-20.5, -19.5], [10, 10], k["seed"], "random"))
    model_card.write_model_card(pong_agent, tmp_path / "a", episodes=2, seed=7, progress=False)
    card = (tmp_path / "a" / "README.md").read_text()
    assert "| evaluation | **+2.00 ± 1.00** (mean ± std of 2 greedy episodes, seeds 7..8) |" in card
    assert "| random policy | -20.00 ± 0.50 (same seeds) |" in card
    assert "Returns: +1, +3" in card and "sampled policy" not in card
    doc = json.loads((tmp_path / "a" / "agent.json").read_text())["evaluation"]
    assert doc["random_policy"] == {"mean": -20.0, "std": 0.5, "returns": [-20.5, -19.5]}
    assert (doc["mean"], doc["std"], doc["seed"], doc["episodes"]) == (2.0, 1.0, 7, 2)
