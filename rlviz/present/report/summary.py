"""The report's Summary tab: the agent's model card as HTML and the figures beside it.

Model cards are small Markdown files that rlviz itself writes (headings, paragraphs, lists,
tables, code blocks, bold and inline code), so a few lines of conversion suffice; everything
is HTML-escaped first, so a card cannot inject markup into the page."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r"\1", text)  # links of the card point at repo files: keep the words


def markdown_to_html(text: str) -> str:
    """A model card's Markdown as HTML: headings, paragraphs, '-' lists, '|' tables, ``` code."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : j])) + "</code></pre>")
            i = j + 1
        elif m := re.match(r"(#{1,6})\s+(.*)", line):
            level = min(len(m.group(1)) + 1, 6)  # the page has its own h1
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                    rows.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in cells) + "</tr>")
                i += 1
            out.append("<table>" + "".join(rows) + "</table>")
        elif re.match(r"\s*[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"\s*[-*]\s+", lines[i]):
                items.append("<li>" + _inline(re.sub(r"\s*[-*]\s+", "", lines[i], count=1)) + "</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        elif line.strip():
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"(#|\||```|\s*[-*]\s)", lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
        else:
            i += 1
    return "\n".join(out)


def model_card_html(agent_path: str | Path | None) -> str:
    """The card (README.md of an agent folder) as HTML, or '' where the agent has none."""
    if agent_path is None:
        return ""
    card = Path(agent_path) / "README.md"
    return markdown_to_html(card.read_text(encoding="utf-8")) if card.is_file() else ""


def copy_figures(folders: list[str | Path], out: Path) -> list[dict[str, str]]:
    """Copy the PNG figures of earlier rlviz runs (faithfulness, interactions, ...) into
    ``out``; returns [{src, caption}] with paths relative to the report folder."""
    figures = []
    out.mkdir(parents=True, exist_ok=True)
    for n, folder in enumerate(folders):
        captions = _summary_captions(Path(folder))
        for png in sorted(Path(folder).glob("*.png")):
            name = f"{n}-{png.name}"
            shutil.copyfile(png, out / name)
            caption = captions.get(png.name, f"{Path(folder).name}/{png.name}")
            figures.append({"src": f"{out.name}/{name}", "caption": caption})
    return figures


def _summary_captions(folder: Path) -> dict[str, str]:
    """Captions for the figures of an ``rlviz summarize`` folder (its summary.json), else {}."""
    try:
        doc = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if doc.get("schema") != "rlviz.summary/1":
            return {}
        return {entry["figure"]: f"What {doc['agent']} reads to choose {move} (attribution graph over "
                f"{entry['frames']} of {doc['frames']} frames, {doc['episodes']} game(s))"
                for move, entry in doc["actions"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
