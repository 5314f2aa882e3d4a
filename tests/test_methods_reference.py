"""docs/methods.md is the registry's own listing: a method, option, default or help text
changed in the code and not in the page fails here (regenerate the page with the script)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rlviz.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("write_methods_reference", ROOT / "scripts" / "write_methods_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_methods_page_is_what_rlviz_methods_prints(capsys) -> None:
    assert main(["methods"]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    page = (ROOT / "docs" / "methods.md").read_text()
    listing = page.split("```text\n", 1)[1].rsplit("\n```", 1)[0]
    assert listing == printed, "docs/methods.md is out of date: run .venv/bin/python scripts/write_methods_reference.py"
    assert page == _script().page()
    for name in ("saliency-actor", "lrp-epsilon-gamma-box", "integrated-gradients", "gradcam"):
        assert f"\n{name}  ->  " in page
