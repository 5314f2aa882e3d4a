"""Title, end and chapter cards: full frames of plain-language text for non-experts."""

from __future__ import annotations

import cv2
import numpy as np

from rlviz.present import colormaps
from rlviz.present.layout import BACKGROUND, MUTED
from rlviz.present.text import TextLayer, text_size

ACCENT = (240, 200, 60)


def _wrap(text: str, size: int, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if line and text_size(trial, size)[0] > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def text_card(width: int, height: int, title: str, lines: list[str], *, footer: str = "") -> np.ndarray:
    """A card with a large title and wrapped paragraphs, centred."""
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND
    text = TextLayer()
    big, body = max(22, height // 14), max(15, height // 30)
    y = height // 6
    for line in _wrap(title, big, int(width * 0.85)):
        text.add((width // 2, y), line, big, anchor="mt")
        y += int(big * 1.3)
    y += body
    for paragraph in lines:
        for line in _wrap(paragraph, body, int(width * 0.75)):
            text.add((width // 2, y), line, body, (220, 222, 230), "mt")
            y += int(body * 1.45)
        y += body // 2
    if footer:
        text.add((width // 2, height - body * 2), footer, body - 2, MUTED, "mt")
    return text.draw(canvas)


def title_card(width: int, height: int, *, game: str, agent: str, training: str, methods: tuple[str, ...], score: float | None) -> np.ndarray:
    """What the viewer is about to see, in plain words."""
    lines = [f"An AI agent ({agent}) playing {game}" + (f", trained by {training}." if training else ".")]
    if "saliency" in methods:
        lines.append("Blue shows where it looks to choose its move; yellow shows where it looks to judge how well it is doing.")
    if "lrp" in methods:
        lines.append("Red shows what pushed it towards the move it made, blue what argued against it.")
    if "interactions" in methods:
        lines.append("Linked boxes show pairs of screen regions the agent combines to decide.")
    if score is not None:
        lines.append(f"In this game its score is {score:+g}.")
    return text_card(width, height, "What does the agent look at?", lines, footer="made with rlviz")


def end_card(
    width: int,
    height: int,
    *,
    takeaways: list[str],
    rgb: np.ndarray | None = None,
    mean_actor: np.ndarray | None = None,
) -> np.ndarray:
    """Main take-aways, beside the last frame with the episode's average saliency."""
    card = text_card(width, height, "What we saw", [], footer="made with rlviz")
    text = TextLayer()
    body = max(15, height // 30)
    x_text = width // 12
    thumb_w = 0
    if rgb is not None:
        th = int(height * 0.6)
        tw = int(th * 160 / 210) // 2 * 2
        image = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_NEAREST)
        if mean_actor is not None:
            scale = float(mean_actor.max())
            image = colormaps.saliency_overlay(image, mean_actor, None, scale, 1.0)
        x0, y0 = width - tw - width // 12, height // 4
        card[y0 : y0 + th, x0 : x0 + tw] = image
        text.add((x0 + tw // 2, y0 + th + 8), "where it looked on average (blue)", body - 3, MUTED, "mt")
        thumb_w = tw + width // 12
    y = height // 4
    for item in takeaways:
        for k, line in enumerate(_wrap(item, body, width - 2 * x_text - thumb_w - 20)):
            text.add((x_text, y), ("-  " if k == 0 else "   ") + line, body, (225, 228, 235))
            y += int(body * 1.45)
        y += body // 2
    return text.draw(card)


def region_name(row: float, col: float, height: int = 84, width: int = 84) -> str:
    """Plain words for where (row, col) is on the screen, e.g. 'the top left'."""
    v = "top" if row < height / 3 else ("bottom" if row > 2 * height / 3 else "middle")
    h = "left" if col < width / 3 else ("right" if col > 2 * width / 3 else "centre")
    if v == "middle" and h == "centre":
        return "the centre"
    if v == "middle":
        return f"the {h} side"
    return f"the {v} {h}" if h != "centre" else f"the {v} centre"
