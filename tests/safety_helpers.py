"""Helpers for the safety tests: crafted agent folders, built in temporary folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlviz.cli import main


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``rlviz ARGV`` in-process; (exit status, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refusals
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    """The single ``rlviz: error:`` line of ``err``; fails if there is anything else."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rlviz: error: "), err
    assert "Traceback" not in err and "\x1b" not in err
    return lines[0]


def edit_agent_json(folder: Path, **changes: Any) -> dict:
    """Change top-level fields of ``folder/agent.json`` (a value of ``...`` deletes the field)."""
    doc = json.loads((folder / "agent.json").read_text())
    for key, value in changes.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    (folder / "agent.json").write_text(json.dumps(doc))
    return doc
