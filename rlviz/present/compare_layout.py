"""Side-by-side layout for comparing two agents (or two checkpoints) on the same game."""

from __future__ import annotations

import cv2
import numpy as np

from rlviz.present import colormaps
from rlviz.present.layout import (
    BACKGROUND,
    CHOSEN_BAR,
    MIN_TEXT,
    MUTED,
    PANEL_EDGE,
    FrameView,
    Scales,
    pairs_panel,
)
from rlviz.present.text import TextLayer, text_size
from rlviz.util.errors import RlvizError


class CompareRenderer:
    """Two columns, one per agent: its name, its game panels, its choice, value and score."""

    def __init__(self, width: int, height: int, labels: list[str], action_names: list[list[str]], panels: tuple[str, ...], title: str,
                 verbs: tuple[str, str] = ("chose", "chose")) -> None:
        if width % 2 or height % 2:
            raise RlvizError(f"video size must be even, got {width}x{height}; e.g. --size 1280x720")
        self.width, self.height = width, height
        self.labels, self.action_names, self.panels = labels, action_names, panels
        self.verbs = verbs  # per column: "chose", or "would choose" for an agent explained on the other's frames
        self.margin = max(12, width // 64)
        self.header = max(40, height // 13)
        self.fs = max(13, height // 42)
        col_w = (width - 3 * self.margin) // 2
        avail_h = height - self.header - 2 * self.fs - 4 * self.fs - 2 * self.margin
        n = len(panels)
        scale = min(avail_h / 210, (col_w - (n - 1) * self.margin) / n / 160)
        self.pw, self.ph = int(160 * scale) // 2 * 2, int(210 * scale) // 2 * 2
        self.columns = [self.margin + k * (col_w + self.margin) for k in range(2)]
        self.col_w = col_w
        self.top = self.header + 2 * self.fs
        self.background = self._static(title)

    def panel_boxes(self, column: int) -> list[tuple[int, int, int, int]]:
        n = len(self.panels)
        used = n * self.pw + (n - 1) * self.margin
        x0 = self.columns[column] + (self.col_w - used) // 2
        return [(x0 + k * (self.pw + self.margin), self.top, self.pw, self.ph) for k in range(n)]

    def _static(self, title: str) -> np.ndarray:
        canvas = np.zeros((self.height, self.width, 3), np.uint8)
        canvas[:] = BACKGROUND
        text = TextLayer()
        text.add((self.width // 2, self.header // 2), title, max(16, self.header // 2), anchor="mm")
        for c, label in enumerate(self.labels):
            text.add((self.columns[c] + self.col_w // 2, self.header + self.fs // 2), label, self.fs + 2, anchor="mt")
            for x, y, w, h in self.panel_boxes(c):
                cv2.rectangle(canvas, (x - 2, y - 2), (x + w + 1, y + h + 1), PANEL_EDGE, 1)
        legend = "blue fill: looks to choose a move   yellow lines: to judge its chances"
        if "lrp" in self.panels:
            legend += "   red/violet: for/against the move"
        if "interactions" in self.panels:
            legend += "   white boxes: regions it combines"
        size = self.fs - 1
        while size > MIN_TEXT and text_size(legend, size)[0] > self.width - 2 * self.margin:
            size -= 1
        lines = [legend] if text_size(legend, size)[0] <= self.width - 2 * self.margin else legend.split("   ", 1)
        for k, line in enumerate(reversed(lines)):  # two lines where one would be under MIN_TEXT px
            text.add((self.width // 2, self.height - self.margin // 2 - k * (size + 4)), line, size, MUTED, "md")
        return text.draw(canvas)

    def render(self, views: list[FrameView | None], scales: list[Scales], finished: list[str]) -> np.ndarray:
        frame = self.background.copy()
        text = TextLayer()
        for c, view in enumerate(views):
            boxes = self.panel_boxes(c)
            if view is None:
                continue
            for name, (x, y, w, h) in zip(self.panels, boxes):
                game = cv2.resize(view.rgb, (w, h), interpolation=cv2.INTER_NEAREST)
                if name == "saliency":
                    image = colormaps.saliency_overlay(game, view.actor, view.critic, scales[c].actor, scales[c].critic)
                elif name == "lrp" and view.relevance is not None:
                    image = colormaps.relevance_overlay(game, view.relevance, scales[c].relevance)
                elif name == "interactions" and view.pairs is not None:
                    image = pairs_panel(view.rgb, view.pairs, w, h, scales[c].interactions)
                else:
                    image = game
                frame[y : y + h, x : x + w] = image
            y = self.top + self.ph + self.margin
            names = self.action_names[c]
            p = float(view.probs[view.action])
            lines = [f"{self.verbs[c]} {names[view.action]} ({100 * p:.0f}% sure)",
                     f"value {view.value:+.2f}    score {view.score:+g}    step {view.step}"]
            widest = max(text_size(line, self.fs)[0] for line in lines)
            # under the panels, moved left where a long line would leave its column
            x = max(self.columns[c], min(boxes[0][0], self.columns[c] + self.col_w - widest))
            text.add((x, y), lines[0], self.fs, CHOSEN_BAR)
            text.add((x, y + self.fs + 6), lines[1], self.fs, (230, 230, 235))
            if finished[c]:
                text.add((self.columns[c] + self.col_w // 2, self.top + self.ph // 2), finished[c], self.fs + 4, (240, 200, 60), "mm")
        return text.draw(frame)
