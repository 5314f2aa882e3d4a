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


def test_gae_is_the_lambda_discounted_sum_of_td_errors_cut_at_episode_starts():
    """GAE's definition written out: A_t = sum_l (gamma lambda)^l delta_{t+l}, the sum stopping
    at the first step whose observation starts a new episode (``dones``, or ``next_done`` after
    the last step), with delta_t = r_t + gamma V_{t+1} - V_t and V_{t+1} = 0 across an end."""
    g = torch.Generator().manual_seed(4)
    t_max, n, gamma, lam = 7, 3, 0.9, 0.7
    r, v = torch.randn(t_max, n, generator=g, dtype=torch.float64), torch.randn(t_max, n, generator=g, dtype=torch.float64)
    dones = torch.zeros(t_max, n, dtype=torch.float64)
    dones[3, 0] = dones[1, 1] = dones[6, 1] = 1.0  # env 2 never ends inside the rollout
    next_v, next_done = torch.tensor([0.5, -1.5, 2.0], dtype=torch.float64), torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    starts = torch.cat([dones, next_done[None]])  # starts[t + 1]: obs t + 1 begins a new episode
    values = torch.cat([v, next_v[None]])
    want = torch.zeros(t_max, n, dtype=torch.float64)
    for e in range(n):
        for t in range(t_max):
            for l in range(t_max - t):
                s = t + l
                delta = r[s, e] + gamma * values[s + 1, e] * (1 - starts[s + 1, e]) - v[s, e]
                want[t, e] += (gamma * lam) ** l * delta
                if starts[s + 1, e]:
                    break
    torch.testing.assert_close(gae(r, v, dones, next_v, next_done, gamma=gamma, lam=lam), want)


def test_progress_line_says_where_the_run_is_how_it_plays_and_how_the_update_went():
    from rlviz.train.ppo import progress_line

    assert progress_line(2560, 10_000_000, [1.0, -2.0, 4.0], 7, 0.01234, 0.5, 1.5) == (
        "step 2,560/10,000,000: return +1.0 (mean of the last 3 of 7 games); "
        "policy loss +0.0123, value loss 0.5000, entropy 1.500")
    assert progress_line(0, 1000, [], 0, -0.5, 12.25, 0.25) == (
        "step 0/1,000: no game finished yet; policy loss -0.5000, value loss 12.2500, entropy 0.250")


@pytest.mark.parametrize("row,step", [
    (["64", "1.5", "-21.0", "800"], 64),
    (["0", "0", "3", "1"], 0),
    (["global_step", "wall_time_s", "episode_return", "episode_length"], None),  # the header
    ([], None),  # a blank line
    (["64", "1.5", "-21.0"], None),  # cut before the last field
    (["64", "1.5", "-21.0", "800", "7"], None),  # a field too many
    (["6.4", "1.5", "-21.0", "800"], None),  # the step is a whole number
    (["64", "fast", "-21.0", "800"], None),
    (["64", "1.5", "-21.", "80.5"], None),  # cut inside a line: the length is a whole number
    (["64", "1.5", "x", "800"], None),
])
def test_episode_log_rows_count_only_when_whole(row, step):
    """A resumed run keeps an episode-log row only if it is complete: four fields, a whole
    step, a wall time and return that are numbers, a whole episode length."""
    from rlviz.train.ppo import _log_row

    assert _log_row(row) == step


def test_trained_agents_replay_on_the_training_envs_settings():
    """The playback spec of a trained agent: the canonical game name, the gymnasium pipeline,
    up to 30 no-op starts and no sticky actions, as the vector env is built with."""
    from rlviz.play.spec import EnvSpec
    from rlviz.train.ppo import env_spec_for

    spec = env_spec_for("space_invaders")
    assert spec == EnvSpec(game="SpaceInvaders", pipeline="gymnasium", noop_max=30, sticky_action_prob=0.0)
    assert (spec.frame_skip, spec.frame_stack, spec.screen_size) == (4, 4, 84)


def test_batch_sizes_and_iterations_follow_the_config():
    cfg = PPOConfig(num_envs=8, num_steps=128, num_minibatches=4, total_steps=10_000)
    assert (cfg.batch_size, cfg.minibatch_size, cfg.num_iterations) == (1024, 256, 9)  # 10,000 // 1024
    assert PPOConfig(num_envs=2, num_steps=16, total_steps=10).num_iterations == 1  # at least one


def test_the_value_clip_is_around_the_old_values_on_both_sides():
    """Old values not 0, new values moved up, down and within the clip, errors not 1: each
    sample's clipped value is old + (new - old) cut to +-0.2, and the larger error counts."""
    from rlviz.train.ppo import ppo_loss

    logits, acts, logp = _minibatch(n=3)
    f64 = dict(dtype=torch.float64)
    old, new = torch.tensor([1.0, 1.0, -1.0], **f64), torch.tensor([1.5, 0.0, -1.05], **f64)
    returns, zero = torch.tensor([3.0, -1.0, 0.0], **f64), torch.zeros(3, **f64)
    cfg = {"norm_adv": False, "ent_coef": 0.0, "vf_coef": 1.0, "clip_coef": 0.2}
    # clipped values 1.2, 0.8, -1.05: max((1.5-3)^2, (1.2-3)^2), max((0+1)^2, (0.8+1)^2), 1.05^2
    clipped = ppo_loss(PPOConfig(**cfg), logits, new, acts, logp, zero, returns, old)
    torch.testing.assert_close(clipped, torch.tensor(0.5 * (1.8**2 + 1.8**2 + 1.05**2) / 3, **f64))
    plain = ppo_loss(PPOConfig(clip_vloss=False, **cfg), logits, new, acts, logp, zero, returns, old)
    torch.testing.assert_close(plain, torch.tensor(0.5 * (1.5**2 + 1.0 + 1.05**2) / 3, **f64))


def test_the_hardware_line_names_the_cpu_model_and_its_cores(monkeypatch):
    """An exported agent's provenance names the CPU as /proc/cpuinfo's first model name (the
    platform's name where that file cannot be read) and the number of cores; a CUDA device
    asked for on a machine without one is reported as the CPU that ran."""
    import os
    import platform
    from pathlib import Path

    from rlviz.train.ppo import _hardware

    cores = f", {os.cpu_count()} CPU cores"
    cpuinfo = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU: 9000 v2\nmodel name\t: second\n"
    real_read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda p, *a, **k: cpuinfo if str(p) == "/proc/cpuinfo" else real_read(p, *a, **k))
    assert _hardware("cpu") == "Test CPU: 9000 v2" + cores
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Fake GPU {index}")
    assert (_hardware("cuda:0"), _hardware("cuda"), _hardware("cpu")) == ("Fake GPU 0", "Fake GPU 0", "Test CPU: 9000 v2" + cores)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _hardware("cuda:0") == "Test CPU: 9000 v2" + cores
    monkeypatch.setattr(Path, "read_text", lambda p, *a, **k: "processor\t: 0\n")  # no model line
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert _hardware("cpu") == "x86_64" + cores

    def unreadable(p, *a, **k):
        raise PermissionError(str(p))

    monkeypatch.setattr(Path, "read_text", unreadable)
    monkeypatch.setattr(platform, "processor", lambda: "arm")
    assert _hardware("cpu") == "arm" + cores
