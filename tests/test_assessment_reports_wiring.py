"""The report functions of rlviz.present.assessment_reports pass every setting to the
assessment they run and write what they say they write. The assessments themselves are
replaced by recorders here (they have their own tests); what is checked is the wiring:
defaults, pass-through, the JSON written, the figure's title and note, nested folders."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rlviz.assess.faithfulness import DEFAULT_REGION, OUTPUTS, REPLACEMENTS
from rlviz.assess.sanity import DEFAULT_SHIFT
from rlviz.present import assessment_reports as reports

AGENT = SimpleNamespace(name="tester", env_spec=SimpleNamespace(game="Pong"))


class _Dict:
    def __init__(self, tag: str) -> None:
        self.tag = tag

    def to_dict(self) -> dict:
        return {"tag": self.tag}


@pytest.fixture
def calls(monkeypatch):
    seen: dict[str, list] = {}

    def recorder(name, result):
        def record(*args, **kwargs):
            seen.setdefault(name, []).append((args, kwargs))
            return result(*args, **kwargs) if callable(result) else result
        return record

    frames = lambda agent, *, frames, seed, spacing: np.zeros((frames, 4, 84, 84), np.uint8)  # noqa: E731
    monkeypatch.setattr(reports, "collect_frames", recorder("collect_frames", frames))
    monkeypatch.setattr(reports, "pixel_flipping_outputs", recorder("pixel_flipping_outputs", {"logit": _Dict("flip")}))
    monkeypatch.setattr(reports, "cascading_randomization", recorder("cascading_randomization", _Dict("cascade")))
    monkeypatch.setattr(reports, "input_invariance", recorder("input_invariance", _Dict("invariance")))
    monkeypatch.setattr(reports, "rank_methods", recorder("rank_methods", ["row"]))
    monkeypatch.setattr(reports, "ranking_dict", lambda rows: [{"rows": rows}])
    for draw in ("draw_flipping_curves", "draw_sanity", "draw_ranking"):
        monkeypatch.setattr(reports, draw, recorder(draw, draw))
    monkeypatch.setattr(reports, "save_png", lambda path, figure: path.write_bytes(figure.encode()))
    return seen


def test_faithfulness_report_defaults_reach_play_and_pixel_flipping(calls) -> None:
    out = reports.faithfulness_report(AGENT)
    assert list(out) == ["logit"] and out["logit"].tag == "flip"
    assert calls["collect_frames"] == [((AGENT,), {"frames": 20, "seed": 0, "spacing": 8})]
    (args, kwargs), = calls["pixel_flipping_outputs"]
    assert args[0] is AGENT and args[1].shape == (20, 4, 84, 84)
    assert kwargs == {"methods": None, "outputs": OUTPUTS, "region": DEFAULT_REGION, "regions_per_step": 1, "seed": 0,
                      "replacement": "blur"}


def test_faithfulness_report_passes_every_setting_and_writes_json_and_png_in_new_folders(calls, tmp_path) -> None:
    folder = tmp_path / "runs" / "faithful"
    reports.faithfulness_report(AGENT, frames=3, seed=5, methods=["gradient"], outputs=("value",), region=9,
                                regions_per_step=2, spacing=4, out_dir=folder, replacement="background")
    assert calls["collect_frames"] == [((AGENT,), {"frames": 3, "seed": 5, "spacing": 4})]
    assert calls["pixel_flipping_outputs"][0][1] == {"methods": ["gradient"], "outputs": ("value",), "region": 9,
                                                     "regions_per_step": 2, "seed": 5, "replacement": "background"}
    payload = json.loads((folder / "faithfulness.json").read_text())
    assert payload == {"agent": "tester", "game": "Pong", "seed": 5, "spacing": 4, "outputs": {"logit": {"tag": "flip"}}}
    assert (folder / "faithfulness.png").read_bytes() == b"draw_flipping_curves"
    assert calls["draw_flipping_curves"][0][1] == {"title": "tester: pixel flipping"}


def test_faithfulness_report_with_observations_does_not_play(calls) -> None:
    obs = np.ones((2, 4, 84, 84), np.uint8)
    reports.faithfulness_report(AGENT, obs=obs)
    assert "collect_frames" not in calls and calls["pixel_flipping_outputs"][0][0][1] is obs


def test_sanity_report_defaults_and_settings_reach_both_checks(calls, tmp_path) -> None:
    cascade, invariance = reports.sanity_report(AGENT)
    assert (cascade.tag, invariance.tag) == ("cascade", "invariance")
    assert calls["collect_frames"] == [((AGENT,), {"frames": 4, "seed": 0, "spacing": 8})]
    (args, kwargs), = calls["cascading_randomization"]
    assert args[0] is AGENT and args[1].shape == (4, 4, 84, 84)
    assert kwargs == {"methods": None, "target": "action", "seed": 0}
    assert calls["input_invariance"][0][1] == {"methods": None, "shift": DEFAULT_SHIFT, "target": "action", "seed": 0}

    folder = tmp_path / "a" / "b"
    reports.sanity_report(AGENT, frames=2, seed=3, methods=["lrp"], target="value", shift=0.25, spacing=5, out_dir=folder)
    assert calls["collect_frames"][1] == ((AGENT,), {"frames": 2, "seed": 3, "spacing": 5})
    assert calls["cascading_randomization"][1][1] == {"methods": ["lrp"], "target": "value", "seed": 3}
    assert calls["input_invariance"][1][1] == {"methods": ["lrp"], "shift": 0.25, "target": "value", "seed": 3}
    payload = json.loads((folder / "sanity.json").read_text())
    assert payload == {"agent": "tester", "game": "Pong", "seed": 3, "cascading_randomization": {"tag": "cascade"},
                       "input_invariance": {"tag": "invariance"}}
    assert (folder / "sanity.png").read_bytes() == b"draw_sanity"
    assert calls["draw_sanity"][0][1] == {"title": "tester: sanity checks"}


def test_sanity_report_with_observations_does_not_play(calls) -> None:
    obs = np.ones((3, 4, 84, 84), np.uint8)
    reports.sanity_report(AGENT, obs=obs)
    assert "collect_frames" not in calls
    assert calls["cascading_randomization"][0][0][1] is obs and calls["input_invariance"][0][0][1] is obs


@pytest.mark.parametrize("kind", ["blur", "background"])
def test_ranking_report_ranks_with_the_checks_given_and_says_how_regions_were_removed(calls, tmp_path, kind) -> None:
    report = SimpleNamespace(output="prob", n_frames=12, replacement=REPLACEMENTS[kind])
    cascade, invariance = _Dict("c"), _Dict("i")
    assert reports.ranking_report(AGENT, report, cascade, invariance) == ["row"]
    assert calls["rank_methods"] == [((report, cascade, invariance), {})]
    assert not list(tmp_path.iterdir())  # nothing written without out_dir

    folder = tmp_path / "x" / "ranking"
    reports.ranking_report(AGENT, report, out_dir=folder)
    assert calls["rank_methods"][1] == ((report, None, None), {})
    payload = json.loads((folder / "ranking.json").read_text())
    assert payload == {"agent": "tester", "game": "Pong", "output": "prob", "frames": 12,
                       "replacement": REPLACEMENTS[kind], "sanity_checked": False, "ranking": [{"rows": ["row"]}]}
    (args, kwargs), = calls["draw_ranking"]
    removal = "" if kind == "blur" else "; regions painted with the empty playfield"
    assert args == (["row"],) and kwargs == {
        "title": "tester: which explanation method to trust",
        "note": f"12 frames, explained output: prob{removal}; whiskers: 95% CI over frames; frames/s measured on this machine",
    }
    assert (folder / "ranking.png").read_bytes() == b"draw_ranking"


def test_ranking_json_says_when_the_sanity_checks_were_run(calls, tmp_path) -> None:
    report = SimpleNamespace(output="logit", n_frames=2, replacement=REPLACEMENTS["blur"])
    reports.ranking_report(AGENT, report, _Dict("c"), _Dict("i"), out_dir=tmp_path)
    assert json.loads((tmp_path / "ranking.json").read_text())["sanity_checked"] is True
