"""Pass 3: replay the episode again for its RGB frames, draw each explained step and stream
cards and frames into the video file. LRP maps are recomputed here rather than kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import grid_centres, grid_to_map
from rlviz.play.rollout import Step, replay_frames
from rlviz.present import cards, moments
from rlviz.present.game_words import move_shares, moves_sentence
from rlviz.present.layout import FrameView
from rlviz.present.video.explain_pass import frame_scales, maps_of, panel_relevance
from rlviz.present.video.object_words import (
    PANEL_MAPS,
    linked_sentence,
    looks_line,
    pair_line,
    top_of,
    where_it_looked,
)
from rlviz.present.video.records import ExplainedStep, training_text
from rlviz.present.video.timeline import Card, Tally, points_so_far, tally
from rlviz.present.writer import VideoWriter


def select_clips(n: int, key: list[moments.Moment], before: int, after: int) -> list[int]:
    keep: set[int] = set()
    for m in key:
        keep.update(range(max(0, m.step - before), min(n, m.step + after + 1)))
    return sorted(keep)


def views(
    agent: Agent, env, steps: list[Step], records: dict[int, ExplainedStep], *, seed: int, captions: list[str] | None,
    batch: int = 8, bg: np.ndarray | None = None,
) -> Iterator[tuple[int, FrameView]]:
    """Replay the episode and yield (step index, view) for the explained steps.

    LRP maps are recomputed here rather than kept (memory stays flat in video length), a
    batch of ``batch`` frames per LRP pass (8 frames took 18 ms, one frame alone 8.6 ms), by
    ``panel_relevance`` with the background ``bg`` as the explain pass computed them."""
    values = np.array([s.value for s in steps])  # a view's history is a slice: no copies
    rewards = np.array([s.reward for s in steps])
    lives = np.array([s.lives for s in steps])
    points = points_so_far(steps)
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step index, rgb, obs)

    def flush() -> Iterator[tuple[int, FrameView]]:
        with_lrp = [p for p in pending if records[p[0]].relevance_scale is not None]
        relevance = {}
        if with_lrp:
            maps = panel_relevance(agent, np.stack([p[2] for p in with_lrp]), bg)
            relevance = {p[0]: m for p, m in zip(with_lrp, maps)}
        for k, rgb, _ in pending:
            s, r = steps[k], records[k]
            actor, critic = maps_of(r, agent.env_spec.screen_size)
            probs = agent.probabilities(torch.as_tensor(s.logits)[None])[0].numpy()
            yield k, FrameView(
                rgb=rgb, step=s.step, action=s.action, probs=probs, value=s.value, score=s.score,
                actor=actor, critic=critic, relevance=relevance.get(k), pairs=r.pairs,
                value_history=values[: k + 1], reward_history=rewards[: k + 1],
                caption=captions[k] if captions else "", lives=s.lives, lives_history=lives[: k + 1],
                points=(float(points[k, 0]), float(points[k, 1])),
                q_values=np.asarray(s.logits) if agent.kind == "q" else None,
                object_lines=object_lines(r),
                method_maps={name: r.method_map(name) for name in (r.method_maps or {})} or None,
            )
        pending.clear()

    for k, (rgb, obs) in enumerate(replay_frames(env, steps[: max(records) + 1], seed=seed)):
        if k in records:
            pending.append((k, rgb, obs))
            if len(pending) == batch:
                yield from flush()
    if pending:
        yield from flush()


def object_lines(record: ExplainedStep) -> dict[str, str]:
    """The lines under the panels for one explained step: its top objects per map, and the
    objects of its strongest named interaction pair; none without a background."""
    lines = {p: looks_line(top_of(shares), p) for p, shares in (record.object_shares or {}).items()}
    if record.pair_objects:
        lines["interactions"] = pair_line(record.pair_objects)
    return {p: line for p, line in lines.items() if line}


def looked_panel(explain: tuple[str, ...]) -> str | None:
    """The panel whose map the captions and the end card speak of: saliency, else LRP."""
    return next((p for p in PANEL_MAPS if p in explain), None)


def takeaways(
    agent: Agent, steps: list[Step], records: dict[int, ExplainedStep], numbers: Tally | None = None,
    explain: tuple[str, ...] = ("saliency", "lrp", "interactions"),
) -> tuple[list[str], np.ndarray | None]:
    """The end card's texts (title first, at most ``cards.MAX_CARD_WORDS`` words with the
    picture's label) and the mean actor saliency map shown beside them. The score line comes
    from ``numbers`` (the same :class:`Tally` as the title card's)."""
    numbers = numbers or tally(steps, agent.env_spec.game)
    total, count = None, 0  # a running sum: the grids are read back one at a time
    for r in records.values():
        if (grids := r.saliency_grids()) is not None:
            total = grids[0].astype(np.float64) if total is None else total + grids[0]
            count += 1
    optional = []
    mean_actor = None
    if count:  # interpolation is linear: the map of the mean grid is the mean of the maps
        size = agent.env_spec.screen_size
        mean_actor = grid_to_map(total / count, size, grid_centres(size))
        i, j = np.unravel_index(int(np.argmax(mean_actor)), mean_actor.shape)
        optional.append(f"To choose, it looked most at {cards.region_name(i, j)}.")
    panel = looked_panel(explain)
    in_objects = where_it_looked([(r.object_shares or {}).get(panel) for r in records.values()], panel) if panel else ""
    if in_objects:  # where it looked in objects, from the same shares as the strip's lines
        optional = [o for o in optional if not o.startswith("To choose, it looked most at")]
        optional.insert(0, in_objects)
    required = [cards.END_TITLE, numbers.summary()] + ([cards.THUMB_LABEL] if mean_actor is not None else [])
    linked = interactions_line(agent, records) if "interactions" in explain else ""
    # the interactions panel's line comes first where it is drawn (it is that video's subject), then
    # where it looked; the moves take what room is left, as many kinds as fit
    kept = cards.fit_words(required, [linked, *optional] if linked else optional)
    room = cards.MAX_CARD_WORDS - cards.card_words(kept)
    shares = move_shares(agent.env_spec.game, agent.action_names, [s.action for s in steps])
    moves = next((m for m in (moves_sentence(shares, most=k) for k in (3, 2, 1)) if cards.card_words([m]) <= room), None)
    items = [numbers.summary()] + [o for o in optional if o in kept] + ([moves] if moves else [])
    items += [linked] if linked and linked in kept else []
    return items, mean_actor


def interactions_line(agent: Agent, records: dict[int, ExplainedStep]) -> str:
    """The end card's interactions line: the two objects the drawn pairs joined in the most
    frames (:func:`linked_sentence`); where no drawn pair sat on named objects, the pair of
    screen regions the weights link most; "" for nets without the cell analysis."""
    linked = linked_sentence([r.pair_objects for r in records.values()])
    if linked:
        return linked
    try:
        from rlviz.explain.interactions_cnn import policy_interactions

        pairs = policy_interactions(agent, top_k=1)
    except Exception:  # noqa: BLE001 - nets without a Nature-CNN fc part have no cell analysis
        pairs = []
    if not pairs or not pairs[0].obs_boxes:
        return ""
    names = [cards.region_name((y0 + y1) / 2, (x0 + x1) / 2) for x0, y0, x1, y1 in pairs[0].obs_boxes]
    where = f"{names[0]} and {names[1]}" if names[0] != names[1] else f"two spots in {names[0]}"
    return f"Its weights link {where} most."


def write_video(
    path, fps, layout, agent, env, steps, records, *, seed, renderer, scales, normalize, captions, key, explain,
    title_cards, progress, interrupted, batch, numbers: Tally | None = None, cards_out: list[Card] | None = None,
    bg: np.ndarray | None = None,
) -> tuple[int, bool]:
    """Stream cards and rendered frames into the video; returns (game frames written, interrupted).
    Every card stays ``cards.card_seconds`` (3 words a second, at least 2.5 s); the cards
    written are appended to ``cards_out`` for the timeline."""
    w, h = layout.width, layout.height
    numbers = numbers or tally(steps, agent.env_spec.game)
    shown_cards = cards_out if cards_out is not None else []
    key_at = {m.step: (n, m) for n, m in enumerate(key, 1)}
    clip_starts: dict[int, int] = {}
    for m in key:  # the first explained frame of each clip gets the moment's card
        start = min((i for i in records if abs(i - m.step) <= int(1.5 * fps)), default=None)
        if start is not None and start not in clip_starts:
            clip_starts[start] = m.step
    written = 0
    bar = tqdm(total=len(records), unit="frame", desc="rendering", disable=not progress, leave=False)

    def put(kind: str, lines: list[str], image: np.ndarray) -> None:
        seconds = cards.card_seconds(lines)
        shown_cards.append(Card(kind, seconds, lines))
        for _ in range(round(seconds * fps)):
            writer.write(image)

    with VideoWriter(path, fps=fps, gif_width=layout.width) as writer:  # a GIF keeps --size
        try:
            if title_cards:
                lines = cards.title_lines(game=agent.env_spec.game, agent=agent.name, training=training_text(agent),
                                          methods=explain, score=numbers.score)
                put("title", lines, cards.title_card(w, h, lines))
            for k, view in views(agent, env, steps, records, seed=seed, captions=captions, batch=batch, bg=bg):
                if k in clip_starts:
                    n, m = key_at[clip_starts[k]]
                    title, body = f"Key moment {n} of {len(key)}", [m.text, f"(step {m.step})"]
                    put("key-moment", [title, *body], cards.text_card(w, h, title, body))
                frame = renderer.render(view, scales if normalize == "video" else frame_scales(records[k]))
                repeats = 3 if key and any(abs(k - m.step) <= 4 for m in key) else 1  # slow motion at key frames
                for _ in range(repeats):
                    writer.write(frame)
                written += 1
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
        if title_cards and not interrupted and written:
            items, mean_actor = takeaways(agent, steps, records, numbers, explain)
            lines = [cards.END_TITLE, *items] + ([cards.THUMB_LABEL] if mean_actor is not None else [])
            put("end", lines, cards.end_card(w, h, takeaways=items, rgb=last_frame(env, steps, seed), mean_actor=mean_actor))
    return written, interrupted


def last_frame(env, steps: list[Step], seed: int) -> np.ndarray:
    """The screen at the last played step, where the score the cards tell is reached (a
    highlights video may stop showing frames long before it)."""
    last = None
    for rgb, _ in replay_frames(env, [s for s in steps if s.episode == steps[-1].episode], seed=seed):
        last = rgb
    return last


def put_card(writer: VideoWriter, kind: str, lines: list[str], image: np.ndarray, fps: float, cards_out: list[Card]) -> None:
    """Write a card for ``cards.card_seconds(lines)`` (its words at 3 a second, at least 2.5 s)
    and note it in ``cards_out`` for the timeline."""
    seconds = cards.card_seconds(lines)
    cards_out.append(Card(kind, seconds, lines))
    for _ in range(round(seconds * fps)):
        writer.write(image)


def write_columns(
    writer: VideoWriter, renderer, iters: list, scales: list, length: int, *, over: str, progress: bool,
    on_view: Callable[[int, FrameView], None] | None = None,
) -> tuple[int, bool]:
    """Draw two columns of views side by side (:class:`rlviz.present.compare_layout.CompareRenderer`),
    ``length`` frames, one (step, view) of each iterator per frame; a column whose iterator
    ends first holds its last view under "``over``: score S". ``on_view(column, view)`` may
    change a view before it is drawn. Returns (frames written, whether Ctrl-C stopped it)."""
    last: list[FrameView | None] = [None, None]
    written, interrupted = 0, False
    bar = tqdm(total=length, unit="frame", desc="rendering", disable=not progress, leave=False)
    try:
        for _ in range(length):
            finished = ["", ""]
            for c in range(2):
                nxt = next(iters[c], None)
                if nxt is not None:
                    last[c] = nxt[1]
                    if on_view is not None:
                        on_view(c, last[c])
                elif last[c] is not None:
                    finished[c] = f"{over}: score {last[c].score:+g}"
            writer.write(renderer.render(last, scales, finished))
            written += 1
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return written, interrupted
