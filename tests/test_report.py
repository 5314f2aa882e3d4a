"""The report's files: the map encodings (closed forms), the atlases, and that the data and
images of a small report are those of the recorded rollout (checked against an independent
replay and the explainers called directly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_case import PONG_ACTIONS, STEPS, read_data, small_report

from rlviz.cli import main
from rlviz.explain.lrp import lrp
from rlviz.explain.objects import find_objects, object_shares
from rlviz.explain.perturbation import perturbation_saliency
from rlviz.present.colormaps import LRP_FOR_RGB
from rlviz.present.report import encode
from rlviz.present.report.summary import markdown_to_html


def test_saliency_levels_follow_the_square_root_scale():
    scale = 8.0
    v = np.array([0.0, scale / 4, scale, 3 * scale, scale * 1e-5])
    assert encode.saliency_levels(v, scale).tolist() == [0, 128, 255, 255, 0]  # sqrt(1/4) = 0.5; faint -> 0
    assert encode.saliency_levels(v, 0.0).tolist() == [0] * 5


def test_relevance_levels_are_signed_around_128():
    scale = 2.0
    v = np.array([0.0, scale, -scale, scale / 4, -scale / 4, 10 * scale, 1e-6])
    assert encode.relevance_levels(v, scale).tolist() == [128, 255, 1, 128 + 64, 128 - 64, 255, 128]


def tile(folder, layer, step, w, h):
    """(atlas image, the step's tile) from ``folder/img/layer`` (``layer=None``: ``folder`` itself)."""
    where = folder if layer is None else folder / "img" / layer
    img = Image.open(where / f"{step // encode.CHUNK}.png")
    x, y = encode.tile_origin(step, w, h)
    return img, np.asarray(img)[y : y + h, x : x + w]


def test_atlas_puts_each_tile_where_the_page_looks(tmp_path):
    atlas = encode.Atlas(tmp_path, 84, 84, "relevance")
    tiles = {k: np.full((84, 84), k % 256, np.uint8) for k in (0, 7, 99, 100, 135)}
    for k, t in tiles.items():
        atlas.add(k, t)
    atlas.flush()
    for k, t in tiles.items():
        img, got = tile(tmp_path, None, k, 84, 84)
        assert img.mode == "P"
        np.testing.assert_array_equal(got, t)
    rgba = np.asarray(img.convert("RGBA"))  # the palette carries the colour and the opacity of each level
    x, y = encode.tile_origin(135, 84, 84)
    r, g, b, a = rgba[y, x]
    assert (r, g, b) == LRP_FOR_RGB and a == round(255 * 0.95 * 7 / 127)  # level 135: the videos' red, |135 - 128| = 7


def test_report_frames_and_actions_are_the_recorded_rollout():
    case = small_report()
    d = case.data
    assert d["steps"] == STEPS == case.result.steps
    assert d["action"] == case.actions
    for k in range(STEPS):
        _, frame = tile(case.folder, "frame", k, 160, 210)
        np.testing.assert_array_equal(frame, case.rgb[k])
        _, newest = tile(case.folder, "obs", k, 84, 84)
        np.testing.assert_array_equal(newest, case.obs[k][-1])
        for i, src in enumerate(d["stack"][k]):  # each stacked frame points at the step it came from
            expected = np.zeros((84, 84), np.uint8) if src == -1 else case.obs[src][-1]
            assert src != -2
            np.testing.assert_array_equal(case.obs[k][i], expected)


def _same_levels(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal within one level, or on the two sides of the cut at encode.FAINT (levels under it
    are stored as 0): the report explains all steps in one batch and the test three, so a
    saliency a float rounding from the cut may fall on either side of it."""
    g, w = got.astype(int), want.astype(int)
    at_cut = (np.minimum(g, w) == 0) & (np.maximum(g, w) <= encode.FAINT)
    return bool(np.all((np.abs(g - w) <= 1) | at_cut))


def test_report_maps_are_the_explainers_maps_at_the_rollout_scale():
    case = small_report()
    layers = {ly["key"]: ly for ly in case.data["layers"]}
    obs = np.stack(case.obs)
    rel = lrp(case.agent, obs, target="action").sum(axis=1)
    rel_b = lrp(case.other, obs, target="value").sum(axis=1)
    picked = (0, 5, STEPS - 1)
    sal = dict(zip(picked, perturbation_saliency(case.agent, obs[list(picked)]).actor))
    for k in picked:
        _, got = tile(case.folder, "lrp-action", k, 84, 84)
        want = encode.relevance_levels(rel[k], layers["lrp-action"]["scale"]).astype(int)
        assert np.abs(got.astype(int) - want).max() <= 1  # the scale rounded to 4 digits
        _, got = tile(case.folder, "b-lrp-value", k, 84, 84)
        want = encode.relevance_levels(rel_b[k], layers["b-lrp-value"]["scale"]).astype(int)
        assert np.abs(got.astype(int) - want).max() <= 1
        _, got = tile(case.folder, "sal-actor", k, 84, 84)
        want = encode.saliency_levels(sal[k], layers["sal-actor"]["scale"]).astype(int)
        assert _same_levels(got, want)


def test_objects_layer_has_each_steps_boxes_and_each_maps_top_shares():
    case = small_report()
    objects = case.data["objects"]
    names = objects["names"]
    rel = lrp(case.agent, np.stack(case.obs), target="action").sum(axis=1)
    seen = set()
    for k in range(STEPS):
        found = find_objects(case.obs[k], case.background, "Pong")
        want = [[o.name, *_newest_box(o.masks[-1])] for o in found if o.masks[-1].any()]
        assert [[names[i], *box] for i, *box in objects["boxes"][k]] == want
        seen |= {o.name for o in found}
        top = sorted(object_shares(rel[k], found).by_object.items(), key=lambda kv: -kv[1])[:3]
        got = [(names[i], share) for i, share in objects["shares"]["lrp-action"][k]]
        assert got == [(n, pytest.approx(v, abs=6e-4)) for n, v in top if v >= 0.005]
    assert {"agent's paddle", "opponent's paddle"} <= seen  # the scene has named objects to check
    assert set(objects["shares"]) == {ly["key"] for ly in case.data["layers"]}


def _newest_box(mask: np.ndarray) -> list[int]:
    rows, cols = np.nonzero(mask)
    return [int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1]


def test_compare_lists_the_steps_where_the_second_agent_acts_otherwise():
    case = small_report()
    logits_b, _ = case.other(np.stack(case.obs))
    disagree = [k for k in range(STEPS) if int(logits_b[k].argmax()) != case.actions[k]]
    assert case.data["compare"]["disagreements"] == disagree == case.result.disagreements
    assert disagree, "two different untrained nets should disagree somewhere in 12 steps"


def test_model_card_is_escaped_html():
    case = small_report()
    card = case.data["summary"]["card"]
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "<strong>test</strong>" in card and "<td>1</td>" in card
    assert markdown_to_html("- a `b`\n- c") == "<ul><li>a <code>b</code></li><li>c</li></ul>"


@pytest.mark.parametrize("argv, says", [
    (["--explain", "colours"], "unknown method"),
    (["--compare", "agents/breakout"], "same game and pipeline"),
])
def test_cli_report_refuses_bad_input_in_one_line(agent_dir, tmp_path, capsys, argv, says):
    if "agents/breakout" in argv and not Path("agents/breakout").is_dir():
        pytest.skip("the bundled breakout agent is not here")
    code = main(["report", "--agent", str(agent_dir), "--out", str(tmp_path / "r"), "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("rlviz: error:") and says in err and "\n" not in err


def test_cli_report_refuses_a_file_as_the_folder(agent_dir, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["report", "--agent", str(agent_dir), "--out", str(tmp_path / "f"), "--quiet"]) == 2
    assert "a file of that name is in the way" in capsys.readouterr().err  # checked before the work (cli OUTPUTS)


def test_q_network_report_shows_q_values_not_probabilities(tmp_path):
    import torch

    from rlviz.agents.agent import Agent
    from rlviz.agents.networks import NatureQNetwork
    from rlviz.play.envs import EnvSpec
    from rlviz.present.report import make_report

    torch.manual_seed(0)
    agent = Agent(NatureQNetwork(6), env_spec=EnvSpec("Pong"), action_names=PONG_ACTIONS, metadata={"name": "q"})
    result = make_report(agent, tmp_path / "q", frames=3, methods="lrp", interactions=False, objects=False, progress=False)
    d = read_data(tmp_path / "q")
    assert d["agent"]["kind"] == "q" and d["probs"] == [] and d["entropy"] == [] and d["objects"] is None
    assert result.steps == 3 and [ly["key"] for ly in d["layers"]] == ["lrp-action", "lrp-value"]
    assert len(d["logits"][0]) == 6 and d["action"][0] == int(np.argmax(d["logits"][0]))  # Q-values, greedy move
