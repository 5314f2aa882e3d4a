"""Where rlviz writes: only where it was told, atomically, never through links or over an
agent's own files, checked before the work (issue #19: S1, S2, D3 and the output findings)."""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import numpy as np
import pytest
from safety_helpers import cli, edit_agent_json, one_line_error

from rlviz.agents.evaluate import Evaluation


def _fake_video(calls: list):
    def make_video(agent, out, **kwargs):
        calls.append(Path(out))
        return types.SimpleNamespace(moments=[], interrupted=False, path=Path(out), frames=1, score=0.0, fps=1.0)

    return make_video


@pytest.mark.parametrize("name", ["/any/where/PWNED", "../../../../any/where/PWNED", "a/../../b", ".hidden\nline"])
def test_a_crafted_agent_name_cannot_choose_where_the_default_video_goes(agent_dir, tmp_path, monkeypatch, capsys, name):
    import rlviz.present.video as video

    edit_agent_json(agent_dir, name=name)
    calls: list[Path] = []
    monkeypatch.setattr(video, "make_video", _fake_video(calls))
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "video", "--agent", str(agent_dir), "--frames", "1", "--quiet")
    assert code == 0, err
    (out,) = calls
    assert out.parent == Path("runs") and "/" not in out.name and not out.name.startswith(".")
    assert (tmp_path / out).resolve().parent == (tmp_path / "runs").resolve()


def test_safe_name_keeps_plain_names_and_drops_everything_else():
    from rlviz.util.safe_io import printable, safe_name

    assert safe_name("pong-early") == "pong-early"
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("\x1b[31m/x") == "x"
    assert safe_name("...") == "agent"
    assert printable("a\x1b[31mred\x1b[0m\nb\x07") == "ared b "


def _fast_evaluations(monkeypatch):
    import rlviz.agents.model_card as card

    fake = Evaluation(returns=[1.0], lengths=[10], seed=0, policy="greedy")
    monkeypatch.setattr(card, "evaluate", lambda *a, **k: fake)
    monkeypatch.setattr(card, "evaluate_random", lambda *a, **k: fake)


def test_write_card_replaces_a_symlinked_readme_instead_of_writing_through_it(agent_dir, tmp_path, monkeypatch, capsys):
    _fast_evaluations(monkeypatch)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (agent_dir / "README.md").symlink_to(victim)
    code, _, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--write-card", "--quiet")
    assert code == 0, err
    assert victim.read_text() == "precious"
    assert not (agent_dir / "README.md").is_symlink() and "evaluation" in (agent_dir / "README.md").read_text()


@pytest.mark.parametrize("member", ["agent.json", "model.safetensors"])
def test_agent_files_linked_from_outside_the_folder_are_refused(agent_dir, tmp_path, capsys, member):
    outside = tmp_path / "elsewhere" / member
    outside.parent.mkdir()
    (agent_dir / member).rename(outside)
    (agent_dir / member).symlink_to(outside)
    code, _, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1", "--quiet")
    assert code == 2
    assert "leaves its agent folder" in one_line_error(err)


def test_evaluate_json_refuses_to_overwrite_the_agents_own_description(agent_dir, capsys):
    before = (agent_dir / "agent.json").read_bytes()
    code, _, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1",
                       "--json", str(agent_dir / "agent.json"), "--quiet")
    assert code == 2 and "files of the agent" in one_line_error(err)
    assert (agent_dir / "agent.json").read_bytes() == before


def _spy(monkeypatch, module, name: str) -> list:
    calls: list = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the work ran although its output cannot be written")

    monkeypatch.setattr(module, name, spy)
    return calls


COMMANDS_WITH_OUTPUTS = ["frame", "evaluate", "faithfulness", "interactions", "attribute", "attribute-npz", "whatif",
                         "whatif-video", "report", "objects", "objects-figure", "summarize", "import"]


