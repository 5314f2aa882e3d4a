"""The README's commands, run as a newcomer runs them, leave a clone's tracked files alone.

The README's ```bash and ```python blocks are run in a temporary copy of the repository
(its tracked and new files, committed to a fresh git repository), and `git status --porcelain`
must then be empty: no tracked file modified, nothing written outside ignored places such as
runs/. To keep this test to a minute or two, every command runs in one Python process
(`rlviz.cli.main`, `exec` for the Python blocks) and is cut to small sizes by the rule below.

The rule (also in the README's Development section):
- `bash scripts/setup.sh [test] &&` in front of a command is dropped (the venv is this one;
  tests/test_setup_script.py checks setup.sh's torch command); a line that then runs the
  test suite is skipped (it is this suite).
- `bash scripts/make_videos.sh`, `bash scripts/train_agents.sh` and `rlviz train` are not run
  (minutes to hours; tests/test_make_videos_script.py and test_train*.py cover them), but
  every path they write must be under runs/ (or, for make_videos.sh, be its own output).
- sizes are cut where a flag allows: --frames to at most 8 (2 for faithfulness, 4 for hints),
  --video-frames to 4, evaluate gets --max-steps 20, bench gets --repeats 1 --frames 1;
  whatif --max-steps to 20 with one episode and --no-objects, summarize to one episode of 8
  frames, objects' background to 50 steps; `rlviz batch` is not run (its jobs are the commands
  above at larger sizes), but every job's output must be under runs/; `rlviz import` of a file
  that neither the repository nor an earlier block makes ("with your own files") is not run;
- the Python blocks run in one session, in order, as a reader's would;
  in Python blocks, frames=N to frames=4.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_SCRIPTS = ("scripts/make_videos.sh", "scripts/train_agents.sh")
FRAME_CAPS = {"faithfulness": 2, "hints": 4}


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every ```bash and ```python block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(bash|python)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)]


def bash_commands(code: str) -> list[list[str]]:
    """The commands of a bash block as argument lists (comments dropped, `\\` lines joined);
    `A && B` gives two commands."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:cut])
            words = words[cut + 1 :]
    return commands


