"""What a newcomer meets first: --version, --threads on every command that computes, outputs
that default to runs/, and training that says what it does, how to go on, and where its
checkpoint is."""

from __future__ import annotations

import re

import pytest
import torch

import rlviz
from rlviz.cli import build_parser, main
from rlviz.train.ppo import PPOConfig, Trainer

COMPUTING = ("video", "frame", "interactions", "faithfulness", "hints", "evaluate", "train", "bench")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"rlviz {rlviz.__version__}"


@pytest.mark.parametrize("command", COMPUTING)
def test_every_computing_command_takes_threads(command):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    options = {o for a in sub.choices[command]._actions for o in a.option_strings}
    assert "--threads" in options


def test_threads_sets_torch_threads_before_the_command_runs(monkeypatch):
    seen = []
    monkeypatch.setattr("rlviz.cli.cmd_evaluate", lambda args: seen.append(torch.get_num_threads()) or 0)
    before = torch.get_num_threads()
    try:
        assert main(["evaluate", "--threads", "1"]) == 0
        assert seen == [1]
    finally:
        torch.set_num_threads(before)


def test_negative_threads_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as stop:  # refused when parsed, before anything is loaded
        main(["evaluate", "--threads", "-1", "--episodes", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --threads" in err and "at least 0" in err


def test_video_writes_to_runs_by_default():
    args = build_parser().parse_args(["video"])
    assert args.out is None
    help_text = next(a.help for a in build_parser()._subparsers._group_actions[0].choices["video"]._actions
                     if "--out" in a.option_strings)
    assert "runs/" in help_text and "videos/" not in help_text


def test_train_needs_steps(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "runs/x"])
    assert "--steps" in capsys.readouterr().err


def test_ctrl_c_in_training_says_where_the_checkpoint_is(monkeypatch, tmp_path, capsys):
    def interrupted(cfg, out):
        (tmp_path / "try" / "checkpoint").mkdir(parents=True)  # as Trainer.run's finally block does
        raise KeyboardInterrupt

    monkeypatch.setattr("rlviz.train.ppo.train", interrupted)
    assert main(["train", "--steps", "4096", "--out", str(tmp_path / "try")]) == 130
    err = capsys.readouterr().err
    assert f"checkpoint saved in {tmp_path / 'try' / 'checkpoint'}" in err and "same command to resume" in err


def test_ctrl_c_before_training_began_claims_no_checkpoint(monkeypatch, tmp_path, capsys):
    def interrupted(cfg, out):
        raise KeyboardInterrupt

    monkeypatch.setattr("rlviz.train.ppo.train", interrupted)
    assert main(["train", "--steps", "4096", "--out", str(tmp_path / "try")]) == 130
    assert "no checkpoint was written" in capsys.readouterr().err


SMALL = {"game": "Pong", "num_envs": 2, "num_steps": 16, "num_minibatches": 2, "update_epochs": 1, "checkpoint_every_s": 1e9}


def test_a_short_run_prints_losses_and_then_says_a_larger_steps_continues(tmp_path, capsys):
    Trainer(PPOConfig(total_steps=96, report_every_s=1e9, **SMALL), tmp_path / "run").run()
    out = capsys.readouterr().out
    lines = re.findall(r"^step ([\d,]+)/96: (.*)$", out, flags=re.MULTILINE)
    assert [s for s, _ in lines] == ["32", "96"]  # the first iteration and the last
    assert all(re.search(r"policy loss [-+]\d\.\d{4}, value loss \d\.\d{4}, entropy \d\.\d{3}$", rest) for _, rest in lines)
    assert "no game finished yet" in lines[0][1]
    Trainer(PPOConfig(total_steps=96, **SMALL), tmp_path / "run").run()
    again = capsys.readouterr().out
    assert "already trained for 96 steps" in again and "run again with a larger --steps (e.g. --steps 192)" in again
