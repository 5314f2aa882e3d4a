"""object_report's wiring and its small helpers: what it plays and computes by default, which
pixel-flipping runs it asks for, the random baseline it reports, the order of object names
and the paired half-widths. The heavy parts (maps, pixel flipping) are recorders here; their
own tests live in test_objects.py, test_object_report.py and test_faithfulness.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from rlviz.assess import objects as report_module
from rlviz.assess.objects import CURRENT_PANEL, _names_in_order, _paired_halfwidths, object_report
from rlviz.explain.objects.games import rules_for


class _Flipping:
    """A pixel-flipping report with fixed AOPCs: deletion 0.1 * k, insertion 0.2 * k for the
    k-th method asked, and the random baseline at its own values."""

    def __init__(self, maps: dict, replacement: str) -> None:
        names = list(maps)
        extra = 1.0 if replacement == "background" else 0.0
        self.aopc = {m: 0.1 * (k + 1) + extra for k, m in enumerate(names)} | {"random": 0.05 + extra}
        self.insertion_aopc = {m: 0.2 * (k + 1) + extra for k, m in enumerate(names)} | {"random": 0.07 + extra}

    def aopc_per_frame(self, kind: str) -> dict:
        return {}


@pytest.fixture
def recorded(monkeypatch, pong_agent):
    seen: dict[str, list] = {"background": [], "collect_frames": [], "pixel_flipping": []}

    def background(agent, *, progress):
        seen["background"].append((agent is pong_agent, progress))
        return np.zeros((84, 84), np.uint8)

    def collect_frames(agent, *, frames, seed, spacing):
        seen["collect_frames"].append((agent is pong_agent, frames, seed, spacing))
        return np.zeros((frames, 4, 84, 84), np.uint8)

    def pixel_flipping(agent, obs, *, methods, maps, replacement="blur", background=None):
        seen["pixel_flipping"].append((methods, sorted(maps), replacement, background is not None))
        return _Flipping(maps, replacement)

    monkeypatch.setattr(report_module, "background", background)
    monkeypatch.setattr(report_module, "collect_frames", collect_frames)
    monkeypatch.setattr(report_module, "pixel_flipping", pixel_flipping)
    monkeypatch.setattr(report_module, "method_maps", lambda agent, obs, name, bg: np.zeros(obs.shape[:1] + obs.shape[2:], np.float32))
    return seen


def test_object_report_plays_ten_frames_with_a_progress_bar_and_flips_against_random_only(recorded, pong_agent) -> None:
    out = object_report(pong_agent, methods=("saliency-actor", CURRENT_PANEL))
    assert recorded["background"] == [(True, True)]
    assert recorded["collect_frames"] == [(True, 10, 1, 8)]
    assert out["frames"] == 10
    assert recorded["pixel_flipping"] == [
        (["random"], sorted(["saliency-actor", CURRENT_PANEL]), "blur", False),
        (["random"], sorted(["saliency-actor", CURRENT_PANEL]), "background", True),
    ]
    assert out["random"] == {"aopc_deletion": 0.05, "aopc_insertion": 0.07,
                             "aopc_deletion_background": 1.05, "aopc_insertion_background": 1.07}
    assert out["methods"]["saliency-actor"]["aopc_insertion_background"] == pytest.approx(1.2)


def test_names_come_in_the_games_order_then_unnamed_objects_by_number() -> None:
    def scene(*names):
        return [[SimpleNamespace(name=n) for n in names]]

    unnamed = scene("object 10", "object 2", "object 20", "object 1", "object 11", "object 3")
    assert _names_in_order(unnamed, "Asterix") == ["object 1", "object 2", "object 3", "object 10", "object 11", "object 20"]  # no rules
    assert _names_in_order(scene("object 3", "ball", "agent's paddle"), "Pong")[-1] == "object 3"
    pong_order = [n for n in rules_for("Pong").names if n in ("ball", "agent's paddle")]
    assert _names_in_order(scene("object 3", "agent's paddle", "ball"), "Pong")[:2] == pong_order


def test_paired_half_width_is_196_standard_errors_and_zero_for_one_frame() -> None:
    current = np.array([1.0, 2.0, 4.0])
    other = np.array([2.0, 2.0, 7.0])  # differences 1, 0, 3
    report = SimpleNamespace(aopc_per_frame=lambda kind: {CURRENT_PANEL: current, "m": other})
    d = other - current
    assert _paired_halfwidths(report, CURRENT_PANEL) == pytest.approx(
        {CURRENT_PANEL: 0.0, "m": 1.96 * d.std(ddof=1) / np.sqrt(3)})
    one = SimpleNamespace(aopc_per_frame=lambda kind: {CURRENT_PANEL: current[:1], "m": other[:1]})
    assert _paired_halfwidths(one, CURRENT_PANEL) == {CURRENT_PANEL: 0.0, "m": 0.0}
    without = SimpleNamespace(aopc_per_frame=lambda kind: {"m": other})
    assert _paired_halfwidths(without, CURRENT_PANEL) == {}


def test_an_object_report_of_no_frames_is_refused(pong_agent) -> None:
    from rlviz.util.errors import RlvizError

    with pytest.raises(RlvizError, match=r"^an object report needs at least one frame; pass frames >= 1 or non-empty observations$"):
        object_report(pong_agent, obs=np.zeros((0, 4, 84, 84), np.uint8), bg=np.zeros((84, 84), np.uint8), aopc=False)
