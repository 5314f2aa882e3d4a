"""The end-to-end path: play an agent, explain its frames, render and write the video.

Three passes keep memory flat in video length and let brightness be normalised over the
whole video:
1. play the episode greedily, keeping only small records (action, value, logits, reward);
2. replay it and explain the frames that will be shown (all of them, or the clips around
   key moments), keeping the 17x17 saliency scores (in a temporary file), the LRP scale
   and the active pairs;
3. replay it again to get the RGB frames back (LRP maps are recomputed here, cheaply), draw
   each frame and stream it into the video file.
Ctrl-C while explaining or rendering still finalises a playable video of the frames
explained so far; Ctrl-C while playing explains and renders the steps played so far.

Example:
    >>> result = make_video(load_agent("agents/pong-early"), "videos/pong.mp4", frames=300)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rlviz import moments
from rlviz.agent import Agent
from rlviz.errors import RlvizError
from rlviz.explain.perturbation import grid_centres, grid_to_map, perturbation_saliency
from rlviz.gridstore import GridStore
from rlviz.heap import release_free_memory
from rlviz.render import cards
from rlviz.render.layout import FrameRenderer, FrameView, Scales, compute_layout
from rlviz.render.video import VideoWriter, check_output_path
from rlviz.rollout import Step, env_for, play, replay_frames

EXPLANATIONS = ("saliency", "lrp", "interactions")
PAIRS_SHOWN = 3  # strongest active region pairs drawn per frame
CARD_SECONDS = 2.5


@dataclass(slots=True)
class ExplainedStep:
    step: Step
    grids: GridStore | None = None  # where the (actor, critic) saliency grids are kept
    grid_index: int = -1
    relevance_scale: float | None = None  # 99.5th percentile of |LRP|; the map is redrawn on replay
    pairs: list | None = None  # strongest active region pairs for the chosen action

    def saliency_grids(self) -> np.ndarray | None:
        """The [2, 17, 17] (actor, critic) grids, in one read from the store; None without saliency."""
        return self.grids[self.grid_index] if self.grids is not None else None


@dataclass
class VideoResult:
    path: Path
    frames: int  # game frames written (cards not counted)
    score: float
    seconds: float
    interrupted: bool = False
    scales: dict[str, float] = field(default_factory=dict)
    moments: list[moments.Moment] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")


def parse_explain(explain: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """'saliency,lrp' -> ('saliency', 'lrp'), validated."""
    items = tuple(s.strip() for s in (explain.split(",") if isinstance(explain, str) else explain) if s.strip())
    unknown = [s for s in items if s not in EXPLANATIONS]
    if unknown or not items:
        raise RlvizError(f"unknown explanation(s) {', '.join(unknown or items) or '(none)'}; choose from {', '.join(EXPLANATIONS)}")
    return items


def agent_label(agent: Agent) -> tuple[str, str, str]:
    """(title, subtitle, warning) for the header of a video of this agent."""
    prov = agent.metadata.get("provenance", {}) or {}
    steps = prov.get("steps")
    title = f"{agent.env_spec.game}: agent '{agent.name}'"
    subtitle = ""
    if steps:
        subtitle = f"{prov.get('algorithm', 'trained').split(' ')[0]}, {steps / 1e6:.2g}M training steps"
    evaluation = agent.metadata.get("evaluation") or {}
    if "mean" in evaluation:
        subtitle += f", mean score {evaluation['mean']:+.1f}"
    source = agent.metadata.get("source") or {}
    if not steps and source:
        subtitle = f"imported from {source.get('format', 'a file')}" + (f" ({source['algorithm']})" if source.get("algorithm") else "")
    warning = "" if steps or source else "UNTRAINED network (random weights): the maps show what an untrained net reacts to"
    return title, subtitle, warning


def training_text(agent: Agent) -> str:
    prov = agent.metadata.get("provenance", {}) or {}
    steps = prov.get("steps")
    hints = (agent.metadata.get("hints") or {}).get("source")
    if steps:
        with_hints = {"expert": ", with the expert's hints", "random": ", with random hints"}.get(hints, "")
        return f"{prov.get('algorithm', 'RL').split(' ')[0]} for {steps / 1e6:.2g} million steps{with_hints}"
    source = agent.metadata.get("source") or {}
    return f"imported from {source['format']}" if source.get("format") else ""


# ---- pass 1: play ------------------------------------------------------------------------
def record(agent: Agent, env, *, seed: int, frames: int, episodes: int = 1, progress: bool = True) -> tuple[list[Step], bool]:
    """Play greedily; returns the steps and whether Ctrl-C cut the play short."""
    steps: list[Step] = []
    bar = tqdm(total=frames, unit="step", desc="playing", disable=not progress, leave=False)
    try:
        for step in play(agent, env, seed=seed, max_steps=frames, episodes=episodes):
            step.obs = None  # memory stays flat in video length: replays bring observations back
            steps.append(step)
            bar.update(1)
    except KeyboardInterrupt:
        return steps, True
    finally:
        bar.close()
    return steps, False


# ---- pass 2: explain ---------------------------------------------------------------------
def _explain_batch(
    agent: Agent, batch: list[Step], obs: np.ndarray, explain: tuple[str, ...], saliency_frames: str, grids: GridStore
) -> list[ExplainedStep]:
    out = [ExplainedStep(s) for s in batch]
    if "saliency" in explain:
        sal = perturbation_saliency(agent, obs, frames=saliency_frames)
        for k, e in enumerate(out):
            e.grids, e.grid_index = grids, grids.append(np.stack([sal.actor_grid[k], sal.critic_grid[k]]))
    if "lrp" in explain:
        from rlviz.explain.lrp import lrp

        rel = lrp(agent, obs, target="action").sum(axis=1)
        for k, e in enumerate(out):
            e.relevance_scale = _relevance_scale(rel[k])
    if "interactions" in explain:
        from rlviz.explain.interactions_cnn import frame_interactions

        actions = np.array([s.action for s in batch])
        for a in np.unique(actions):  # pairs for the action each frame chose
            idx = np.nonzero(actions == a)[0]
            for k, pairs in zip(idx, frame_interactions(agent, obs[idx], action=int(a), top_k=PAIRS_SHOWN)):
                out[k].pairs = pairs
    return out


def explain_steps(
    agent: Agent,
    env,
    steps: list[Step],
    chosen: list[int],
    explain: tuple[str, ...],
    *,
    seed: int,
    batch: int = 8,
    saliency_frames: str = "all",
    progress: bool = True,
) -> tuple[list[ExplainedStep], bool]:
    """Replay the episode and explain the ``chosen`` steps in batches; returns the records
    (in the order of ``chosen``) and whether Ctrl-C stopped it."""
    records: list[ExplainedStep] = []
    grids = GridStore()  # on disk: memory stays flat in video length (rlviz.gridstore)
    wanted = set(chosen)
    pending: list[tuple[Step, np.ndarray]] = []
    bar = tqdm(total=len(wanted), unit="frame", desc="explaining", disable=not progress, leave=False)

    def flush() -> None:
        records.extend(_explain_batch(agent, [p[0] for p in pending], np.stack([p[1] for p in pending]), explain, saliency_frames, grids))
        bar.update(len(pending))
        pending.clear()
        release_free_memory()  # keeps memory flat in video length (rlviz.heap)

    try:
        if wanted:
            for k, (_, obs) in enumerate(replay_frames(env, steps[: max(wanted) + 1], seed=seed, render=False)):
                if k in wanted:
                    pending.append((steps[k], obs))
                    if len(pending) == batch:
                        flush()
            if pending:
                flush()
    except KeyboardInterrupt:
        return records, True
    finally:
        bar.close()
    return records, False


BRIGHT_FRAMES = 95.0  # percentile over frames that sets a video's colour scale


def _robust_top(per_frame: list[float]) -> float:
    """The BRIGHT_FRAMES-th percentile of per-frame peaks (a value that occurs): the brightest
    few frames saturate instead of one outlier frame dimming all the others. Measured on
    Breakout: per-frame saliency peaks have a median of 4 and a maximum of 104."""
    return float(np.percentile(per_frame, BRIGHT_FRAMES, method="higher"))


def video_scales(records: list[ExplainedStep]) -> Scales:
    """One brightness scale per map type for the whole video, from the frames' peaks (the
    largest saliency score; the 99.5th percentile of |relevance|, as LRP maps are peaky):
    the 95th percentile of those over the frames, so a rare outlier frame saturates."""
    actor, critic = [], []  # per-frame peaks: the grids are read back one record at a time
    for r in records:
        if (grids := r.saliency_grids()) is not None:
            actor.append(float(grids[0].max()))
            critic.append(float(grids[1].max()))
    rel = [r.relevance_scale for r in records if r.relevance_scale is not None]
    pairs = [p.strength for r in records if r.pairs for p in r.pairs]
    return Scales(
        actor=_robust_top(actor) if actor else 1.0,
        critic=_robust_top(critic) if critic else 1.0,
        relevance=_robust_top(rel) if rel else 1.0,
        interactions=max(pairs) if pairs else 1.0,
    )


def frame_scales(record: ExplainedStep) -> Scales:
    return video_scales([record])


def _relevance_scale(relevance: np.ndarray) -> float:
    return float(np.percentile(np.abs(relevance), 99.5))


def maps_of(record: ExplainedStep, size: int = 84) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(actor, critic) 84x84 saliency maps of one record."""
    grids = record.saliency_grids()
    if grids is None:
        return None, None
    centres = grid_centres(size)
    return grid_to_map(grids[0], size, centres), grid_to_map(grids[1], size, centres)


