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


def _scripted_evaluations(monkeypatch, calls: list):
    """model_card's evaluations replaced by fixed returns per (sticky actions, policy), each
    call recorded with the options it was given (the card's wording and bookkeeping, not the game)."""
    from rlviz.agents import model_card
    from rlviz.agents.evaluate import Evaluation

    returns = {(0.0, "greedy"): [1.0, 3.0], (0.0, "sampled"): [5.0, 9.0],
               (0.25, "greedy"): [0.0, 2.0], (0.25, "sampled"): [4.0, 4.0]}

    def fake_evaluate(agent, *, episodes, seed, progress, policy="greedy"):
        calls.append((agent.env_spec.sticky_action_prob, policy, episodes, seed, progress))
        return Evaluation(returns[agent.env_spec.sticky_action_prob, policy], [10] * episodes, seed, policy)

    def fake_random(spec, *, episodes, seed):
        calls.append((spec.sticky_action_prob, "random", episodes, seed))
        return Evaluation([-20.5, -19.5], [10] * episodes, seed, "random")

    monkeypatch.setattr(model_card, "evaluate", fake_evaluate)
    monkeypatch.setattr(model_card, "evaluate_random", fake_random)


def test_a_full_model_card_reads_as_documented(pong_agent, tmp_path, monkeypatch):
    """Every row of a trained agent's card (sampled policy, the ALE v5 sticky-action rows by
    default, hint pixels), its returns, the commands that reproduce it and its training
    configuration, word for word; and the evaluation stored in agent.json beside it."""
    from rlviz.agents import model_card

    folder = pong_agent.save(tmp_path / "pong-ppo")
    doc = json.loads((folder / "agent.json").read_text())
    doc["provenance"] = {"algorithm": "PPO", "steps": 1_234_567, "frames": 4_938_268, "wall_time_s": 3618.5,
                         "hardware": "NVIDIA H200", "config": {"learning_rate": 0.00025, "num_envs": 8}}
    (folder / "agent.json").write_text(json.dumps(doc))
    pong_agent.metadata["hints"] = {"source": "random", "seed": 3}
    calls = []
    _scripted_evaluations(monkeypatch, calls)
    ours, baseline = model_card.write_model_card(pong_agent, folder, episodes=2, seed=7, progress=False, sampled=True)
    assert calls == [(0.0, "greedy", 2, 7, False), (0.0, "sampled", 2, 7, False), (0.25, "greedy", 2, 7, False),
                     (0.25, "sampled", 2, 7, False), (0.0, "random", 2, 7)]
    assert (ours.returns, baseline.returns) == ([1.0, 3.0], [-20.5, -19.5])
    assert (folder / "README.md").read_text() == "\n".join([
        "# pong-ppo",
        "",
        "A nature-actor-critic agent for **Pong**, trained by rlviz's own trainer.",
        "",
        "| | |",
        "|---|---|",
        "| game | Pong (pipeline `gymnasium`, frame skip 4, stack 4, sticky actions 0.0, up to 30 no-op starts) |",
        "| algorithm | PPO |",
        "| training steps | 1,234,567 agent steps (4,938,268 emulator frames) |",
        "| wall time | 1.01 h |",  # 3618.5 s = 1.00514 h
        "| hardware | NVIDIA H200 |",
        "| evaluation | **+2.00 ± 1.00** (mean ± std of 2 greedy episodes, seeds 7..8) |",
        "| sampled policy | +7.00 ± 2.00 (each move drawn from the policy, generator seeded per episode; "
        "RL Zoo's default for Atari) |",
        "| greedy, sticky actions 0.25 | +1.00 ± 1.00 (same seeds; the agent's pipeline with repeat-action "
        "probability 0.25, as ALE v5) |",
        "| sampled, sticky actions 0.25 | +4.00 ± 0.00 (same seeds; the agent's pipeline with repeat-action "
        "probability 0.25, as ALE v5) |",
        "| random policy | -20.00 ± 0.50 (same seeds) |",
        "| hint pixels | every frame's bottom 4 rows show a random move (control); see `rlviz.play.hints` |",
        "",
        "Returns: +1, +3",
        "",
        "Returns of the sampled policy: +5, +9",
        "",
        "Reproduce the evaluation:",
        "",
        "```bash",
        ".venv/bin/rlviz evaluate --agent agents/pong-ppo --episodes 2 --seed 7",
        ".venv/bin/rlviz evaluate --agent agents/pong-ppo --episodes 2 --seed 7 --policy sampled",
        "```",
        "",
        "Training configuration (from `agent.json`):",
        "",
        "```json",
        '{\n  "learning_rate": 0.00025,\n  "num_envs": 8\n}',
        "```",
        "",
    ])
    text = (folder / "agent.json").read_text()
    stored = json.loads(text)
    assert text == json.dumps(stored, indent=2) + "\n"  # indented by 2, one newline at the end, as saved agents are
    assert stored["provenance"] == doc["provenance"]  # the rest of agent.json is kept
    assert stored["evaluation"] == {
        "episodes": 2, "seed": 7, "policy": "greedy", "mean": 2.0, "std": 1.0, "returns": [1.0, 3.0],
        "random_policy": {"mean": -20.0, "std": 0.5, "returns": [-20.5, -19.5]},
        "sampled_policy": {"mean": 7.0, "std": 2.0, "returns": [5.0, 9.0]},
        "sticky_actions": {"prob": 0.25, "greedy": {"mean": 1.0, "std": 1.0, "returns": [0.0, 2.0]},
                           "sampled": {"mean": 4.0, "std": 0.0, "returns": [4.0, 4.0]}},
    }


