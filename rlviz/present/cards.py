"""Title, end and chapter cards: full frames of plain-language text for non-experts."""

from __future__ import annotations

import cv2
import numpy as np

from rlviz.present import colormaps
from rlviz.present.layout import BACKGROUND, MUTED
from rlviz.present.text import TextLayer, text_size

ACCENT = (240, 200, 60)
MIN_CARD_SECONDS = 2.5
WORDS_PER_SECOND = 3.0  # a comfortable reading pace for a talk audience
MAX_CARD_WORDS = 35


def card_words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def card_seconds(lines: list[str]) -> float:
    """How long a card with these texts stays: 3 words a second, never under 2.5 s."""
    return max(MIN_CARD_SECONDS, card_words(lines) / WORDS_PER_SECOND)


def fit_words(required: list[str], optional: list[str], limit: int = MAX_CARD_WORDS) -> list[str]:
    """The required texts, then each optional one (in order) that keeps the card within ``limit`` words."""
    out = list(required)
    for item in optional:
        if card_words(out + [item]) <= limit:
            out.append(item)
    return out


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


def title_lines(*, game: str, agent: str, training: str, methods: tuple[str, ...], score: float | None) -> list[str]:
    """The title card's texts, title first: who plays, what each colour means, the final score
    (of :class:`rlviz.present.video.timeline.Tally`, as the end card says)."""
    lines = ["What it looks at", f"'{agent}' plays {game}" + (f"; {training}." if training else ".")]
    if "saliency" in methods:
        lines.append("Blue fill: to choose a move; yellow lines: to judge.")
    if "lrp" in methods:
        lines.append("Red: for its move; violet: against.")
    if "interactions" in methods:
        lines.append("Boxes: regions it combines.")
    if score is not None:
        lines.append(f"Final score: {score + 0.0:+g}.")  # + 0.0: never "-0"
    return lines


def comparison_title_lines(title: str, labels: list[str], methods: tuple[str, ...]) -> list[str]:
    """A comparison's title card: its heading, who plays on each side, what the colours mean."""
    lines = [title, f"Left: {labels[0]}.", f"Right: {labels[1]}."]
    colours = title_lines(game="", agent="", training="", methods=methods, score=None)[2:]
    return fit_words(lines, colours)


def title_card(width: int, height: int, lines: list[str]) -> np.ndarray:
    """What the viewer is about to see, in plain words (``lines`` from :func:`title_lines`)."""
    return text_card(width, height, lines[0], lines[1:])


END_TITLE = "What we saw"
THUMB_LABEL = "blue: where it looked, on average"


def end_card(
    width: int,
    height: int,
    *,
    takeaways: list[str],
    rgb: np.ndarray | None = None,
    mean_actor: np.ndarray | None = None,
) -> np.ndarray:
    """Main take-aways, beside the last frame with the episode's average saliency."""
    card = text_card(width, height, END_TITLE, [])
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
        text.add((x0 + tw // 2, y0 + th + 8), THUMB_LABEL, body - 3, MUTED, "mt")
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
