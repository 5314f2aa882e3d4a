"""The what-if video: the unedited and the edited game side by side from the same start.

One agent, two envs (its own, and the same pipeline with the edit), both reset with the same
seed. Each column is played, explained and replayed by the video pipeline's passes
(:mod:`rlviz.present.video`) and drawn by the comparison layout
(:mod:`rlviz.present.compare_layout`); this module only adds the cards that state the edit and
its result. A column whose episode ends first holds its last frame.

Example:
    >>> make_whatif_video(agent, "opponent-frozen", "videos/pong-whatif.mp4", result=what_if(agent, "opponent-frozen"))
"""

from __future__ import annotations

import time
from pathlib import Path

from rlviz.agents.agent import Agent
from rlviz.assess.whatif import WhatIfResult
from rlviz.assess.whatif_objects import parse_whatif_edit
from rlviz.play.edits import Edit, edited_env, original_env
from rlviz.present import cards
from rlviz.present.compare_layout import CompareRenderer
from rlviz.present.game_words import action_labels
from rlviz.present.layout import compute_layout
from rlviz.present.video.explain_pass import (
    explain_steps,
    pair_background,
    video_scales,
)
from rlviz.present.video.play_pass import record
from rlviz.present.video.records import VideoResult, parse_explain
from rlviz.present.video.render_pass import put_card, views, write_columns
from rlviz.present.video.timeline import Card
from rlviz.present.writer import VideoWriter, check_output_path
from rlviz.util.errors import RlvizError


HEADING_WORDS = 16  # a longer edit description is named by its short form on the title card


def heading(edit: Edit) -> str:
    """The title card's heading: "What if <the edit in words>?", or its short name where the words
    would leave no room on a card of ``cards.MAX_CARD_WORDS`` (the end card says it in full)."""
    if len(edit.says.split()) <= HEADING_WORDS:
        return f"What if {edit.says}?"
    return f"What if we edit {'its view' if edit.kind == 'view' else 'the game'} ({edit.text})?"


def title_lines(agent: Agent, edit: Edit, scores: tuple[float, float], steps: tuple[int, int], seed: int,
                result: WhatIfResult | None, start: int = 0) -> list[str]:
    """The title card's paragraphs after its heading ("What if ...?"): the measured result
    first, then what the two columns show, as many as keep the card within
    ``cards.MAX_CARD_WORDS`` words with the heading (a long edit leaves room for fewer)."""
    required = [heading(edit)]
    if edit.kind == "view":
        required.append("Only the agent's view is edited; the game is unchanged.")
    if result is not None:
        s = result.stats
        verdict = "" if len(result.seeds) < 2 else (
            "; beyond chance (95% interval)" if s.ci_excludes_zero else "; could be chance (95% interval)")
        games = "game" if len(result.seeds) == 1 else "games"
        required.append(f"Mean score {s.original_mean:+.1f} unedited, {s.edited_mean:+.1f} edited, "
                        f"over {len(result.seeds)} {games}{verdict}.")
    shown = f"moves {start} to {max(steps) - 1}" if start else f"the first {max(steps)} moves"
    optional = [f"Left: the game as agent '{agent.name}' learned it; right: edited. Blue: where it looks.",
                f"Shown: {shown} from seed {seed}, ending {scores[0]:+g} unedited, {scores[1]:+g} edited."]
    return cards.fit_words(required, optional)[1:]


def make_whatif_video(
    agent: Agent,
    edit: str | Edit,
    out: str | Path,
    *,
    result: WhatIfResult | None = None,
    frames: int = 300,
    start: int = 0,
    seed: int = 0,
    explain: str | tuple[str, ...] = ("saliency",),
    fps: float = 30.0,
    size: tuple[int, int] = (1280, 720),
    batch: int = 8,
    progress: bool = True,
) -> VideoResult:
    """Play ``agent`` for up to ``frames`` steps from ``reset(seed)`` in its own game and in the
    edited one, explain both and write them side by side, between a title card (the edit and
    ``result``'s headline) and an end card (``result``'s summary). ``start=K`` plays the first K
    steps unseen and shows the ``frames`` steps after them."""
    parsed = parse_whatif_edit(edit, agent) if isinstance(edit, str) else edit
    explain = parse_explain(explain)
    if frames < 1 or start < 0:
        raise RlvizError(f"frames must be at least 1 and start at least 0, got {frames} and {start}")
    compute_layout(*size)  # refuse a bad size before any work
    path = check_output_path(out)
    envs = [original_env(agent), edited_env(agent, parsed)]
    began = time.time()
    all_steps, all_records = [], []
    try:
        bg = pair_background(agent, explain, progress=progress)
        for env in envs:
            steps, cut = record(agent, env, seed=seed, frames=start + frames, progress=progress)
            if cut or not steps:
                raise RlvizError("interrupted while playing; nothing was written")
            shown = list(range(start, len(steps))) or [len(steps) - 1]  # an episode over before start: its last frame
            explained, cut = explain_steps(agent, env, steps, shown, explain, seed=seed, batch=batch, progress=progress,
                                           background=bg)
            if cut:
                raise RlvizError("interrupted while explaining; nothing was written")
            all_steps.append(steps)
            all_records.append(dict(zip(shown, explained)))
        game = agent.env_spec.game
        scores = (all_steps[0][-1].score, all_steps[1][-1].score)
        labels = ["unedited game", f"edited: {parsed.text}"]
        moves = action_labels(game, agent.action_names)  # the game's words: UP, serve, ... (the JSON keeps ALE's)
        renderer = CompareRenderer(*size, labels, [moves] * 2, explain, f"{game}: what if {parsed.says}?")
        scales = [video_scales(list(r.values())) for r in all_records]
        iters = [views(agent, e, s, r, seed=seed, captions=None, batch=batch) for e, s, r in zip(envs, all_steps, all_records)]
        length = max(len(r) for r in all_records)
        w, h = size
        shown_cards: list[Card] = []
        with VideoWriter(path, fps=fps) as writer:
            title = heading(parsed)
            lines = title_lines(agent, parsed, scores, (len(all_steps[0]), len(all_steps[1])), seed, result, start)
            put_card(writer, "title", [title, *lines], cards.text_card(w, h, title, lines, footer="made with rlviz whatif"),
                     fps, shown_cards)
            written, interrupted = write_columns(writer, renderer, iters, scales, length, over="video part over",
                                                 progress=progress)
            if result is not None and not interrupted:
                summary = result.summary(methods=("saliency-actor",)).splitlines()[1:]
                # the difference and its interval first (the means are on the title card), then what fits
                lines = cards.fit_words(["What changed", *summary[1:2]], summary[:1] + summary[2:])[1:]
                put_card(writer, "end", ["What changed", *lines],
                         cards.text_card(w, h, "What changed", lines, footer="made with rlviz whatif"), fps, shown_cards)
    finally:
        for env in envs:
            env.close()
    return VideoResult(path=path, frames=written, score=scores[1], seconds=time.time() - began, interrupted=interrupted,
                       timeline={"cards": [{"kind": c.kind, "seconds": c.seconds, "words": c.words, "lines": c.lines}
                                           for c in shown_cards]})
