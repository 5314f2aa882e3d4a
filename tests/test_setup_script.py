"""scripts/setup.sh installs PyTorch from the CPU wheel index when it answers, else from pip's
default index, says which, and shows pip's progress; checked through the command it builds
(`setup.sh --print-torch-command`), which installs nothing."""

from __future__ import annotations

import http.server
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def index_server(tmp_path):
    """A local 'wheel index' with a torch/ page, standing in for download.pytorch.org/whl/cpu."""
    (tmp_path / "index" / "torch").mkdir(parents=True)
    (tmp_path / "index" / "torch" / "index.html").write_text("<html></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path / "index"), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def print_torch_command(tmp_path: Path, **env: str) -> tuple[list[str], str, float]:
    """Run `bash scripts/setup.sh --print-torch-command` in a copy of the scripts; returns the
    command's arguments, the note on stderr and the seconds it took."""
    (tmp_path / "repo" / "scripts").mkdir(parents=True, exist_ok=True)
    for name in ("setup.sh", "torch_command.py"):
        shutil.copy(ROOT / "scripts" / name, tmp_path / "repo" / "scripts" / name)
    start = time.perf_counter()
    done = subprocess.run(["bash", str(tmp_path / "repo" / "scripts" / "setup.sh"), "--print-torch-command"],
                          capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "PYTHON": sys.executable, **env})
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "repo" / ".venv").exists()  # printing installs nothing
    return shlex.split(done.stdout.strip()), done.stderr.strip(), seconds


def test_the_cpu_wheel_index_is_used_when_it_answers(tmp_path, index_server):
    command, note, _ = print_torch_command(tmp_path, RLVIZ_TORCH_INDEX=index_server)
    assert command[:4] == [".venv/bin/python", "-m", "pip", "install"]
    assert command[command.index("--index-url") + 1] == index_server
    assert command[-1] == "torch==2.13.0"
    assert "CPU wheel index" in note and index_server in note


def test_an_unreachable_index_falls_back_to_the_default_index_and_says_so(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    command, note, _ = print_torch_command(tmp_path, RLVIZ_TORCH_INDEX=url)
    assert "--index-url" not in command and command[-1] == "torch==2.13.0"
    assert "not reachable" in note and "default index" in note and "CUDA" in note


def test_an_index_that_never_answers_costs_only_the_timeout(tmp_path):
    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        command, note, seconds = print_torch_command(tmp_path, RLVIZ_TORCH_INDEX=url, RLVIZ_TORCH_INDEX_TIMEOUT="1")
    assert "--index-url" not in command and "not reachable" in note
    assert seconds < 10


def test_the_torch_install_shows_progress_and_takes_the_requested_requirement(tmp_path, index_server):
    command, _, _ = print_torch_command(tmp_path, RLVIZ_TORCH_INDEX=index_server, RLVIZ_TORCH="torch")
    assert command[-1] == "torch"
    assert "-q" not in command and "--quiet" not in command
    assert command[command.index("--progress-bar") + 1] == "on"


def test_setup_runs_the_printed_command(tmp_path):
    """setup.sh itself installs torch with the command torch_command.py builds, not a plain pip line."""
    text = (ROOT / "scripts" / "setup.sh").read_text()
    assert "scripts/torch_command.py --lines" in text
    assert "pip install \"${RLVIZ_TORCH" not in text and " -q " not in text
