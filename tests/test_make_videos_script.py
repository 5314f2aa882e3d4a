"""scripts/make_videos.sh writes every example under a temporary name and renames it only when
complete (an interrupted or failed step leaves the old file), and prints one line per file
with its time. Run with a stand-in for rlviz that writes its outputs instantly."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A stand-in for `rlviz`: writes "new <args>" to every --out/--json/--video path it is given,
# or, when FAIL_ON occurs in its arguments, half a file and exits 1.
STUB = """#!/usr/bin/env bash
prev=""
for a in "$@"; do
    case "$prev" in --out|--json|--video)
        if [ -n "${FAIL_ON:-}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then echo partial > "$a"; echo "boom" >&2; exit 1; fi
        echo "new $a" > "$a";;
    esac
    prev="$a"
done
"""

OLD = ["videos/demo-frame.png", "videos/demo.mp4", "videos/demo.gif", "videos/pong-highlights.mp4",
       "videos/pong-interactions.mp4", "videos/breakout-highlights.mp4", "videos/spaceinvaders-highlights.mp4",
       "videos/pong-early-vs-pong.mp4", "videos/pong-overfit-vs-control.mp4", "docs/faithfulness/hints.json",
       "videos/pong-whatif-lazy.mp4", "docs/whatif/pong-opponent-lazy.json"]


def fake_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "make_videos.sh", repo / "scripts")
    for name in ("pong", "pong-early", "pong-overfit", "pong-control", "breakout", "spaceinvaders"):
        (repo / "agents" / name).mkdir(parents=True)
    for rel in OLD:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("old\n")
    stub = repo / "fake-rlviz"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return repo


def run_script(repo: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/make_videos.sh"], cwd=repo, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "RLVIZ": str(repo / "fake-rlviz"), **env})


def test_each_example_is_written_under_a_temporary_name_then_renamed(tmp_path):
    repo = fake_repo(tmp_path)
    done = run_script(repo)
    assert done.returncode == 0, done.stderr
    for rel in OLD:
        text = (repo / rel).read_text()
        target = Path(rel)
        assert text == f"new {target.parent}/.partial-{target.name}\n", rel  # written to the temporary name
    assert not list(repo.rglob(".partial-*"))


def test_one_line_per_file_with_its_time(tmp_path):
    repo = fake_repo(tmp_path)
    out = run_script(repo).stdout
    done_lines = re.findall(r"^\[(\d+)\] (.+) done in (\d+) s$", out, flags=re.MULTILINE)
    assert len(done_lines) == 10  # the hints and what-if steps each make a JSON and a video together
    assert {t for _, line, _ in done_lines for t in line.split()} == set(OLD)
    assert re.search(r"^made 10 files in \d+ s$", out, flags=re.MULTILINE)


def test_a_failing_step_leaves_the_previous_file_and_stops(tmp_path):
    repo = fake_repo(tmp_path)
    done = run_script(repo, FAIL_ON="breakout")
    assert done.returncode != 0
    assert "videos/breakout-highlights.mp4 FAILED" in done.stderr and "boom" in done.stderr
    assert (repo / "videos/breakout-highlights.mp4").read_text() == "old\n"  # not the partial file
    assert (repo / "videos/demo.mp4").read_text().startswith("new")  # the steps before it completed
    assert (repo / "videos/spaceinvaders-highlights.mp4").read_text() == "old\n"  # the steps after it did not run
    assert not list(repo.rglob(".partial-*"))
