"""Pass 3: replay the episode again for its RGB frames, draw each explained step and stream
cards and frames into the video file. LRP maps are recomputed here rather than kept."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import grid_centres, grid_to_map
from rlviz.play.rollout import Step, replay_frames
from rlviz.present import cards, moments
from rlviz.present.layout import FrameView
from rlviz.present.video.explain_pass import frame_scales, maps_of
from rlviz.present.video.records import (
    CARD_SECONDS,
    ExplainedStep,
    episode_starts,
    training_text,
)
from rlviz.present.writer import VideoWriter


def select_clips(n: int, key: list[moments.Moment], before: int, after: int) -> list[int]:
    keep: set[int] = set()
    for m in key:
        keep.update(range(max(0, m.step - before), min(n, m.step + after + 1)))
    return sorted(keep)


def views(
    agent: Agent, env, steps: list[Step], records: dict[int, ExplainedStep], *, seed: int, captions: list[str] | None,
    batch: int = 8,
) -> Iterator[tuple[int, FrameView]]:
    """Replay the episode and yield (step index, view) for the explained steps.

    LRP maps are recomputed here rather than kept (memory stays flat in video length), a
    batch of ``batch`` frames per LRP pass (8 frames took 18 ms, one frame alone 8.6 ms)."""
    from rlviz.explain.lrp import lrp

    values = np.array([s.value for s in steps])  # a view's history is a slice: no copies
    rewards = np.array([s.reward for s in steps])
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step index, rgb, obs)

    def flush() -> Iterator[tuple[int, FrameView]]:
        with_lrp = [p for p in pending if records[p[0]].relevance_scale is not None]
        relevance = {}
        if with_lrp:
            maps = lrp(agent, np.stack([p[2] for p in with_lrp]), target="action").sum(axis=1)
            relevance = {p[0]: m for p, m in zip(with_lrp, maps)}
        for k, rgb, _ in pending:
            s, r = steps[k], records[k]
            actor, critic = maps_of(r, agent.env_spec.screen_size)
            probs = agent.probabilities(torch.as_tensor(s.logits)[None])[0].numpy()
            yield k, FrameView(
                rgb=rgb, step=s.step, action=s.action, probs=probs, value=s.value, score=s.score,
                actor=actor, critic=critic, relevance=relevance.get(k), pairs=r.pairs,
                value_history=values[: k + 1], reward_history=rewards[: k + 1],
                caption=captions[k] if captions else "", lives=s.lives,
            )
        pending.clear()

    for k, (rgb, obs) in enumerate(replay_frames(env, steps[: max(records) + 1], seed=seed)):
        if k in records:
            pending.append((k, rgb, obs))
            if len(pending) == batch:
                yield from flush()
    if pending:
        yield from flush()


def takeaways(agent: Agent, steps: list[Step], records: dict[int, ExplainedStep]) -> tuple[list[str], np.ndarray | None]:
    rewards = np.array([s.reward for s in steps])
    starts = episode_starts(steps)
    lives = [s.lives for s in steps]
    won = int((rewards > 0).sum())
    if max(lives) > 0:  # a game with lives: tell the lives lost, not the (absent) negative rewards
        n = int(moments.lives_lost(lives, starts).sum())
        lost = f"{n} {'life' if n == 1 else 'lives'} lost"
    else:
        lost = f"{int((rewards < 0).sum())} lost"
    if len(starts) == 1:
        items = [f"Final score {steps[-1].score:+g} after {len(steps)} moves ({won} rewards won, {lost})."]
    else:
        scores = [steps[e - 1].score for e in starts[1:]] + [steps[-1].score]
        items = [f"Scores of its {len(scores)} games: {', '.join(f'{v:+g}' for v in scores)} "
                 f"({len(steps)} moves, {won} rewards won, {lost})."]
    total, count = None, 0  # a running sum: the grids are read back one at a time
    for r in records.values():
        if (grids := r.saliency_grids()) is not None:
            total = grids[0].astype(np.float64) if total is None else total + grids[0]
            count += 1
    mean_actor = None
    if count:  # interpolation is linear: the map of the mean grid is the mean of the maps
        size = agent.env_spec.screen_size
        mean_actor = grid_to_map(total / count, size, grid_centres(size))
        i, j = np.unravel_index(int(np.argmax(mean_actor)), mean_actor.shape)
        items.append(f"To choose its moves it looked most at {cards.region_name(i, j)} of the screen.")
    try:
        from rlviz.explain.interactions_cnn import policy_interactions

        top = policy_interactions(agent, top_k=1)
    except Exception:  # noqa: BLE001 - nets without a Nature-CNN fc part have no cell analysis
        top = []
    if top and top[0].obs_boxes:
        names = []
        for x0, y0, x1, y1 in top[0].obs_boxes:
            names.append(cards.region_name((y0 + y1) / 2, (x0 + x1) / 2))
        where = f"{names[0]} with {names[1]}" if names[0] != names[1] else f"two neighbouring regions in {names[0]}"
        items.append(f"Its weights combine {where} of the screen most strongly.")
    choices = np.bincount([s.action for s in steps], minlength=len(agent.action_names))
    top = int(np.argmax(choices))
    items.append(f"Its most frequent move was {agent.action_names[top]} ({100 * choices[top] / len(steps):.0f}% of the time).")
    return items, mean_actor


def write_video(
    path, fps, layout, agent, env, steps, records, *, seed, renderer, scales, normalize, captions, key, explain,
    title_cards, progress, interrupted, batch,
) -> tuple[int, bool]:
    """Stream cards and rendered frames into the video; returns (game frames written, interrupted)."""
    w, h = layout.width, layout.height
    card_frames = int(CARD_SECONDS * fps)
    key_at = {m.step: (n, m) for n, m in enumerate(key, 1)}
    clip_starts: dict[int, int] = {}
    for m in key:  # the first explained frame of each clip gets the moment's card
        start = min((i for i in records if abs(i - m.step) <= int(1.5 * fps)), default=None)
        if start is not None and start not in clip_starts:
            clip_starts[start] = m.step
    written = 0
    last_rgb = None
    bar = tqdm(total=len(records), unit="frame", desc="rendering", disable=not progress, leave=False)
    with VideoWriter(path, fps=fps) as writer:
        try:
            if title_cards:
                card = cards.title_card(w, h, game=agent.env_spec.game, agent=agent.name, training=training_text(agent),
                                        methods=explain, score=steps[max(records)].score)
                for _ in range(card_frames):
                    writer.write(card)
            for k, view in views(agent, env, steps, records, seed=seed, captions=captions, batch=batch):
                if k in clip_starts:
                    n, m = key_at[clip_starts[k]]
                    card = cards.text_card(w, h, f"Key moment {n} of {len(key)}", [m.text, f"(step {m.step})"])
                    for _ in range(int(1.5 * fps)):
                        writer.write(card)
                frame = renderer.render(view, scales if normalize == "video" else frame_scales(records[k]))
                repeats = 3 if key and any(abs(k - m.step) <= 4 for m in key) else 1  # slow motion at key frames
                for _ in range(repeats):
                    writer.write(frame)
                written += 1
                last_rgb = view.rgb
                bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
        if title_cards and not interrupted and written:
            items, mean_actor = takeaways(agent, steps, records)
            card = cards.end_card(w, h, takeaways=items, rgb=last_rgb, mean_actor=mean_actor)
            for _ in range(card_frames):
                writer.write(card)
    return written, interrupted