def _flag(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def _cap(words: list[str], name: str, most: int) -> None:
    if name in words:
        k = words.index(name) + 1
        words[k] = str(min(int(words[k]), most))


def plan(commands: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """The rlviz argument lists to run (cut to small sizes) and the reasons for what is not run."""
    runs, skipped = [], []
    for words in commands:
        if words[:2] == ["bash", "scripts/setup.sh"]:
            continue  # setup: the venv is this one
        if words[:1] == ["bash"] and words[1] in SKIPPED_SCRIPTS or words[0] == "scripts/mutation.sh":
            skipped.append(" ".join(words))  # mutation.sh works in copies under /tmp; hours on 2 cores
            continue
        if words[0] == ".venv/bin/python" and words[1:3] == ["-m", "pytest"]:
            skipped.append(" ".join(words))  # the suite itself
            continue
        assert words[0] == ".venv/bin/rlviz", f"the README runs something this test does not know: {words}"
        args = words[1:]
        for flag in ("--out", "--json", "--video"):
            if (path := _flag(args, flag)) is not None:
                assert path.startswith("runs/"), f"a README command writes {path} outside runs/: {' '.join(words)}"
        command = args[0] if args else ""
        if command == "train":
            skipped.append(" ".join(words))
            continue
        if command == "import" and not args[1].startswith("runs/") and not (ROOT / args[1]).exists():
            skipped.append(" ".join(words))  # "with your own files": a file the README does not make
            continue
        if command == "batch":  # its jobs are other README commands at larger sizes; check where they write
            import tomllib

            jobs = tomllib.loads((ROOT / args[1]).read_text())["job"]
            assert all(str(job["out"]).startswith("runs/") for job in jobs), f"{args[1]} writes outside runs/"
            skipped.append(" ".join(words))
            continue
        _cap(args, "--frames", FRAME_CAPS.get(command, 8))
        _cap(args, "--video-frames", 4)
        if command == "evaluate":
            args += ["--max-steps", "20", "--quiet"]
        _cap(args, "--max-steps", 20)  # whatif
        _cap(args, "--episodes", 1 if command in ("whatif", "summarize") else 99)
        _cap(args, "--frames-per-episode", 8)  # summarize
        if command == "objects":
            args += ["--steps", "50"]  # a background from 50 steps of play instead of 1000
        if command == "whatif" and "--list" not in args:
            args += ["--no-objects"]  # object shares need a 1000-step background; rlviz objects covers it
        if command == "bench":
            for flag in ("--repeats", "--frames"):
                if flag in args:
                    del args[args.index(flag) : args.index(flag) + 2]
            args += ["--repeats", "1", "--frames", "1"]
        runs.append(args)
    return runs, skipped


def python_block(code: str) -> str:
    return re.sub(r"frames=\d+", "frames=4", code)


RUNNER = r'''
import contextlib, io, json, os, sys, traceback
from rlviz.cli import main
steps = json.load(open(sys.argv[1]))
failures = []
session = {"__name__": "__readme__"}  # the Python blocks run in one session, in order, as a reader's would
for kind, payload in steps:
    try:
        if kind == "cli":
            try:
                code = main(payload)
            except SystemExit as exc:  # --help and --version exit through argparse
                code = exc.code or 0
            if code:
                failures.append(f"rlviz {' '.join(payload)} exited {code}")
        else:
            exec(compile(payload, "README.md python block", "exec"), session)
    except Exception:
        failures.append(f"{kind} {payload!r:.200}: {traceback.format_exc()}")
print("FAILURES " + json.dumps(failures))
'''


def clone(tmp: Path) -> Path:
    """A git repository holding this working tree's tracked and new (not ignored) files."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    repo = tmp / "clone"
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)  # copies, never links: a write must not reach this tree
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run(git + cmd, cwd=repo, check=True, capture_output=True)
    return repo


def test_the_plan_follows_the_rule():
    runs, skipped = plan(bash_commands("bash scripts/setup.sh && .venv/bin/rlviz video --frames 300 --out runs/d.mp4\n"
                                       ".venv/bin/rlviz train --steps 9 --out runs/t  # comment\n"
                                       "bash scripts/make_videos.sh\n.venv/bin/rlviz evaluate --episodes 2\n"
                                       ".venv/bin/rlviz bench --repeats 3 --agent a\n"))
    assert runs == [["video", "--frames", "8", "--out", "runs/d.mp4"], ["evaluate", "--episodes", "2", "--max-steps", "20", "--quiet"],
                    ["bench", "--agent", "a", "--repeats", "1", "--frames", "1"]]
    assert skipped == [".venv/bin/rlviz train --steps 9 --out runs/t", "bash scripts/make_videos.sh"]
    with pytest.raises(AssertionError, match="outside runs/"):
        plan(bash_commands(".venv/bin/rlviz video --out videos/demo.mp4"))


def run_readme(readme: str, tmp_path: Path) -> tuple[list[str], str, Path]:
    """Run a README's blocks by the rule in a fresh clone: (failures, git status --porcelain, clone)."""
    steps = []
    for lang, code in readme_blocks(readme):
        if lang == "bash":
            steps += [("cli", args) for args in plan(bash_commands(code))[0]]
        else:
            steps.append(("python", python_block(code)))
    repo = clone(tmp_path)
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {**os.environ, "PYTHONPATH": str(repo), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "steps.json")], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=1800, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("FAILURES ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return json.loads(lines[-1][len("FAILURES "):]), status, repo


def test_a_block_that_writes_a_tracked_file_is_caught(tmp_path):
    readme = "```python\nopen('docs/architecture.md', 'a').write('x')\nopen('new.txt', 'w').write('x')\n```\n"
    failures, status, _ = run_readme(readme, tmp_path)
    assert failures == []
    assert status.splitlines() == [" M docs/architecture.md", "?? new.txt"]


def test_the_readme_commands_leave_the_tracked_files_alone(tmp_path):
    readme = (ROOT / "README.md").read_text()
    commands = {args[0] for lang, code in readme_blocks(readme) if lang == "bash" for args in plan(bash_commands(code))[0]}
    assert {"video", "frame", "interactions", "faithfulness", "evaluate", "hints", "bench"} <= commands
    failures, status, repo = run_readme(readme, tmp_path)
    assert failures == []
    assert status == "", f"the README's commands changed the clone:\n{status}"
    assert (repo / "runs").is_dir()  # they did write, where they should
