"""The Summary tab built from a real ``rlviz summarize`` output (the report case's agent, 2 games
of 16 steps from the report's seed): every dataset example is linked to the report step that
shows it exactly when that step is in the rollout (checked against the channel's activation
recomputed by plain layer-by-layer forward passes), captions say what the graph holds, fields
the page does not know are kept, and bad summaries are refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from report_case import SEED, STEPS, SUMMARY_STEPS, small_report

from rlviz.cli import main
from rlviz.present.report.summary_tab import find_summary, load_summary, move_caption
from rlviz.util.errors import RlvizError


def channel_max(agent, obs: np.ndarray, layer: str, channel: int) -> float:
    """The channel's maximum over space after its ReLU, by running net.features layer by layer."""
    x = torch.as_tensor(obs[None], dtype=torch.float32) / 255.0
    convs = 0
    with torch.no_grad():
        for module in agent.net.features:
            x = module(x)
            if isinstance(module, torch.nn.ReLU):
                convs += 1
                if f"conv{convs}" == layer:
                    return float(x[0, channel].max())
    raise AssertionError(f"no layer {layer}")


def summit():
    case = small_report()
    return case, case.data["summary"]["summit"], load_summary(case.folder.parent / "summary")


def test_examples_link_to_the_report_step_that_shows_them_exactly_when_it_is_in_the_rollout():
    case, tab, _ = summit()
    linked = unlinked = 0
    for move in tab["moves"]:
        for v in move["vertices"]:
            for ex in v["examples"]:
                in_rollout = ex["episode"] == 0 and ex["step"] < STEPS  # summary game 0 is reset(SEED), as the report's
                if in_rollout:
                    assert ex["at"] == ex["step"], (move["move"], v["id"], ex)
                    want = channel_max(case.agent, case.obs[ex["at"]], v["layer"], v["channel"])
                    assert want == pytest.approx(ex["activation"], abs=2e-6)  # the same frame, by its activation
                    linked += 1
                else:
                    assert ex["at"] is None and (ex["episode"] == 1 or STEPS <= ex["step"] < SUMMARY_STEPS)
                    unlinked += 1
    assert linked and unlinked and tab["linked"] > 0 and case.result.linked_examples == tab["linked"]


def test_an_example_whose_activation_differs_is_not_linked(tmp_path):
    from rlviz.play.rollout import env_for, play
    from rlviz.present.report.summary_tab import example_candidates, verified_links

    case, _, doc = summit()
    env = env_for(case.agent)
    steps = list(play(case.agent, env, seed=SEED, max_steps=STEPS))
    env.close()
    candidates = example_candidates(doc, steps, SEED)
    obs = {k: case.obs[k] for k in candidates.values()}
    good = verified_links(case.agent, doc, candidates, obs)
    assert good
    (layer, channel, episode, step), _ = next(iter(good.items()))
    for entry in doc["actions"].values():
        for v in entry["graph"]["vertices"]:
            for ex in v["examples"]:
                if (v["layer"], v["channel"], ex["episode"], ex["step"]) == (layer, channel, episode, step):
                    ex["activation"] *= 1.01  # another agent's frame, say
    assert (layer, channel, episode, step) not in verified_links(case.agent, doc, candidates, obs)
    assert verified_links(case.other, doc, candidates, obs) == {}  # another net does not fire the same


def test_captions_name_the_graphs_channels_and_frames():
    case, tab, doc = summit()
    for move in tab["moves"]:
        entry = doc["actions"][move["move"]]
        assert move["caption"] == move_caption(doc, move["move"])
        said = move["move"] + ("" if move["label"] == move["move"] else f" ({move['label']})")  # Pong's NOOP: stay
        assert f"It chose {said} on {entry['frames']:,} of the {doc['frames']:,} frames" in move["caption"]
        for v in entry["graph"]["vertices"]:
            assert f"#{v['channel']}" in move["caption"]
        assert move["figure"] and (case.folder / move["figure"]).is_file()  # the page loads it from there
    assert [m["move"] for m in tab["moves"]] == [m for m in doc["action_names"] if m in doc["actions"]]


def test_fields_the_page_does_not_know_are_kept():
    _, tab, _ = summit()
    assert ["fc1_groups", json.dumps([{"units": [1, 2], "note": "added by a newer rlviz"}], separators=(", ", ": "))] \
        in tab["extra"]
    assert ["saliency_where", "[40.5, 12.25]"] in tab["moves"][0]["vertices"][0]["extra"]


def test_find_summary_looks_where_rlviz_puts_them(tmp_path, monkeypatch):
    case, _, _ = summit()
    monkeypatch.chdir(tmp_path)
    assert find_summary(case.agent, None) is None
    target = tmp_path / "runs" / f"summary-{case.agent.name}"
    target.mkdir(parents=True)
    (target / "summary.json").write_text((case.folder.parent / "summary" / "summary.json").read_text())
    assert find_summary(case.agent, None) == target.relative_to(tmp_path)
    assert find_summary(case.other, None) is None  # another agent's summary is not picked up


@pytest.mark.parametrize("content, says", [
    (None, "has no summary.json"),
    ("{not json", "not valid JSON"),
    ('{"schema": "other"}', "is not an rlviz summary"),
])
def test_bad_summary_is_refused_in_one_line(agent_dir, tmp_path, capsys, content, says):
    folder = tmp_path / "s"
    folder.mkdir()
    if content is not None:
        (folder / "summary.json").write_text(content)
    with pytest.raises(RlvizError):
        load_summary(folder)
    code = main(["report", "--agent", str(agent_dir), "--out", str(tmp_path / "r"), "--quiet", "--summary", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rlviz: error:") and says in err and "\n" not in err


def test_a_summary_of_another_game_is_refused(agent_dir, tmp_path, capsys):
    case, _, _ = summit()
    doc = json.loads((case.folder.parent / "summary" / "summary.json").read_text())
    doc["game"] = "Breakout"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "summary.json").write_text(json.dumps(doc))
    code = main(["report", "--agent", str(agent_dir), "--out", str(tmp_path / "r"), "--quiet", "--summary", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "same game" in err and "\n" not in err