def test_an_imported_agent_without_training_record_gets_a_plain_card(pong_agent, tmp_path, monkeypatch):
    """No provenance: unknown algorithm and hardware, steps and hours not recorded, an empty
    configuration; the origin line names the imported file; ``sticky_actions=None`` leaves the
    sticky-action rows and ``sampled=False`` the sampled rows out."""
    from rlviz.agents import model_card

    folder = pong_agent.save(tmp_path / "sb3-pong")
    doc = json.loads((folder / "agent.json").read_text())
    doc.pop("provenance", None)
    doc["source"] = {"format": "sb3", "algorithm": "PPO", "file": "ppo_pong.zip"}
    (folder / "agent.json").write_text(json.dumps(doc))
    calls = []
    _scripted_evaluations(monkeypatch, calls)
    model_card.write_model_card(pong_agent, folder, episodes=2, seed=0, progress=True, sticky_actions=None)
    assert calls == [(0.0, "greedy", 2, 0, True), (0.0, "random", 2, 0)]
    card = (folder / "README.md").read_text()
    assert card.splitlines()[:13] == [
        "# sb3-pong",
        "",
        "A nature-actor-critic agent for **Pong**, imported from `ppo_pong.zip` (sb3, PPO).",
        "",
        "| | |",
        "|---|---|",
        "| game | Pong (pipeline `gymnasium`, frame skip 4, stack 4, sticky actions 0.0, up to 30 no-op starts) |",
        "| algorithm | unknown |",
        "| training steps | not recorded |",
        "| wall time | not recorded |",
        "| hardware | unknown |",
        "| evaluation | **+2.00 ± 1.00** (mean ± std of 2 greedy episodes, seeds 0..1) |",
        "| random policy | -20.00 ± 0.50 (same seeds) |",
    ]
    assert card.endswith("```bash\n.venv/bin/rlviz evaluate --agent agents/sb3-pong --episodes 2 --seed 0\n```\n\n"
                         "Training configuration (from `agent.json`):\n\n```json\n{}\n```\n")
    evaluation = json.loads((folder / "agent.json").read_text())["evaluation"]
    assert "sampled_policy" not in evaluation and "sticky_actions" not in evaluation