@pytest.mark.parametrize("command", COMMANDS_WITH_OUTPUTS)
def test_an_unusable_output_is_refused_before_the_work(agent_dir, tmp_path, monkeypatch, capsys, command):
    import rlviz.agents.evaluate as evaluate_module
    import rlviz.agents.importing as importing
    import rlviz.assess.objects as objects
    import rlviz.assess.summary_run as summary_run
    import rlviz.assess.whatif as whatif
    import rlviz.explain.registry as registry
    import rlviz.present.assessment_reports as reports
    import rlviz.present.interaction_report as interaction_report
    import rlviz.present.report as report
    import rlviz.present.video as video

    folder = tmp_path / "a-folder.png"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    argv = {
        "frame": ["frame", "--out", str(folder)],
        "evaluate": ["evaluate", "--episodes", "1", "--json", str(folder), "--quiet"],
        "faithfulness": ["faithfulness", "--frames", "1", "--json", str(folder)],
        "interactions": ["interactions", "--out", str(a_file)],
        "attribute": ["attribute", "--out", str(folder), "--methods", "gradient"],
        "attribute-npz": ["attribute", "--out", str(tmp_path / "ok.png"), "--npz", str(a_file), "--methods", "gradient"],
        "whatif": ["whatif", "--view-edit", "blank:0,0,10,10", "--json", str(folder), "--quiet"],
        "whatif-video": ["whatif", "--view-edit", "blank:0,0,10,10", "--video", str(tmp_path / "v.avi"), "--quiet"],
        "report": ["report", "--out", str(a_file), "--quiet"],
        "objects": ["objects", "--json", str(folder), "--quiet"],
        "objects-figure": ["objects", "--json", str(tmp_path / "ok.json"), "--figure", str(a_file), "--quiet"],
        "summarize": ["summarize", "--out", str(a_file), "--quiet"],
        "import": ["import", str(agent_dir / "model.safetensors"), "--out", str(a_file)],
    }[command]
    target = {"frame": (video, "render_still"), "evaluate": (evaluate_module, "evaluate"),
              "faithfulness": (reports, "faithfulness_report"),
              "interactions": (interaction_report, "write_interaction_report"),
              "attribute": (registry, "attribute"), "attribute-npz": (registry, "attribute"),
              "whatif": (whatif, "what_if"), "whatif-video": (whatif, "what_if"),
              "report": (report, "make_report"), "objects": (objects, "object_report"),
              "objects-figure": (objects, "object_report"), "summarize": (summary_run, "summarize"),
              "import": (importing, "import_agent")}[command]
    calls = _spy(monkeypatch, *target)
    if command == "import":  # import takes the file to read, not --agent
        code, _, err = cli(capsys, *argv)
    else:
        code, _, err = cli(capsys, argv[0], "--agent", str(agent_dir), *argv[1:])
    assert code == 2 and not calls, err
    one_line_error(err)


def test_a_second_process_writing_the_same_output_refuses(agent_dir, tmp_path, capsys):
    from rlviz.util.safe_io import output_lock

    out = tmp_path / "eval.json"
    with output_lock(out):  # as another rlviz process holds it while it works
        code, out_text, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1",
                                  "--json", str(out), "--quiet")
    assert code == 2 and "another rlviz process is writing" in one_line_error(err)
    assert "wrote" not in out_text and not out.exists()
    code, out_text, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1",
                              "--json", str(out), "--quiet")
    assert code == 0 and json.loads(out.read_text())["episodes"] == 1  # the lock is gone afterwards
    assert not list(tmp_path.glob(".*lock"))


def test_json_output_replaces_an_existing_file_whole(agent_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    out.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(out)
    code, _, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1",
                       "--json", str(link), "--quiet")
    assert code == 0, err
    assert out.read_text() == "old" and not link.is_symlink()  # the link is replaced, its target untouched
    assert json.loads(link.read_text())["episodes"] == 1
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_ansi_escapes_in_an_agent_name_never_reach_the_terminal(agent_dir, capsys):
    edit_agent_json(agent_dir, name="\x1b[2J\x1b[31mevil\x07")
    code, out, err = cli(capsys, "evaluate", "--agent", str(agent_dir), "--episodes", "1", "--max-steps", "1", "--quiet")
    assert code == 0, err
    assert "evil" in out and "\x1b" not in out + err and "\x07" not in out + err


