"""Summaries of real rollouts: the split by episode, the Ray path (equal to in-process, exactly), the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rlviz.agents.loading import load_agent
from rlviz.assess.summary_run import summarize, summarize_episode

AGENT = "agents/pong-early"


def _same(a, b) -> None:
    assert a.sums.keys() == b.sums.keys()
    for key in a.sums:
        assert np.array_equal(a.sums[key], b.sums[key]), key
    ka = [[[(e.key(), e.frame.tobytes()) for e in lst] for lst in layer] for layer in a.examples]
    kb = [[[(e.key(), e.frame.tobytes()) for e in lst] for lst in layer] for layer in b.examples]
    assert ka == kb


def test_summary_is_the_in_order_sum_of_its_episodes():
    agent = load_agent(AGENT)
    whole = summarize(agent, 2, frames_per_episode=20, seed=3)
    assert whole.accumulator.frames().sum() == 40
    parts = [summarize_episode(agent, e, seed=3, frames_per_episode=20)[0] for e in range(2)]
    _same(whole.accumulator, parts[0].merge(parts[1]))
    assert {e.episode for layer in whole.accumulator.examples for lst in layer for e in lst} <= {0, 1}


def test_ray_results_equal_in_process_results_exactly():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'rlviz[ray]'); the Ray path is untested here")
    agent = load_agent(AGENT)
    local = summarize(agent, 2, frames_per_episode=16, seed=5)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = summarize(agent, 2, frames_per_episode=16, seed=5, ray="local")
    finally:
        if started:
            ray.shutdown()
    assert remote.workers.startswith("ray")
    assert remote.returns == local.returns
    _same(remote.accumulator, local.accumulator)


def test_ray_is_never_imported_by_default():
    import subprocess
    import sys

    code = ("import sys, rlviz, rlviz.cli, rlviz.assess.summary_run, rlviz.present.summary_figures; "
            "sys.exit('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_cli_writes_the_documented_json_and_a_figure_per_chosen_move(tmp_path):
    from rlviz.cli import main

    out = tmp_path / "summary"
    assert main(["summarize", "--agent", AGENT, "--episodes", "1", "--frames-per-episode", "24", "--quiet",
                 "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert doc["schema"] == "rlviz.summary/1" and doc["frames"] == 24
    assert sum(doc["frames_per_action"].values()) == 24
    chosen = [name for name, n in doc["frames_per_action"].items() if n > 0]
    assert sorted(doc["actions"]) == sorted(chosen)
    for name in chosen:
        entry = doc["actions"][name]
        assert (out / entry["figure"]).is_file()
        layers = [v["layer"] for v in entry["graph"]["vertices"]]
        assert layers == ["conv3"] * 3 + ["conv2"] * 3 + ["conv1"] * 3
        targets = {e["target"] for e in entry["graph"]["edges"]}
        assert "action" in targets and all(t == "action" or t.split(":")[0] in ("conv2", "conv3") for t in targets)
        for v in entry["graph"]["vertices"]:
            assert 1 <= len(v["examples"]) <= 4 and all(0 <= e["step"] < 24 for e in v["examples"])
            assert abs(sum(v["peaks"]) - 1) < 1e-3
            place = v["relevance_where"]  # optional field: where the pixels behind the channel's peak lie
            assert place is None or all(0 <= c <= 83 for c in place)
        # the graph continues through fc1's groups: conv3 -> fc1 group -> action
        assert len(entry["fc1_groups"]) == len(doc["action_names"]) == len(doc["dense"]["groups"])
        fc1 = entry["fc1_graph"]
        assert 1 <= len(fc1["vertices"]) <= 3 and {v["layer"] for v in fc1["vertices"]} == {"fc1"}
        assert all(v["score"] > 0 for v in fc1["vertices"][1:])  # beyond the strongest, only groups that push
        groups = {f"fc1:{v['group']}" for v in fc1["vertices"]}
        conv3 = {f"conv3:{v['channel']}" for v in entry["graph"]["vertices"] if v["layer"] == "conv3"}
        assert {e["source"] for e in fc1["edges"] if e["target"] == "action"} == groups
        assert all(e["source"] in conv3 and e["target"] in groups and e["weight"] > 0
                   for e in fc1["edges"] if e["target"] != "action")
    assert sum(g["units"] for g in doc["dense"]["groups"]) == doc["dense"]["units"] == 512
    with np.load(out / "aggregates.npz", allow_pickle=False) as sums:
        assert sums["frames"].sum() == 24


def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys):
    from rlviz.cli import main

    with pytest.raises(SystemExit) as exit_:  # numbers are checked when they are parsed (issue #19)
        main(["summarize", "--agent", AGENT, "--episodes", "0", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "rlviz summarize: error: argument --episodes: must be at least 1, got 0"


def test_ray_flag_without_ray_says_how_to_install_it(monkeypatch):
    import sys

    from rlviz.util.errors import RlvizError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(RlvizError, match=r"pip install 'rlviz\[ray\]'"):
        summarize(load_agent(AGENT), 1, frames_per_episode=4, ray="local")


def test_report_summary_tab_captions_a_summarys_figures(tmp_path):
    from rlviz.present.report.summary import copy_figures
    from rlviz.present.summary_report import write_summary

    folder = tmp_path / "summary"
    write_summary(summarize(load_agent(AGENT), 1, frames_per_episode=8), folder)
    doc = json.loads((folder / "summary.json").read_text())
    figs = copy_figures([folder], tmp_path / "report" / "summary")
    move, entry = next(iter(doc["actions"].items()))
    caption = {f["src"]: f["caption"] for f in figs}[f"summary/0-{entry['figure']}"]
    assert caption.startswith(f"What {doc['agent']} reads to choose {move} (attribution graph over {entry['frames']} of 8")
