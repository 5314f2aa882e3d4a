"""Rewrite docs/methods.md from the method registry (what `rlviz methods` prints).

Run it after changing a method, an option, a default or a help text:
    .venv/bin/python scripts/write_methods_reference.py
tests/test_methods_reference.py fails while the page and the registry disagree.
"""

from __future__ import annotations

from pathlib import Path

from rlviz.explain.registry import methods_table

PAGE = Path(__file__).resolve().parent.parent / "docs" / "methods.md"
HEAD = """# Explanation methods and their options

Every method rlviz can draw, rank or compare, as `rlviz methods` lists them: the name to give
`--explain`, `--methods` or `rlviz.attribute(agent, obs, method=...)`, the shape of its maps and how they are
ranked, the targets it explains, a line on what it computes (with its paper), and each option
with its default (set one as `METHOD:OPTION=VALUE`, e.g. `deeplift:target=contrast`).

This page is written by `scripts/write_methods_reference.py` from the registry itself; a test
keeps the two equal.

```text
"""


def page() -> str:
    return HEAD + methods_table().rstrip("\n") + "\n```\n"


if __name__ == "__main__":
    PAGE.write_text(page())
    print(f"wrote {PAGE}")