def test_an_error_message_is_one_printable_line(tmp_path, capsys):
    code, _, err = cli(capsys, "evaluate", "--agent", str(tmp_path / "no\nsuch\x1b[31m"))
    assert code == 2
    one_line_error(err)


def test_video_writer_leaves_the_old_file_after_an_error_and_a_playable_one_after_ctrl_c(tmp_path):
    from rlviz.present.writer import VideoWriter, read_video

    out = tmp_path / "v.mp4"
    out.write_bytes(b"the old video")
    frame = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError):
        with VideoWriter(out, fps=10) as writer:
            writer.write(frame)
            raise ValueError("a crash in the middle of the render")
    assert out.read_bytes() == b"the old video"
    with VideoWriter(out, fps=10) as writer:
        for _ in range(3):
            writer.write(frame)
        assert out.read_bytes() == b"the old video"  # frames go to a temporary file until the end
    assert len(read_video(out)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_a_second_ctrl_c_while_the_video_is_finalised_is_held_off(tmp_path, capsys):
    import signal

    from rlviz.present.writer import VideoWriter, read_video

    out = tmp_path / "v.mp4"
    writer = VideoWriter(out, fps=10)
    for _ in range(4):
        writer.write(np.full((64, 64, 3), 90, np.uint8))
    real_close = writer._writer.close  # noqa: SLF001
    sent = []

    def close_with_ctrl_c():
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)  # the terminal's second Ctrl-C arrives while ffmpeg finishes
        real_close()

    writer._writer.close = close_with_ctrl_c  # noqa: SLF001
    try:
        writer.close()
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C interrupted the finalising of the video")
    assert len(read_video(out)) == 4
    assert "second Ctrl-C is ignored" in capsys.readouterr().err


def test_a_crafted_agent_name_cannot_choose_where_the_default_report_goes(agent_dir, tmp_path, monkeypatch, capsys):
    import rlviz.present.report as report

    edit_agent_json(agent_dir, name="../../../../any/where/PWNED")
    calls: list[Path] = []

    def fake_report(agent, out, **kwargs):
        calls.append(Path(out))
        raise KeyboardInterrupt  # stop here: only where it would write matters

    monkeypatch.setattr(report, "make_report", fake_report)
    monkeypatch.chdir(tmp_path)
    cli(capsys, "report", "--agent", str(agent_dir), "--frames", "1", "--quiet")
    (out,) = calls
    assert out.parent == Path("runs") and "/" not in out.name and not out.name.startswith(".")
    assert (tmp_path / out).resolve().parent == (tmp_path / "runs").resolve()


def test_import_onto_an_existing_agent_refuses_unless_forced(agent_dir, tmp_path, capsys):
    import torch

    from rlviz.agents.loading import load_agent

    src = tmp_path / "weights.pt"
    torch.save(load_agent(agent_dir).net.state_dict(), src)
    out = tmp_path / "copy"
    code, _, err = cli(capsys, "import", str(src), "--out", str(out), "--game", "Pong")
    assert code == 0, err
    before = (out / "agent.json").read_bytes()
    code, _, err = cli(capsys, "import", str(src), "--out", str(out), "--game", "Pong", "--name", "other")
    assert code == 2 and "already holds an agent" in one_line_error(err)
    assert (out / "agent.json").read_bytes() == before
    code, _, err = cli(capsys, "import", str(src), "--out", str(out), "--game", "Pong", "--name", "other", "--force")
    assert code == 0, err
    assert json.loads((out / "agent.json").read_text())["name"] == "other"
