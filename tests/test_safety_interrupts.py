"""Interruptions lose nothing (issue #19: D1, D2, D5): the episode log is valid after a crash at
any point, training never silently replaces an agent, and a second Ctrl-C while a checkpoint is
written is held off."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from safety_helpers import cli, one_line_error

import rlviz.train.ppo as ppo
from rlviz.train.ppo import PPOConfig, Trainer

LOG_HEADER = ["global_step", "wall_time_s", "episode_return", "episode_length"]  # episodes.csv's first line

SMALL = dict(game="Pong", num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1, checkpoint_every_s=1e9)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 32-step run with its checkpoint, agent and log (tests work on copies of it)."""
    run = tmp_path_factory.mktemp("safety-train") / "run"
    Trainer(PPOConfig(total_steps=32, **SMALL), run).run()
    return run


@pytest.fixture
def run_copy(finished_run, tmp_path):
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def _rows(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_the_log_header_is_on_disk_before_the_first_step(tmp_path, monkeypatch):
    # kill -9 at any moment after this point must leave a log with its header
    seen = []
    real = ppo.make_vector_env

    def make(cfg, spec):
        envs = real(cfg, spec)
        step = envs.step

        def checked_step(action):
            if not seen:
                seen.append((tmp_path / "run" / "episodes.csv").read_text())
            return step(action)

        envs.step = checked_step
        return envs

    monkeypatch.setattr(ppo, "make_vector_env", make)
    Trainer(PPOConfig(total_steps=32, **SMALL), tmp_path / "run").run()
    assert seen and seen[0].splitlines() == [",".join(LOG_HEADER)]


@pytest.mark.parametrize("damage", ["empty", "no header", "cut line"])
def test_resume_repairs_a_log_left_by_a_crash(run_copy, damage):
    run = run_copy
    log = run / "episodes.csv"
    text = {"empty": "", "no header": "16,1.0,-21.0,800\r\n", "cut line": ",".join(LOG_HEADER) + "\r\n16,1.0,-21.0,800\r\n32,2."}[damage]
    log.write_text(text)
    trainer = Trainer(PPOConfig(total_steps=64, **SMALL), run)
    assert trainer.load_checkpoint()
    rows = _rows(log)
    assert rows[0] == LOG_HEADER
    assert rows[1:] == ([] if damage == "empty" else [["16", "1.0", "-21.0", "800"]])
    assert trainer.episodes == len(rows) - 1


def test_a_second_ctrl_c_while_the_checkpoint_is_written_is_held_off(tmp_path, monkeypatch, capsys):
    real_save = ppo.save_file
    sent = []

    def save_with_ctrl_c(*args, **kwargs):
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C arrives in the middle of the checkpoint
        return real_save(*args, **kwargs)

    monkeypatch.setattr(ppo, "save_file", save_with_ctrl_c)
    try:
        Trainer(PPOConfig(total_steps=32, **SMALL), tmp_path / "run").run()
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C cut the checkpoint short")
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert sent and state["global_step"] == 32
    assert not (tmp_path / "run" / "checkpoint.tmp").exists()
    assert "second Ctrl-C is ignored" in capsys.readouterr().err


def test_a_checkpoint_cut_between_its_renames_is_recovered(run_copy):
    run = run_copy
    (run / "checkpoint").rename(run / "checkpoint.tmp")  # as a crash after "checkpoint -> checkpoint.old"
    trainer = Trainer(PPOConfig(total_steps=64, **SMALL), run)
    assert trainer.load_checkpoint() and trainer.global_step == 32


def test_train_refuses_to_replace_an_existing_agent_without_force(agent_dir, capsys):
    before = (agent_dir / "agent.json").read_bytes()
    (agent_dir / "README.md").write_text("card of the old agent")
    code, _, err = cli(capsys, "train", "--game", "Pong", "--steps", "32", "--envs", "2", "--out", str(agent_dir))
    assert code == 2 and "--force" in one_line_error(err)
    assert (agent_dir / "agent.json").read_bytes() == before
    code, _, err = cli(capsys, "train", "--game", "Pong", "--steps", "32", "--envs", "2", "--out", str(agent_dir), "--resume")
    assert code == 2 and "no checkpoint" in one_line_error(err)


def test_train_force_replaces_the_agent_and_drops_its_stale_model_card(run_copy, monkeypatch, capsys):
    import rlviz.train.ppo as ppo_module

    run = run_copy
    (run / "README.md").write_text("card of the old agent")
    old_state = (run / "checkpoint" / "state.json").read_text()
    small = PPOConfig(**SMALL).__dict__
    monkeypatch.setattr(ppo_module, "PPOConfig", lambda **kw: PPOConfig(**{**small, **kw, "num_envs": 2}))
    code, _, err = cli(capsys, "train", "--game", "Pong", "--steps", "32", "--envs", "2", "--out", str(run), "--force")
    assert code == 0, err
    assert not (run / "README.md").exists()
    # a new run: resuming would have found the 32 steps done and left the checkpoint as it was
    assert (run / "checkpoint" / "state.json").read_text() != old_state