# ---- pass 3: render ----------------------------------------------------------------------
def _selection(n: int, key: list[moments.Moment], before: int, after: int) -> list[int]:
    keep: set[int] = set()
    for m in key:
        keep.update(range(max(0, m.step - before), min(n, m.step + after + 1)))
    return sorted(keep)


def _views(
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


def make_video(
    agent: Agent,
    out: str | Path,
    *,
    game: str | None = None,
    frames: int = 300,
    seed: int = 0,
    episodes: int = 1,
    explain: str | tuple[str, ...] = ("saliency",),
    normalize: str = "video",
    saliency_frames: str = "all",
    highlights: int = 0,
    captions: bool = True,
    title_cards: bool = True,
    fps: float = 30.0,
    size: tuple[int, int] = (1280, 720),
    batch: int = 8,
    progress: bool = True,
) -> VideoResult:
    """Play ``agent`` greedily for up to ``frames`` steps from ``reset(seed)``, explain the
    frames and write an annotated video to ``out`` (.mp4 or .gif). ``episodes=E`` plays up to
    E episodes one after another (seeds seed, seed + 1, ...) within the ``frames`` steps.

    ``highlights=K`` keeps only clips around the K key moments (value drops and rises,
    rewards, sudden changes of policy), each introduced by a caption card and slowed down at
    its key frame. ``captions`` adds plain-language captions at rewards and sharp value
    changes; ``title_cards`` adds a title card and an end card with take-aways.
    """
    explain = parse_explain(explain)
    if normalize not in ("video", "frame"):
        raise RlvizError(f"normalize must be 'video' or 'frame', got {normalize!r}")
    if frames < 1:
        raise RlvizError(f"frames must be at least 1, got {frames}")
    if highlights < 0:
        raise RlvizError(f"highlights must be 0 (off) or a positive count, got {highlights}")
    path = check_output_path(out)
    layout = compute_layout(*size, panels=explain)
    env = env_for(agent, game)  # checks observation shape and action count before any work
    start = time.time()
    try:
        steps, interrupted = record(agent, env, seed=seed, frames=frames, episodes=episodes, progress=progress)
        if not steps:
            raise RlvizError("interrupted before the agent played a step; nothing was written")
        values = np.array([s.value for s in steps])
        rewards = np.array([s.reward for s in steps])
        lives = np.array([s.lives for s in steps])
        starts = episode_starts(steps)
        key: list[moments.Moment] = []
        if highlights:
            key = moments.key_moments(values, rewards, np.stack([s.logits for s in steps]), lives, k=highlights, starts=starts)
            chosen = _selection(len(steps), key, before=int(1.5 * fps), after=int(1.0 * fps))
        else:
            chosen = list(range(len(steps)))
        # also after Ctrl-C while playing: the steps played so far are explained and drawn
        explained, cut = explain_steps(
            agent, env, steps, chosen, explain, seed=seed, batch=batch, saliency_frames=saliency_frames, progress=progress
        )
        interrupted = interrupted or cut
        if not explained:
            raise RlvizError("interrupted before any frame was explained; nothing was written")
        records = {chosen[k]: r for k, r in enumerate(explained)}
        scales = video_scales(explained)
        title, subtitle, warning = agent_label(agent)
        renderer = FrameRenderer(layout, agent.action_names, title=title, subtitle=subtitle, warning=warning)
        caption_track = moments.captions(values, rewards, lives, hold=int(fps), starts=starts) if captions else None
        written, interrupted = _write(
            path, fps, layout, agent, env, steps, records, seed=seed, renderer=renderer, scales=scales,
            normalize=normalize, captions=caption_track, key=key, explain=explain, title_cards=title_cards,
            progress=progress, interrupted=interrupted, batch=batch,
        )
    finally:
        env.close()
    last = steps[max(records)] if written else steps[0]
    return VideoResult(
        path=path, frames=written, score=last.score, seconds=time.time() - start, interrupted=interrupted,
        scales={"actor": scales.actor, "critic": scales.critic, "relevance": scales.relevance}, moments=key,
    )


def episode_starts(steps: list[Step]) -> tuple[int, ...]:
    """Indices of the steps that begin an episode."""
    return tuple(k for k, s in enumerate(steps) if k == 0 or s.episode != steps[k - 1].episode)


def _takeaways(agent: Agent, steps: list[Step], records: dict[int, ExplainedStep]) -> tuple[list[str], np.ndarray | None]:
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


def _write(
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
            for k, view in _views(agent, env, steps, records, seed=seed, captions=captions, batch=batch):
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
            items, mean_actor = _takeaways(agent, steps, records)
            card = cards.end_card(w, h, takeaways=items, rgb=last_rgb, mean_actor=mean_actor)
            for _ in range(card_frames):
                writer.write(card)
    return written, interrupted


def make_comparison_video(
    agents: list[Agent],
    out: str | Path,
    *,
    frames: int = 300,
    seed: int = 0,
    explain: str | tuple[str, ...] = ("saliency",),
    saliency_frames: str = "all",
    fps: float = 30.0,
    size: tuple[int, int] = (1280, 720),
    batch: int = 8,
    progress: bool = True,
    title: str | None = None,
    labels: list[str] | None = None,
) -> VideoResult:
    """Two agents side by side from the same start state (same game, same reset seed), one
    frame of each per video frame. The one whose episode ends first holds its last frame.
    ``title`` and ``labels`` (one per agent) replace the default heading and agent captions."""
    from rlviz.render.compare_layout import CompareRenderer

    if len(agents) != 2:
        raise RlvizError("a comparison needs exactly two agents")
    if labels is not None and len(labels) != 2:
        raise RlvizError(f"a comparison needs one label per agent, got {len(labels)}")
    explain = parse_explain(explain)
    compute_layout(*size)  # refuse a bad size before any work
    games = {a.env_spec.game for a in agents}
    if len(games) != 1:
        raise RlvizError(f"both agents must play the same game, got {' and '.join(sorted(games))}")
    path = check_output_path(out)
    envs = [env_for(a) for a in agents]
    start = time.time()
    all_steps, all_records, interrupted = [], [], False
    try:
        for agent, env in zip(agents, envs):
            steps, cut = record(agent, env, seed=seed, frames=frames, progress=progress)
            explained, cut2 = ([], True) if cut or not steps else explain_steps(
                agent, env, steps, list(range(len(steps))), explain, seed=seed, batch=batch,
                saliency_frames=saliency_frames, progress=progress,
            )
            interrupted = interrupted or cut or cut2
            if not explained:
                if all_steps:  # cut short on the second agent: show the first alone
                    break
                raise RlvizError("interrupted before any frame was explained; nothing was written")
            all_steps.append(steps)
            all_records.append({k: r for k, r in enumerate(explained)})
            if interrupted:
                break
        if len(all_steps) < 2:  # cut short while handling the first agent: show it alone
            all_steps.append(all_steps[0][:0])
            all_records.append({})
        if labels is None:
            labels = [f"'{a.name}'" + (f" ({training_text(a)})" if training_text(a) else " (untrained)") for a in agents]
        renderer = CompareRenderer(*size, labels, [a.action_names for a in agents], explain,
                                   title or f"{agents[0].env_spec.game}: two agents, same start")
        scales = [video_scales(list(r.values())) if r else Scales() for r in all_records]
        iters = [
            _views(a, e, s, r, seed=seed, captions=None, batch=batch) if r else iter(())
            for a, e, s, r in zip(agents, envs, all_steps, all_records)
        ]
        length = max(len(r) for r in all_records)
        last: list[FrameView | None] = [None, None]
        written = 0
        with VideoWriter(path, fps=fps) as writer:
            bar = tqdm(total=length, unit="frame", desc="rendering", disable=not progress, leave=False)
            try:
                for _ in range(length):
                    finished = ["", ""]
                    for c in range(2):
                        nxt = next(iters[c], None)
                        if nxt is not None:
                            last[c] = nxt[1]
                        elif last[c] is not None:
                            finished[c] = f"episode over: score {last[c].score:+g}"
                    writer.write(renderer.render(last, scales, finished))
                    written += 1
                    bar.update(1)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                bar.close()
    finally:
        for env in envs:
            env.close()
    return VideoResult(path=path, frames=written, score=all_steps[0][-1].score if all_steps[0] else 0.0,
                       seconds=time.time() - start, interrupted=interrupted)


def render_still(
    agent: Agent,
    out: str | Path,
    *,
    step: int = 0,
    seed: int = 0,
    explain: str | tuple[str, ...] = ("saliency",),
    size: tuple[int, int] = (1280, 720),
) -> Path:
    """One annotated frame (PNG) of step ``step`` of the seeded episode, scaled per frame."""
    import imageio.v2 as imageio

    explain = parse_explain(explain)
    if step < 0:
        raise RlvizError(f"--step must be 0 or more, got {step}")
    p = Path(out)
    if p.suffix.lower() != ".png":
        raise RlvizError(f"a still is written as PNG; give a .png file name instead of {p.name}")
    p.parent.mkdir(parents=True, exist_ok=True)
    env = env_for(agent)
    try:
        steps, _ = record(agent, env, seed=seed, frames=step + 1, progress=False)
        if len(steps) <= step:
            raise RlvizError(f"the episode ended after {len(steps)} steps; choose --step below {len(steps)}")
        explained, _ = explain_steps(agent, env, steps, [step], explain, seed=seed, progress=False)
        records = {step: explained[0]}
        title, subtitle, warning = agent_label(agent)
        renderer = FrameRenderer(compute_layout(*size, panels=explain), agent.action_names, title=title, subtitle=subtitle, warning=warning)
        captions = moments.captions([s.value for s in steps], [s.reward for s in steps], [s.lives for s in steps])
        for k, view in _views(agent, env, steps, records, seed=seed, captions=captions):
            imageio.imwrite(p, renderer.render(view, frame_scales(records[k])))
    finally:
        env.close()
    return p
