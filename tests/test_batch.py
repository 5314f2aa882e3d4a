"""rlviz batch: jobs from a TOML file, run in turn or as Ray tasks, skipped when their output exists."""

from __future__ import annotations

import json

import pytest

from rlviz.cli import main

AGENT = "agents/pong-early"


def _jobs(tmp_path, n=2):
    lines = []
    for k in range(n):
        out = tmp_path / f"eval{k}.json"
        lines += ["[[job]]", 'command = "evaluate"', f'out = "{out}"',
                  f'args = ["--agent", "{AGENT}", "--episodes", "1", "--max-steps", "5", "--seed", "{k}", "--json", "{out}", "--quiet"]', ""]
    path = tmp_path / "jobs.toml"
    path.write_text("\n".join(lines))
    return path


def test_batch_runs_each_job_and_skips_finished_ones(tmp_path, capsys):
    path = _jobs(tmp_path)
    assert main(["batch", str(path)]) == 0
    assert [json.loads((tmp_path / f"eval{k}.json").read_text())["seed"] for k in range(2)] == [0, 1]
    assert "2 of 2 jobs done" in capsys.readouterr().out
    assert main(["batch", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("skip evaluate") == 2 and "0 of 0 jobs done, 2 skipped" in out


def test_batch_refuses_bad_files_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[job]]\ncommand = "train"\nout = "x"\n')
    assert main(["batch", str(bad)]) == 2
    assert "job 1: command must be one of" in capsys.readouterr().err
    bad.write_text('[[job]]\ncommand = "evaluate"\nout = "x"\nargs = ["--episodez", "1"]\n')
    assert main(["batch", str(bad)]) == 2
    assert "job 1 (evaluate -> x): its args are refused" in capsys.readouterr().err


def test_batch_on_ray_writes_the_same_outputs(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'rlviz[ray]')")
    path = _jobs(tmp_path)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(["batch", str(path), "--ray"]) == 0
    finally:
        ray.shutdown()
    returns = [json.loads((tmp_path / f"eval{k}.json").read_text())["returns"] for k in range(2)]
    (tmp_path / "eval0.json").unlink()
    (tmp_path / "eval1.json").unlink()
    assert main(["batch", str(path)]) == 0
    assert [json.loads((tmp_path / f"eval{k}.json").read_text())["returns"] for k in range(2)] == returns


def test_the_documented_example_batch_parses():
    from rlviz.cli import _batch_jobs, build_parser

    jobs = _batch_jobs("docs/batch-example.toml")
    assert {j["command"] for j in jobs} == {"video", "faithfulness", "summarize"}
    for j in jobs:
        build_parser().parse_args([j["command"], *j["args"]])
