"""The PPO trainer: advantage estimates, checkpoints that resume, and exported agents."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from rlviz import load_agent
from rlviz.train.ppo import PPOConfig, Trainer, gae


def test_gae_with_lambda_one_is_discounted_return_minus_value():
    torch.manual_seed(0)
    r, v = torch.randn(6, 2), torch.randn(6, 2)
    dones, next_v, next_done = torch.zeros(6, 2), torch.randn(2), torch.zeros(2)
    adv = gae(r, v, dones, next_v, next_done, gamma=0.9, lam=1.0)
    ret = next_v.clone()
    for t in reversed(range(6)):
        ret = r[t] + 0.9 * ret
        torch.testing.assert_close(adv[t], ret - v[t])


def test_gae_with_lambda_zero_is_the_td_error_and_stops_at_episode_ends():
    r, v = torch.ones(3, 1), torch.tensor([[1.0], [2.0], [3.0]])
    dones = torch.tensor([[0.0], [0.0], [1.0]])  # obs 2 starts a new episode
    adv = gae(r, v, dones, torch.tensor([5.0]), torch.tensor([0.0]), gamma=0.5, lam=0.0)
    torch.testing.assert_close(adv[:, 0], torch.tensor([1 + 0.5 * 2 - 1, 1 + 0 - 2, 1 + 0.5 * 5 - 3]))


def test_training_checkpoints_resume_and_export_a_loadable_agent(tmp_path):
    small = dict(game="Pong", num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1, checkpoint_every_s=0.0)
    Trainer(PPOConfig(total_steps=64, **small), tmp_path / "run").run()
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["iteration"] == 2 and state["global_step"] == 64
    first = load_agent(tmp_path / "run")
    trainer = Trainer(PPOConfig(total_steps=128, **small), tmp_path / "run")
    trainer.run()
    assert trainer.iteration == 4  # resumed at iteration 2, not from scratch
    agent = load_agent(tmp_path / "run")
    assert agent.metadata["provenance"]["steps"] == 128 and agent.env_spec.game == "Pong"
    assert not torch.equal(first.net.actor.weight, agent.net.actor.weight)
    with open(tmp_path / "run" / "episodes.csv") as f:
        assert next(csv.reader(f)) == ["global_step", "wall_time_s", "episode_return", "episode_length"]


def test_a_run_without_checkpoint_can_continue_from_an_exported_agent(tmp_path):
    small = dict(game="Pong", num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1, checkpoint_every_s=0.0)
    Trainer(PPOConfig(total_steps=64, **small), tmp_path / "first").run()
    trainer = Trainer(PPOConfig(total_steps=96, init_from=str(tmp_path / "first"), **small), tmp_path / "second")
    assert trainer.load_checkpoint() and trainer.iteration == 2
    torch.testing.assert_close(trainer.net.actor.weight, load_agent(tmp_path / "first").net.actor.weight)


def test_resume_drops_episodes_logged_after_the_checkpoint_and_refuses_other_batch_shapes(tmp_path):
    from rlviz.util.errors import RlvizError

    small = dict(game="Pong", num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1, checkpoint_every_s=0.0)
    Trainer(PPOConfig(total_steps=64, **small), tmp_path / "run").run()
    with open(tmp_path / "run" / "episodes.csv", "a", newline="") as f:
        csv.writer(f).writerows([[32, 1.0, -21.0, 800], [96, 2.0, -20.0, 900]])  # 96 > the checkpoint's 64
    trainer = Trainer(PPOConfig(total_steps=128, **small), tmp_path / "run")
    assert trainer.load_checkpoint()
    with open(tmp_path / "run" / "episodes.csv") as f:
        steps = [int(r[0]) for r in list(csv.reader(f))[1:]]
    assert steps == [32] and trainer.episodes == 1
    with pytest.raises(RlvizError, match="num_envs=2"):
        Trainer(PPOConfig(total_steps=128, **{**small, "num_envs": 4}), tmp_path / "run").load_checkpoint()
    with pytest.raises(RlvizError, match="life_loss_terminal=True"):
        Trainer(PPOConfig(total_steps=128, life_loss_terminal=False, **small), tmp_path / "run").load_checkpoint()


def test_sigterm_stops_training_with_a_checkpoint_to_resume_from(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlviz.cli", "train", "--game", "Pong", "--steps", "1000000", "--envs", "2",
         "--out", str(out), "--checkpoint-every", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 120
    while not (out / "episodes.csv").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a few iterations
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["global_step"] == state["iteration"] * 2 * 128
    assert load_agent(out).metadata["provenance"]["steps"] == state["global_step"]


def test_life_lost_ends_the_return_estimate_where_a_life_or_the_game_ends():
    import numpy as np

    from rlviz.train.ppo import life_lost

    before, after = np.array([5, 5, 1, 3]), np.array([4, 5, 5, 3])  # env 2: game over, reset to 5 lives
    done = np.array([False, False, True, False])
    assert life_lost(before, after, done).tolist() == [True, False, True, False]


@pytest.mark.parametrize("life_loss_terminal", [True, False])
def test_breakout_lives_lost_cut_the_advantages_only_when_asked(tmp_path, monkeypatch, life_loss_terminal):
    import rlviz.train.ppo as ppo

    seen = []
    real_gae = ppo.gae
    monkeypatch.setattr(ppo, "gae", lambda r, v, dones, *a, **k: seen.append(dones.clone()) or real_gae(r, v, dones, *a, **k))
    cfg = PPOConfig(game="Breakout", num_envs=2, num_steps=256, num_minibatches=2, update_epochs=1,
                    total_steps=512, checkpoint_every_s=1e9, life_loss_terminal=life_loss_terminal)
    ppo.Trainer(cfg, tmp_path / "run").run()
    with open(tmp_path / "run" / "episodes.csv") as f:
        games_over = len(list(csv.reader(f))) - 1
    cuts = int(torch.stack(seen).sum())  # steps whose observation starts a new return estimate
    assert games_over <= 1
    if life_loss_terminal:  # a random policy loses several lives within 256 steps
        assert cuts >= games_over + 2
    else:
        assert cuts <= games_over


def _minibatch(n: int = 4, actions: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, actions, generator=g, dtype=torch.float64)
    acts = torch.randint(actions, (n,), generator=g)
    logp = torch.log_softmax(logits, -1).gather(1, acts[:, None]).squeeze(1)
    return logits, acts, logp


def test_ppo_loss_with_no_advantage_and_exact_values_is_minus_the_entropy_bonus():
    from rlviz.train.ppo import ppo_loss

    logits, acts, logp = _minibatch()
    logits.requires_grad_(True)
    v = torch.zeros(4, dtype=torch.float64)
    loss = ppo_loss(PPOConfig(ent_coef=0.3), logits, v, acts, logp.detach(), torch.zeros(4), v, v)
    p = torch.softmax(logits, -1)
    entropy = -(p * p.log()).sum(-1).mean()
    torch.testing.assert_close(loss, -0.3 * entropy)
    # a gradient step on the loss makes the policy more uniform: the bonus fights collapse
    (grad,) = torch.autograd.grad(loss, logits)
    stepped = torch.softmax(logits - 0.1 * grad, -1)
    assert -(stepped * stepped.log()).sum(-1).mean() > entropy


def test_ppo_policy_loss_is_the_clipped_surrogate():
    from rlviz.train.ppo import ppo_loss

    cfg = PPOConfig(norm_adv=False, ent_coef=0.0, vf_coef=0.0, clip_coef=0.1)
    logits, acts, logp = _minibatch()
    v = torch.zeros(4, dtype=torch.float64)
    adv = torch.tensor([1.0, -2.0, 3.0, -4.0], dtype=torch.float64)
    torch.testing.assert_close(ppo_loss(cfg, logits, v, acts, logp, adv, v, v), -adv.mean())  # ratio 1
    # ratio 1.5: gains are cut at 1.1 (positive advantage), losses count in full (negative)
    clipped = ppo_loss(cfg, logits, v, acts, logp - math.log(1.5), adv, v, v)
    torch.testing.assert_close(clipped, torch.tensor((-1.1 * 1 + 1.5 * 2 - 1.1 * 3 + 1.5 * 4) / 4, dtype=torch.float64))
    # ratio 0.5: the reverse
    low = ppo_loss(cfg, logits, v, acts, logp - math.log(0.5), adv, v, v)
    torch.testing.assert_close(low, torch.tensor((-0.5 * 1 + 0.9 * 2 - 0.5 * 3 + 0.9 * 4) / 4, dtype=torch.float64))
    # normalised advantages: mean 0, std 1, so with ratio 1 the surrogate is exactly 0
    normed = ppo_loss(PPOConfig(ent_coef=0.0, vf_coef=0.0), logits, v, acts, logp, adv, v, v)
    assert abs(float(normed)) < 1e-7


def test_ppo_value_loss_is_half_the_squared_error_clipped_like_the_policy():
    from rlviz.train.ppo import ppo_loss

    logits, acts, logp = _minibatch(n=2)
    zero = torch.zeros(2, dtype=torch.float64)
    new = torch.tensor([1.0, -1.0], dtype=torch.float64)  # moved by 1 from the old values 0
    returns = torch.tensor([2.0, 0.0], dtype=torch.float64)
    cfg = {"norm_adv": False, "ent_coef": 0.0, "vf_coef": 2.0, "clip_coef": 0.1}
    # clipped: the old value moved by at most 0.1 -> 0.1 and -0.1; the larger error counts
    # sample 0: max((1-2)^2, (0.1-2)^2) = 3.61; sample 1: max(1, 0.01) = 1
    clipped = ppo_loss(PPOConfig(**cfg), logits, new, acts, logp, zero, returns, zero)
    torch.testing.assert_close(clipped, torch.tensor(2.0 * 0.5 * (3.61 + 1.0) / 2, dtype=torch.float64))
    plain = ppo_loss(PPOConfig(clip_vloss=False, **cfg), logits, new, acts, logp, zero, returns, zero)
    torch.testing.assert_close(plain, torch.tensor(2.0 * 0.5 * (1.0 + 1.0) / 2, dtype=torch.float64))


def test_ppo_advantages_are_normalised_per_minibatch_before_clipping():
    from rlviz.train.ppo import ppo_loss

    logits, acts, logp = _minibatch()
    v = torch.zeros(4, dtype=torch.float64)
    adv = torch.tensor([1.0, -2.0, 3.0, -4.0], dtype=torch.float64)
    normed = (adv - adv.mean()) / (float(np.std(adv.numpy(), ddof=1)) + 1e-8)
    loss = ppo_loss(PPOConfig(ent_coef=0.0, vf_coef=0.0, clip_coef=0.2), logits, v, acts, logp - math.log(1.5), adv, v, v)
    want = torch.maximum(-normed * 1.5, -normed * 1.2).mean()  # ratio 1.5 clipped at 1.2
    torch.testing.assert_close(loss, want)
