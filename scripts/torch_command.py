#!/usr/bin/env python3
"""Print the pip command that installs PyTorch for rlviz, and say on stderr where it comes from.

rlviz needs only a CPU build of PyTorch. On Linux, PyPI's default torch wheel is the CUDA
build (several GB), so the command uses the PyTorch CPU wheel index when that index answers
within a few seconds, and otherwise falls back to pip's configured index (with a note that the
build may then be the large CUDA one). ``scripts/setup.sh`` runs the command; ``bash
scripts/setup.sh --print-torch-command`` prints it without installing anything.

Environment: RLVIZ_TORCH (the requirement, default torch==2.13.0), RLVIZ_TORCH_INDEX (the CPU
index URL; empty to skip it), RLVIZ_TORCH_INDEX_TIMEOUT (seconds to wait for it, default 5).
Standard library only: it runs before the virtual environment has anything in it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import threading
import urllib.request

DEFAULT_REQUIREMENT = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def index_answers(url: str, timeout: float) -> tuple[bool, str]:
    """Whether ``url``/torch/ answers with HTTP 200 within ``timeout`` seconds (the whole
    look-up, name resolution included, runs in a thread so that nothing waits longer)."""
    result: list[tuple[bool, str]] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/torch/", timeout=timeout) as response:
                result.append((response.status == 200, f"HTTP {response.status}"))
        except Exception as exc:  # noqa: BLE001 - any failure means: not usable now
            result.append((False, f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        return False, f"no answer within {timeout:g} s"
    return result[0]


def torch_command(python: str, requirement: str, index: str | None, timeout: float) -> tuple[list[str], str]:
    """The pip command (a list of arguments) and one line saying which index it uses and why."""
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on"]
    if index:
        ok, why = index_answers(index, timeout)
        if ok:
            return [*command, "--index-url", index, requirement], f"PyTorch ({requirement}) from the CPU wheel index {index}"
        note = f"the PyTorch CPU wheel index {index} is not reachable ({why})"
    else:
        note = "RLVIZ_TORCH_INDEX is empty"
    return [*command, requirement], (f"PyTorch ({requirement}) from pip's default index: {note}; on Linux this may be "
                                     "the CUDA build, several GB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=".venv/bin/python", help="the interpreter whose pip installs torch")
    parser.add_argument("--lines", action="store_true", help="one argument per line (for scripts) instead of a shell line")
    args = parser.parse_args(argv)
    requirement = os.environ.get("RLVIZ_TORCH") or DEFAULT_REQUIREMENT
    index = os.environ.get("RLVIZ_TORCH_INDEX", CPU_INDEX)
    timeout = float(os.environ.get("RLVIZ_TORCH_INDEX_TIMEOUT", "5"))
    command, note = torch_command(args.python, requirement, index, timeout)
    print(note, file=sys.stderr)
    print("\n".join(command) if args.lines else shlex.join(command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
