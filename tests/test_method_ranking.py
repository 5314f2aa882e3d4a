"""The ranking that ends `rlviz faithfulness`: order, flags, table, figure and the CLI."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rlviz.assess.faithfulness import FaithfulnessReport
from rlviz.assess.ranking import rank_methods, ranking_dict, ranking_table
from rlviz.cli import main
from rlviz.present.ranking_figure import draw_ranking


def curves(start: float, drop: float, n: int = 4) -> np.ndarray:
    """n frames of a 3-step deletion curve falling by ``drop`` per step (frame i shifted by 0.01 i)."""
    return np.array([[start - drop * k + 0.01 * i for k in range(4)] for i in range(n)])


def report() -> FaithfulnessReport:
    dele = {"good": curves(1.0, 0.3), "poor": curves(1.0, 0.05), "random": curves(1.0, 0.1)}
    ins = {"good": -curves(0.0, 0.2), "poor": -curves(0.0, 0.02), "random": -curves(0.0, 0.1)}
    return FaithfulnessReport("logit", 42, 1, dele, ins, np.zeros(4, int), frames_per_second={"good": 12.5, "poor": 300.0})


def test_methods_are_ranked_by_the_mean_of_deletion_and_insertion_aopc():
    rows = rank_methods(report())
    assert [r.method for r in rows] == ["good", "random", "poor"]
    good = rows[0]
    # deletion AOPC = mean_k (f0 - fk) = 0.3 * (0+1+2+3)/4; insertion = 0.2 * 1.5
    assert good.deletion == pytest.approx(0.45) and good.insertion == pytest.approx(0.3)
    assert good.score == pytest.approx(0.375)
    assert good.gain == pytest.approx(0.375 - 0.15) and good.gain_ci == pytest.approx(0.0, abs=1e-12)
    assert good.frames_per_second == 12.5 and good.fails_sanity is None


def test_sanity_flags_are_carried_without_reordering():
    cascade = SimpleNamespace(final_rho=lambda: {"good": 0.8, "poor": 0.1, "random": 1.0},
                              flagged=lambda: ["good", "random"])
    invariance = SimpleNamespace(invariant=lambda: {"good": True, "poor": False, "random": True})
    rows = {r.method: r for r in rank_methods(report(), cascade, invariance)}
    assert rows["good"].flags == ["fails randomisation"]
    assert rows["poor"].flags == ["not input-invariant"]
    table = ranking_table(list(rows.values()))
    assert "| good |" in table and "FAILS (+0.80)" in table and "| NO |" in table
    assert json.dumps(ranking_dict(list(rows.values())))  # JSON-ready (NaN -> None)
    img = draw_ranking(rank_methods(report(), cascade, invariance), title="t")
    assert img.ndim == 3 and img.shape[0] > 78 + 3 * 30 and img.dtype == np.uint8


def test_cli_methods_lists_every_registered_method(capsys):
    from rlviz.explain.registry import method_names

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}  ->" in out for name in method_names())


def test_cli_attribute_draws_every_named_method_and_saves_the_raw_maps(agent_dir, tmp_path, capsys):
    out, npz = tmp_path / "gallery.png", tmp_path / "maps.npz"
    code = main(["attribute", "--agent", str(agent_dir), "--step", "2", "--methods", "gradient-x-input,gradcam,sarfa",
                 "--target", "contrast", "--out", str(out), "--npz", str(npz)])
    assert code == 0 and out.stat().st_size > 1000
    maps = np.load(npz)
    assert maps["gradient-x-input"].shape == (1, 4, 84, 84) and maps["gradcam"].shape == (1, 84, 84)
    assert maps["obs"].shape == (4, 84, 84)
    assert "3 methods" in capsys.readouterr().out


def test_gallery_leaves_out_a_method_that_cannot_explain_the_target(pong_agent, random_obs):
    from rlviz.present.method_gallery import gallery_maps

    maps = gallery_maps(pong_agent, random_obs[0], ["sarfa", "gradient"], target="value")
    assert list(maps) == ["gradient"] and maps["gradient"].shape == (84, 84)


def test_ranking_figure_draws_a_single_frame_report_without_intervals():
    one = report()
    one.deletion = {m: c[:1] for m, c in one.deletion.items()}
    one.insertion = {m: c[:1] for m, c in one.insertion.items()}
    rows = rank_methods(one)
    assert all(np.isnan(r.deletion_ci) for r in rows)
    assert draw_ranking(rows).shape[0] > 0