def test_an_agent_that_already_plays_with_sticky_actions_is_not_scored_twice(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    sticky = model_card.with_sticky_actions(pong_agent, 0.25)
    folder = sticky.save(tmp_path / "sticky")
    calls = []
    _scripted_evaluations(monkeypatch, calls)
    model_card.write_model_card(sticky, folder, episodes=2, seed=0, progress=False)
    assert calls == [(0.25, "greedy", 2, 0, False), (0.25, "random", 2, 0)]
    assert "sticky actions 0.25 |" not in (folder / "README.md").read_text()


def test_the_hint_row_names_the_expert_an_agent_learned_from(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    folder = pong_agent.save(tmp_path / "hinted")
    expert = model_card.with_sticky_actions(pong_agent, 0.0)
    expert.metadata = {"name": "pong-expert"}
    pong_agent.hint_expert, pong_agent.metadata["hints"] = expert, {"source": "expert"}
    _scripted_evaluations(monkeypatch, [])
    model_card.write_model_card(pong_agent, folder, episodes=2, seed=0, progress=False, sticky_actions=None)
    rows = [line for line in (folder / "README.md").read_text().splitlines() if line.startswith("| hint pixels")]
    assert rows == ["| hint pixels | every frame's bottom 4 rows show the move of the expert `pong-expert` "
                    "(bundled in `expert/`); see `rlviz.play.hints` |"]


@pytest.mark.parametrize("doc,origin", [
    ({}, "trained by rlviz's own trainer"),
    ({"source": None, "provenance": None}, "trained by rlviz's own trainer"),
    ({"source": {"format": "sb3", "file": "m.zip"}, "provenance": {"steps": 5}}, "trained by rlviz's own trainer"),
    ({"source": {"format": "cleanrl", "file": "q.pt"}}, "imported from `q.pt` (cleanrl)"),
    ({"source": {"format": "sb3", "algorithm": "DQN", "file": "m.zip"}, "provenance": {"steps": 0}},
     "imported from `m.zip` (sb3, DQN)"),
    ({"source": {"algorithm": "A2C"}}, "imported from `a file` (a file, A2C)"),
])
def test_the_card_says_where_an_agent_came_from(doc, origin):
    """Imported only when the agent.json names a source and records no training steps of its own."""
    from rlviz.agents.model_card import _origin

    assert _origin(doc) == origin


def test_a_sampled_card_of_a_q_network_is_refused_before_any_episode(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    class Q(nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 6)

    q_agent = Agent(Q(), env_spec=pong_agent.env_spec, action_names=pong_agent.action_names)
    calls = []
    _scripted_evaluations(monkeypatch, calls)
    with pytest.raises(RlvizError, match="Q-network"):
        model_card.write_model_card(q_agent, tmp_path, episodes=2, progress=False, sampled=True)
    assert calls == []


def test_a_card_by_default_plays_10_greedy_episodes_from_seed_0_with_and_without_sticky_actions(
        pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    folder = pong_agent.save(tmp_path / "defaults")
    calls = []
    _scripted_evaluations(monkeypatch, calls)
    model_card.write_model_card(pong_agent, folder)
    assert calls == [(0.0, "greedy", 10, 0, True), (0.25, "greedy", 10, 0, True), (0.0, "random", 10, 0)]
    card = (folder / "README.md").read_text()
    assert "(mean ± std of 10 greedy episodes, seeds 0..9)" in card and "--episodes 10 --seed 0\n" in card


def test_a_card_gives_emulator_frames_only_when_they_were_recorded(pong_agent, tmp_path, monkeypatch):
    from rlviz.agents import model_card

    folder = pong_agent.save(tmp_path / "steps-only")
    doc = json.loads((folder / "agent.json").read_text())
    doc["provenance"] = {"algorithm": "PPO", "steps": 5000}
    (folder / "agent.json").write_text(json.dumps(doc))
    _scripted_evaluations(monkeypatch, [])
    model_card.write_model_card(pong_agent, folder, episodes=2, seed=0, progress=False, sticky_actions=None)
    card = (folder / "README.md").read_text().splitlines()
    assert "| training steps | 5,000 agent steps |" in card and "| wall time | not recorded |" in card
