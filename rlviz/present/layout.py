"""Composing one video frame: game panels with overlays, a side strip, legends and titles.

The layout is computed once from the canvas size (:func:`compute_layout`); drawing a frame
(:class:`FrameRenderer`) only pastes images and text into those rectangles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from rlviz.present import colormaps
from rlviz.present.game_words import score_text
from rlviz.present.text import TextLayer, text_size
from rlviz.util.errors import RlvizError

BACKGROUND = (18, 20, 28)
PANEL_EDGE = (70, 74, 90)
MUTED = (160, 165, 180)
HIGHLIGHT = (250, 250, 250)
CHOSEN_BAR = (0, 158, 115)  # Okabe-Ito bluish green
MIN_TEXT = 12  # px: no text is drawn smaller, at any size (14 px and up at 720p)
MIN_PANEL_W = 150  # px: the narrowest game panel whose legend still reads at MIN_TEXT (short wording)
MIN_ROW = 14  # px: the smallest action-bar row whose label still reads
MIN_CHART = 40  # px: the smallest value chart

PANEL_TITLES = {
    "saliency": "Where the agent looks",
    "lrp": "What pushed it towards this move (red) or against it (violet)",
    "interactions": "Screen regions it combines right now",
}


SHORT_TITLES = {"lrp": "Pushed it to this move (red) / against (violet)", "interactions": "Regions it combines now"}
TINY_TITLES = {"lrp": "For (red) / against (violet)", "interactions": "Regions it combines"}  # narrow panels


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def inside(self, width: int, height: int) -> bool:
        return self.x >= 0 and self.y >= 0 and self.x + self.w <= width and self.y + self.h <= height


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    header: Rect
    panels: dict[str, Rect]  # name -> rectangle of the game image
    titles: dict[str, Rect]
    legends: dict[str, Rect]
    strip: Rect
    objects: dict[str, Rect] = field(default_factory=dict)  # the line under a legend naming the map's objects

    def rects(self) -> list[Rect]:
        return [self.header, self.strip, *self.panels.values(), *self.titles.values(), *self.legends.values(),
                *self.objects.values()]


def compute_layout(width: int = 1280, height: int = 720, panels: tuple[str, ...] = ("saliency",)) -> Layout:
    """Place the game panels (210x160 aspect), their titles and legends, and the side strip."""
    if width % 2 or height % 2:
        raise RlvizError(f"video size must be even for H.264 yuv420p, got {width}x{height}; e.g. --size 1280x720")
    if width < 640 or height < 360:
        raise RlvizError(f"video size must be at least 640x360, got {width}x{height}; e.g. --size 1280x720")
    margin = max(12, width // 64)
    header_h = max(40, height // 13)
    title_h = max(24, height // 24)
    legend_h = max(56, height // 11)  # a colour bar and two lines of at least MIN_TEXT + 2 and MIN_TEXT px
    caption_h = max(14, height // 40) + 14  # the caption line under the legends (FrameRenderer.fs + 2, 8 px up)
    strip_w = max(260, width // 4)
    avail_w = width - strip_w - (len(panels) + 2) * margin

    def panel_width(rows_h: int) -> tuple[float, int, int]:
        avail_h = height - header_h - title_h - legend_h - rows_h - caption_h - margin
        scale = min(avail_h / 210, avail_w / len(panels) / 160)
        return scale, int(160 * scale) // 2 * 2, int(210 * scale) // 2 * 2

    # two lines of object names under each legend, where the panels stay wide enough for text;
    # at small sizes (640x360) the object lines are left out rather than the text shrunk
    objects_h = 2 * (max(14, height // 40) + 4) + 4
    scale, pw, ph = panel_width(objects_h)
    if pw < MIN_PANEL_W:
        objects_h = 0
        scale, pw, ph = panel_width(0)
    if pw < MIN_PANEL_W:
        raise RlvizError(
            f"at {width}x{height} each of {len(panels)} panels would be {pw} px wide, too narrow for text of at least "
            f"{MIN_TEXT} px under it; use a larger --size (e.g. 1280x720) or fewer --explain methods"
        )
    used = len(panels) * pw + (len(panels) - 1) * margin
    x0 = margin + max(0, (width - strip_w - 2 * margin - used) // 2)
    y_title = header_h + margin // 2
    y_panel = y_title + title_h
    boxes, titles, legends, objects = {}, {}, {}, {}
    for k, name in enumerate(panels):
        x = x0 + k * (pw + margin)
        titles[name] = Rect(x, y_title, pw, title_h)
        boxes[name] = Rect(x, y_panel, pw, ph)
        legends[name] = Rect(x, y_panel + ph + margin // 2, pw, legend_h)
        if objects_h:
            objects[name] = Rect(x, y_panel + ph + margin // 2 + legend_h, pw, objects_h)
    strip_x = width - strip_w - margin
    strip = Rect(strip_x, header_h + margin // 2, strip_w, height - header_h - margin - margin // 2)
    return Layout(width, height, Rect(0, 0, width, header_h), boxes, titles, legends, strip, objects)


@dataclass
class FrameView:
    """Everything drawn for one time step (the renderer never runs the network)."""

    rgb: np.ndarray
    step: int
    action: int
    probs: np.ndarray
    value: float
    score: float
    actor: np.ndarray | None = None
    critic: np.ndarray | None = None
    relevance: np.ndarray | None = None
    pairs: list | None = None  # strongest active region pairs (rlviz.explain.interactions_cnn)
    value_history: Sequence[float] = field(default_factory=list)  # up to this step (a list or an array)
    reward_history: Sequence[float] = field(default_factory=list)
    caption: str = ""
    lives: int = 0  # lives left; shown beside the score in games with lives
    lives_history: Sequence[int] = field(default_factory=list)  # lives left after each step, up to this one
    points: tuple[float, float] | None = None  # points won and lost so far in this game
    q_values: np.ndarray | None = None  # a Q-network's Q-values: the strip shows them, not a one-hot "100%"
    object_lines: dict[str, str] = field(default_factory=dict)  # panel -> "looks at: ball 62%, ..." (object_words)
    method_maps: dict[str, np.ndarray] | None = None  # method panel -> its 84x84 map (rlviz.present.method_panels)


@dataclass
class Scales:
    """Values drawn at full colour strength (per video by default)."""

    actor: float = 1.0
    critic: float = 1.0
    relevance: float = 1.0
    interactions: float = 1.0
    methods: dict[str, float] = field(default_factory=dict)  # method panel -> its full-colour value


def pairs_panel(rgb: np.ndarray, pairs: list, width: int, height: int, max_strength: float) -> np.ndarray:
    """The frame with the given region pairs drawn as linked boxes, sized to a panel."""
    from rlviz.present.interaction_figures import draw_interaction_pairs

    dimmed = colormaps.dimmed_gray(rgb)  # gray like the other maps: the white boxes own this panel
    image = draw_interaction_pairs(dimmed, pairs, scale=2, legend=False, max_strength=max_strength,
                                   palette=[colormaps.PAIR_RGB])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


INTERACTIONS_KEY = "White boxes: two places the agent's decision mixes; thicker = stronger; drawn only where both sit on objects"
INTERACTIONS_KEY_SHORT = "White boxes: places it mixes, on objects; thicker = stronger"


def _first_fitting(options: Sequence[str], size: int, width: int) -> str:
    """The first wording that fits ``width`` at ``size`` px, else the last (shortest) one."""
    return next((o for o in options if text_size(o, size)[0] <= width), options[-1])


def _wrap_lines(text: str, size: int, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and text_size(f"{lines[-1]} {word}", size)[0] <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _fit_text(text: str, size: int, width: int) -> tuple[str, int]:
    while size > MIN_TEXT and text_size(text, size)[0] > width:
        size -= 1
    return text, size


class FrameRenderer:
    """Draws :class:`FrameView` records onto a fixed layout."""

    def __init__(
        self,
        layout: Layout,
        action_names: list[str],
        *,
        title: str,
        subtitle: str = "",
        warning: str = "",
        history: int = 150,
        game: str = "",
        value_range: tuple[float, float] | None = None,
        lives: bool = False,
        q_network: bool = False,
    ) -> None:
        self.layout = layout
        self.q_network = q_network  # the strip shows Q-values relative to the best move
        self.action_names = action_names
        self.history = history
        self.game = game
        self.value_range = value_range  # one y range for the whole video; None: from each frame's history
        self.lives = lives  # the game has lives: the chart's legend explains their marker
        self.fs = max(14, layout.height // 40)  # font size of the side strip, step counter and caption
        self.background = self._static(title, subtitle, warning)

    # -- static parts, drawn once -------------------------------------------------------
    def _static(self, title: str, subtitle: str, warning: str) -> np.ndarray:
        lay = self.layout
        canvas = np.zeros((lay.height, lay.width, 3), np.uint8)
        canvas[:] = BACKGROUND
        text = TextLayer()
        hy, size = lay.header.h // 2, max(16, lay.header.h // 2)
        if warning:  # two lines: the title, and under it the warning
            hy, size = int(lay.header.h * 0.35), max(14, int(lay.header.h * 0.4))
        x = max(12, lay.width // 64)
        text.add((x, hy), title, size, anchor="lm")
        tw = text_size(title, size)[0]
        if subtitle:  # beside the title, left of the step counter; its last parts go where it does not fit
            room = lay.width - x - tw - 20 - text_size("step 000000", self.fs)[0] - 32
            parts, ssize = subtitle.split(", "), max(MIN_TEXT, size * 2 // 3)
            while len(parts) > 1 and text_size(", ".join(parts), ssize)[0] > room:
                parts.pop()
            label, ssize = _fit_text(", ".join(parts), ssize, room)
            if text_size(label, ssize)[0] <= room:
                text.add((x + tw + 20, hy), label, ssize, MUTED, "lm")
        if warning:  # left of the step counter (drawn per frame at the right)
            room = lay.width - x - text_size("step 000000", self.fs)[0] - 40
            label, wsize = _fit_text(warning, max(12, lay.header.h // 4), room)
            text.add((x, int(lay.header.h * 0.8)), label, wsize, (240, 200, 60), "lm")
        for name, rect in lay.titles.items():
            size = max(13, rect.h * 2 // 3)
            options = [PANEL_TITLES.get(name) or _method_title(name), SHORT_TITLES.get(name) or _method_short_title(name),
                       TINY_TITLES.get(name)]
            options = [o for o in options if o]
            for label in options:  # too cramped: a shorter wording reads better than smaller text
                label, tsize = _fit_text(label, size, rect.w)
                if tsize >= size * 0.8 and text_size(label, tsize)[0] <= rect.w:
                    break
            text.add((rect.x + rect.w // 2, rect.y + rect.h // 2), label, tsize, anchor="mm")
        for name, rect in lay.panels.items():
            cv2.rectangle(canvas, (rect.x - 2, rect.y - 2), (rect.x + rect.w + 1, rect.y + rect.h + 1), PANEL_EDGE, 1)
        for name, rect in lay.legends.items():
            self._legend(canvas, text, name, rect)
        s = lay.strip
        fs = self.fs
        rows = self._bars_geometry()[3]
        heading = "The agent's choice" if rows == len(self.action_names) else f"Its {rows} likeliest moves"
        if self.q_network:
            heading = "Value of each move (Q)" if rows == len(self.action_names) else f"Its {rows} best moves (Q)"
        text.add((s.x, s.y + 4), heading, fs + 2)
        text.add((s.x, self._value_top() - fs - 10), "How well it expects to do (value)", fs + 2)
        return text.draw(canvas)

    def _legend(self, canvas: np.ndarray, text: TextLayer, name: str, rect: Rect) -> None:
        """A panel's colour key. Where a panel is narrow (small sizes, many panels) the
        wording gets shorter instead of the text smaller than MIN_TEXT."""
        fs = max(MIN_TEXT + 2, rect.h // 4)
        bar_h = max(8, rect.h // 6)
        if name == "saliency":
            half = (rect.w - 10) // 2
            labels = (colormaps.LEGEND_WORDS["actor"], colormaps.LEGEND_WORDS["critic"])
            if any(text_size(label, fs - 2)[0] > half for label in labels):  # both short, never one of each
                labels = ("fill: choice", "lines: value")
            for k, kind in enumerate(("actor", "critic")):
                x = rect.x + k * (half + 10)
                canvas[rect.y + 4 : rect.y + 4 + bar_h, x : x + half] = colormaps.colour_bar(half, bar_h, kind)
                label, size = _fit_text(labels[k], fs, half)
                text.add((x, rect.y + bar_h + 8), label, size, MUTED)
        elif name == "interactions":
            lines = _wrap_lines(INTERACTIONS_KEY, fs, rect.w)
            if 4 + len(lines) * (fs + 2) > rect.h:
                lines = _wrap_lines(INTERACTIONS_KEY_SHORT, fs, rect.w)
            for k, line in enumerate(lines):
                text.add((rect.x, rect.y + 4 + k * (fs + 2)), line, fs, MUTED)
        elif name == "lrp":
            canvas[rect.y + 4 : rect.y + 4 + bar_h, rect.x : rect.x + rect.w] = colormaps.colour_bar(rect.w, bar_h, "diverging")
            y = rect.y + bar_h + 8
            room = rect.w - text_size("0", fs)[0] - 24
            ends = (colormaps.LEGEND_WORDS["against"], colormaps.LEGEND_WORDS["for"])
            if text_size(ends[0], fs)[0] + text_size(ends[1], fs)[0] > room:
                ends = ("against", "for")
            text.add((rect.x, y), ends[0], fs, colormaps.LRP_AGAINST_RGB)
            text.add((rect.x + rect.w, y), ends[1], fs, colormaps.LRP_FOR_RGB, "ra")
            text.add((rect.x + rect.w // 2, y), "0", fs, MUTED, "ma")
        elif (panel := _method_panel(name)) is not None:  # any registered method: LRP's or the actor's colours
            kind = "diverging" if panel.signed else "actor"
            canvas[rect.y + 4 : rect.y + 4 + bar_h, rect.x : rect.x + rect.w] = colormaps.colour_bar(rect.w, bar_h, kind)
            from rlviz.present.method_panels import legend_ends

            left, right = legend_ends(panel)
            text.add((rect.x, rect.y + bar_h + 8), left, fs, colormaps.LRP_AGAINST_RGB if panel.signed else MUTED)
            text.add((rect.x + rect.w, rect.y + bar_h + 8), right, fs,
                     colormaps.LRP_FOR_RGB if panel.signed else colormaps.SALIENCY_ACTOR_RGB, "ra")
            if panel.signed:  # where the colour changes, as in LRP's legend
                text.add((rect.x + rect.w // 2, rect.y + bar_h + 8), "0", fs, MUTED, "ma")

    def _bars_geometry(self) -> tuple[int, int, int, int]:
        """(top, row height, font size, rows shown) of the action bars. The strip holds, top
        to bottom: a heading, the bars, two lines, the value's title, its chart (at least
        MIN_CHART px), its step labels and two lines. Bars take up to half the strip, never rows under MIN_ROW
        px: with more actions than fit (18 in a small frame), the likeliest ones are shown."""
        s = self.layout.strip
        fs = self.fs
        top = s.y + fs + 16
        budget = s.h - (8 * fs + 62) - MIN_CHART  # height left for the bars
        shown = max(1, min(len(self.action_names), budget // MIN_ROW))
        row = min(30, fs + 8, budget // shown, max(MIN_ROW, (s.h // 2 - fs - 24) // shown))  # rest: the chart
        return top, row, fs, shown

    def _value_top(self) -> int:
        top, row, fs, shown = self._bars_geometry()
        return top + row * shown + 4 * fs + 30

    def legend_values(self, scales: Scales) -> dict[str, list[str]]:
        """The numbers under each legend, in the units of what the map measures (DESIGN 4):
        a saliency score S = 1/2 |change|^2 is shown as the change sqrt(2 S) it stands for,
        the move scores' (logits') shift at full fill and the value's shift at the critic's
        thin and thick outline (in the value chart's units); relevance as the part of
        the move score (logit; with the background reference, of its change from the empty
        playfield) one pixel carries at full colour: the maps sum to that score."""
        values: dict[str, list[str]] = {}
        if "saliency" in self.layout.legends:
            thin, thick = (short_number(np.sqrt(2 * f * scales.critic)) for f in colormaps.CRITIC_LEVELS)
            values["saliency"] = [f"scores move {short_number(np.sqrt(2 * scales.actor))}", f"value moves {thin}/{thick}"]
        if "lrp" in self.layout.legends:
            values["lrp"] = [f"-{short_number(scales.relevance)}", "move score per pixel", f"+{short_number(scales.relevance)}"]
        for name in self.layout.legends:  # method panels: the method's name between its ends
            if (panel := _method_panel(name)) is not None:
                top = short_number(scales.methods.get(name, 1.0))
                values[name] = [f"-{top}" if panel.signed else "0", panel.method, f"+{top}" if panel.signed else top]
        return values

    def _draw_legend_values(self, text: TextLayer, scales: Scales) -> None:
        for name, items in self.legend_values(scales).items():
            rect = self.layout.legends[name]
            fs = max(MIN_TEXT + 2, rect.h // 4)  # its numbers are 2 px smaller
            y = rect.y + max(8, rect.h // 6) + 8 + fs + 2
            if name == "saliency":
                half = (rect.w - 10) // 2
                for k, item in enumerate(items):  # narrow: "score .016" for "scores move .016"
                    short = item.replace("scores move ", "score ").replace("value moves ", "value ")
                    text.add((rect.x + k * (half + 10), y), _first_fitting((item, short), fs - 2, half), fs - 2, MUTED)
            else:
                text.add((rect.x, y), items[0], fs - 2, MUTED)
                room = rect.w - text_size(items[0], fs - 2)[0] - text_size(items[2], fs - 2)[0] - 16
                if text_size(items[1], fs - 2)[0] <= room:  # the unit, where it fits between the ends
                    text.add((rect.x + rect.w // 2, y), items[1], fs - 2, MUTED, "ma")
                text.add((rect.x + rect.w, y), items[2], fs - 2, MUTED, "ra")

    # -- per-frame parts ------------------------------------------------------------------
    def render(self, view: FrameView, scales: Scales) -> np.ndarray:
        frame = self.background.copy()
        text = TextLayer()
        lay = self.layout
        for name, rect in lay.panels.items():
            game = cv2.resize(view.rgb, (rect.w, rect.h), interpolation=cv2.INTER_NEAREST)
            if name == "saliency":
                image = colormaps.saliency_overlay(game, view.actor, view.critic, scales.actor, scales.critic)
            elif name == "lrp" and view.relevance is not None:
                image = colormaps.relevance_overlay(game, view.relevance, scales.relevance)
            elif name == "interactions" and view.pairs is not None:
                image = pairs_panel(view.rgb, view.pairs, rect.w, rect.h, scales.interactions)
            elif view.method_maps and view.method_maps.get(name) is not None:
                image = _method_overlay(name, game, view.method_maps[name], scales.methods.get(name, 1.0))
            else:
                image = game
            frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = image
        self._draw_legend_values(text, scales)
        self._draw_object_lines(text, view)
        self._draw_bars(frame, text, view)
        self._draw_value(frame, text, view)
        fs = self.fs
        text.add((lay.width - 16, lay.header.h // 2), f"step {view.step}", fs, MUTED, "rm")
        if view.caption:  # under the game panels, never into the side strip
            room = lay.strip.x - 2 * max(12, lay.width // 64)
            caption, size = _fit_text(view.caption, fs + 2, room)
            text.add((lay.strip.x // 2, lay.height - 8), caption, size, HIGHLIGHT, "md")
        return text.draw(frame)

    def _draw_object_lines(self, text: TextLayer, view: FrameView) -> None:
        """Each panel's object line in its rows under the legend, at the strip's size less 2
        (never under 14 px at 720p): on one row where it fits, else wrapped after a comma onto
        a second row; objects that fit on neither are left out from the end."""
        size = max(round(14 * self.layout.height / 720), self.fs - 2)
        for name, line in view.object_lines.items():
            rect = self.layout.objects.get(name)
            if rect is None or not line:
                continue
            rows: list[str] = []
            for item in line.split(", "):
                joined = f"{rows[-1]}, {item}" if rows else item
                if rows and text_size(joined + ",", size)[0] <= rect.w:
                    rows[-1] = joined
                elif text_size(item + ",", size)[0] <= rect.w and len(rows) < 2:
                    rows.append(item)
                else:
                    break
            for k, row in enumerate(rows):
                text.add((rect.x, rect.y + 2 + k * (size + 4)), row + ("," if k < len(rows) - 1 else ""), size, HIGHLIGHT)

    def _draw_bars(self, frame: np.ndarray, text: TextLayer, view: FrameView) -> None:
        s = self.layout.strip
        top, row, fs, shown = self._bars_geometry()
        label_fs = max(MIN_TEXT, min(fs, row - 2))
        label_w = min(s.w // 2, max(text_size(n, label_fs)[0] for n in self.action_names) + 12)
        bar_x, bar_w = s.x + label_w, s.w - label_w - 56
        q = None if view.q_values is None else np.asarray(view.q_values, np.float64)
        order = -np.asarray(view.probs) if q is None else -q
        likeliest = np.argsort(order, kind="stable")[:shown]
        if view.action not in likeliest:
            likeliest[-1] = view.action
        if q is not None:  # bars span the worst to the best move; the label is Q minus the best
            best, spread = float(q.max()), float(q.max() - q.min())
            lengths = (q - q.min()) / spread if spread > 0 else np.ones_like(q)
        else:
            lengths = np.asarray(view.probs, np.float64)
        for k, i in enumerate(sorted(int(a) for a in likeliest)):  # in the game's order, so rows stay put
            name, p = self.action_names[i], float(lengths[i])
            y = top + k * row
            chosen = i == view.action
            colour = CHOSEN_BAR if chosen else (110, 116, 140)
            pad = max(1, min(3, row // 6))
            cv2.rectangle(frame, (bar_x, y + pad), (bar_x + bar_w, y + row - pad), (40, 43, 56), -1)
            cv2.rectangle(frame, (bar_x, y + pad), (bar_x + int(round(bar_w * p)), y + row - pad), colour, -1)
            text.add((bar_x - 8, y + row // 2), name, label_fs, HIGHLIGHT if chosen else MUTED, "rm")
            if q is not None:
                label = "best" if q[i] == best else f"{q[i] - best:+.2f}"
            else:
                label = f"{100 * p:.0f}%"
            text.add((bar_x + bar_w + 6, y + row // 2), label, max(MIN_TEXT, label_fs - 1), MUTED, "lm")
        y = top + row * shown + 6
        text.add((s.x, y), f"chose {self.action_names[view.action]}", fs, HIGHLIGHT)
        lives = f"   lives left: {view.lives}" if view.lives > 0 else ""
        won, lost = view.points if view.points is not None else (max(view.score, 0.0), max(-view.score, 0.0))
        text.add((s.x, y + fs + 6), score_text(self.game, view.score, won, lost) + lives, fs, (235, 235, 235))

    def _chart_geometry(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the value chart's plot area, inside the strip, with
        room on the left for the y tick labels and below for the x tick labels."""
        s = self.layout.strip
        fs = self.fs
        top = self._value_top()
        tfs = self.tick_fs  # under the plot: x tick labels, the value now, the legend
        bottom = s.y + s.h - (2 * tfs + fs + 18 + tfs // 3)
        left = s.x + text_size("-0.00", tfs)[0] + 8
        return left, top, s.x + s.w - 4, bottom

    @property
    def tick_fs(self) -> int:
        return max(14, self.fs - 3)

    def _draw_value(self, frame: np.ndarray, text: TextLayer, view: FrameView) -> None:
        """The value estimate over the last ``history`` steps: y axis with labelled ticks and
        a zero line on one range for the whole video, x axis in steps, markers where rewards
        were won (green) or lost (orange) and lives lost (pink), the current step marked."""
        s = self.layout.strip
        fs, tfs = self.fs, self.tick_fs
        x0, top, x1, bottom = self._chart_geometry()
        h = bottom - top
        cv2.rectangle(frame, (x0, top), (x1, bottom), (40, 43, 56), -1)
        values = np.asarray(view.value_history[-self.history :], np.float64)
        rewards = np.asarray(view.reward_history[-self.history :], np.float64)
        lives = np.asarray(view.lives_history[-self.history :], np.int64)
        lo, hi = self.value_range or value_range(values)

        def y_of(v):
            return (bottom - (np.asarray(v, np.float64) - lo) / (hi - lo) * h).astype(np.int32)

        for tick in nice_ticks(lo, hi):
            y = int(y_of(tick))
            colour = (150, 155, 170) if tick == 0 else (62, 66, 82)
            cv2.line(frame, (x0, y), (x1, y), colour, 1 if tick else 2)
            if top + tfs // 2 + 2 <= y <= bottom - tfs // 2 - 2:  # a label never leaves the chart's height
                text.add((x0 - 6, y), f"{tick:g}", tfs, MUTED, "rm")
        first = view.step - values.size + 1  # the step of the chart's first point
        span = max(1, self.history - 1)

        def x_of(step):
            return (x0 + (np.asarray(step) - first) * (x1 - x0) / span).astype(np.int32)

        every = 50 if self.history > 100 else 25
        now_x = int(x_of(view.step))
        for tick in range((first + every - 1) // every * every, view.step + 1, every):
            x = int(x_of(tick))
            cv2.line(frame, (x, bottom), (x, bottom + 4), MUTED, 1)
            half = (text_size(str(tick), tfs)[0] + text_size("now", tfs)[0]) // 2 + 8
            if abs(x - now_x) >= half + 8 and x + half < x1:  # never under the "now" label
                text.add((x, bottom + 6), f"{tick}", tfs, MUTED, "ma")
        if values.size:
            steps = np.arange(first, view.step + 1)
            xs, ys = x_of(steps), y_of(values)
            for k in np.nonzero(rewards)[0]:
                colour = REWARD_WON if rewards[k] > 0 else REWARD_LOST
                cv2.line(frame, (int(xs[k]), top), (int(xs[k]), bottom), colour, 2)
            lost = np.zeros(lives.size, bool)
            if lives.size > 1:
                lost[1:] = lives[1:] < lives[:-1]
            for k in np.nonzero(lost)[0]:
                for y in range(top, bottom, 8):  # dashed: apart from a reward line at the same step
                    cv2.line(frame, (int(xs[k]), y), (int(xs[k]), min(bottom, y + 4)), LIFE_LOST, 2)
            cv2.polylines(frame, [np.stack([xs, ys], 1)], False, (235, 235, 235), 2, cv2.LINE_AA)
            now = int(xs[-1])
            cv2.line(frame, (now, top), (now, bottom), (120, 124, 140), 1)
            cv2.circle(frame, (now, int(ys[-1])), 5, HIGHLIGHT, -1, cv2.LINE_AA)
            text.add((min(now, x1), bottom + 6), "now", tfs, HIGHLIGHT, "ra" if now > x1 - 20 else "ma")
        y = bottom + tfs + 10
        text.add((s.x, y), f"value now: {view.value:+.2f}   (x: steps)", fs, (235, 235, 235))
        items = [("| reward won", REWARD_WON), ("| lost", REWARD_LOST)] + ([("| life lost", LIFE_LOST)] if self.lives else [])
        x = s.x
        for label, colour in items:
            text.add((x, y + fs + 4), label, tfs, colour)
            x += text_size(label, tfs)[0] + 14


@lru_cache(maxsize=64)
def _method_panel(name: str):
    """The :class:`rlviz.present.method_panels.MethodPanel` of a panel name, None for the
    built-in panels (saliency, lrp, interactions)."""
    if name in PANEL_TITLES:
        return None
    from rlviz.present.method_panels import is_method_panel, parse_method_panel

    return parse_method_panel(name) if is_method_panel(name) else None


def _method_title(name: str) -> str:
    from rlviz.present.method_panels import title

    panel = _method_panel(name)
    return title(panel) if panel is not None else name


def _method_short_title(name: str) -> str:
    """A method panel's title where the full one does not fit: the method and its target."""
    panel = _method_panel(name)
    if panel is None:
        return ""
    return panel.method if panel.target == "action" else f"{panel.method} ({panel.target})"


def _method_overlay(name: str, game: np.ndarray, values: np.ndarray, scale: float) -> np.ndarray:
    from rlviz.present.method_panels import overlay

    return overlay(game, values, scale, _method_panel(name).signed)


REWARD_WON = (0, 158, 115)  # Okabe-Ito bluish green
REWARD_LOST = (213, 94, 0)  # Okabe-Ito vermilion
LIFE_LOST = (204, 121, 167)  # Okabe-Ito reddish purple


def short_number(v: float) -> str:
    """Two significant digits without a leading zero or an exponent where it can: 0.36 ->
    '.36', 180 -> '180', 0.0046 -> '.0046', 1.2e-05 -> '1.2e-05' (legends are narrow)."""
    text = f"{float(v):.2g}"
    if "e" in text and 1e-4 <= abs(v) < 1e6:
        text = f"{float(v):.{max(0, 1 - int(np.floor(np.log10(abs(v)))))}f}" if abs(v) < 1 else f"{float(v):.0f}"
    return text[1:] if text.startswith("0.") else text


def value_range(values) -> tuple[float, float]:
    """The value chart's y range: every value of the video and zero, with a margin."""
    v = np.asarray(values, np.float64)
    lo, hi = min(0.0, float(v.min(initial=0.0))), max(0.0, float(v.max(initial=0.0)))
    pad = max(0.05, 0.08 * (hi - lo))
    return lo - pad, hi + pad


def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi], zero among them when it is inside."""
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return [0.0]
    raw = span / max(1, most)
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = np.ceil(lo / step) * step
    ticks = [round(float(t), 10) for t in np.arange(first, hi + 1e-9, step)]
    return [0.0 if abs(t) < step * 1e-6 else t for t in ticks]
