"""The command line: complete help, one-line errors, and working subcommands."""

from __future__ import annotations

import json
import subprocess
import sys

from rlviz.cli import build_parser, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlviz.cli", *args], capture_output=True, text=True, timeout=300)


def test_every_subcommand_has_help():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    assert {"video", "evaluate", "train"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description, name
        for action in sub._actions:  # noqa: SLF001
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"
        assert "usage" in text


def test_unknown_game_is_a_one_line_error(agent_dir):
    proc = run("video", "--agent", str(agent_dir), "--game", "Pongg", "--frames", "2")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["rlviz: error: unknown Atari game 'Pongg'; closest valid names: Pong, Pooyan, Boxing, Phoenix, Frogger"]


def test_missing_agent_is_a_one_line_error(tmp_path, capsys):
    assert main(["evaluate", "--agent", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no agent at" in err[0]


def test_video_command_writes_the_file_and_prints_its_path(agent_dir, tmp_path):
    out = tmp_path / "demo.mp4"
    proc = run("video", "--agent", str(agent_dir), "--frames", "6", "--size", "640x360", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout and out.stat().st_size > 0


def test_evaluate_writes_one_return_per_episode(agent_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--agent", str(agent_dir), "--episodes", "2", "--max-steps", "30", "--json", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert len(data["returns"]) == 2 and data["episodes"] == 2
    assert "±" in capsys.readouterr().out


def test_interactions_command_writes_json_and_figures(agent_dir, tmp_path):
    out = tmp_path / "nid"
    assert main(["interactions", "--agent", str(agent_dir), "--out", str(out), "--action", "RIGHT", "--frame-step", "2"]) == 0
    data = json.loads((out / "interactions.json").read_text())
    assert (out / "pairs_overall.png").exists() and (out / "matrix_overall.png").exists()
    assert any("right" in key.lower() for key in json.dumps(data).split('"'))


def test_unknown_action_name_is_refused(agent_dir, tmp_path, capsys):
    assert main(["interactions", "--agent", str(agent_dir), "--out", str(tmp_path / "x"), "--action", "JUMP"]) == 2
    assert "unknown action 'JUMP'" in capsys.readouterr().err


def test_faithfulness_command_reports_aopc_with_a_random_baseline(agent_dir, tmp_path):
    out = tmp_path / "faith.json"
    assert main(["faithfulness", "--agent", str(agent_dir), "--frames", "1", "--methods", "gradient-x-input",
                 "--json", str(out), "--out", str(tmp_path / "figs")]) == 0
    aopc = json.loads(out.read_text())["aopc"]
    assert set(aopc) == {"gradient-x-input", "random"}
    assert (tmp_path / "figs" / "faithfulness.png").exists()


def test_bench_memory_only_measures_each_video_length(agent_dir, tmp_path, capsys):
    from rlviz.cli import main

    out = tmp_path / "mem.json"
    assert main(["bench", "--agent", str(agent_dir), "--memory", "3", "--memory-only", "--json", str(out)]) == 0
    peaks = json.loads(out.read_text())["video_peak_rss_mb"]
    assert list(peaks) == ["3"] and 50 < peaks["3"] < 20_000
    assert main(["bench", "--agent", str(agent_dir), "--memory-only"]) == 2
    assert "--memory-only needs --memory" in capsys.readouterr().err
