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

import dataclasses
import time
from pathlib import Path

import numpy as np

from rlviz.agents.agent import Agent
from rlviz.assess.objects import VIDEO_DEFAULT
from rlviz.explain.objects import background
from rlviz.play.rollout import Step, env_for, replay_frames
from rlviz.present import cards, moments
from rlviz.present.game_words import action_labels
from rlviz.present.layout import (
    FrameRenderer,
    FrameView,
    Scales,
    compute_layout,
    value_range,
)
from rlviz.present.video.explain_pass import (
    explain_steps,
    frame_scales,
    pair_background,
    video_scales,
)
from rlviz.present.video.object_words import merge_captions, object_captions, top_of
from rlviz.present.video.play_pass import record
from rlviz.present.video.records import (
    EXPLANATIONS,
    VideoResult,
    agent_label,
    episode_starts,
    parse_explain,
    training_text,
)
from rlviz.present.video.render_pass import (
    looked_panel,
    put_card,
    select_clips,
    views,
    write_columns,
    write_video,
)
from rlviz.present.video.timeline import Card, step_objects, tally, write_timeline
from rlviz.present.video.timeline import timeline as make_timeline
from rlviz.present.writer import VideoWriter, check_output_path
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import atomic_path, check_output_file


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
    timeline: str | Path | None = None,
    objects: bool = True,
) -> VideoResult:
    """Play ``agent`` greedily for up to ``frames`` steps from ``reset(seed)``, explain the
    frames and write an annotated video to ``out`` (.mp4 or .gif). ``episodes=E`` plays up to
    E episodes one after another (seeds seed, seed + 1, ...) within the ``frames`` steps.

    ``highlights=K`` keeps only clips around the K key moments (value drops and rises,
    rewards, sudden changes of policy), each introduced by a caption card and slowed down at
    its key frame. ``captions`` adds plain-language captions at rewards and sharp value
    changes; ``title_cards`` adds a title card and an end card with take-aways.
    ``explain``: panels, "saliency", "lrp", "interactions" or any registered method with its
    options ("integrated-gradients:steps=16", "deeplift@contrast"; rlviz.present.method_panels).
    ``timeline`` writes the video's timeline as JSON (also in ``VideoResult.timeline``): per
    step its score, reward, lives, value, move and caption; the key moments; the cards' texts
    and durations; and the tally the cards read their numbers from.
    ``objects`` names the game's objects (docs/objects.md): a line under each map listing the
    objects its mass lies on, captions that say where it looks where one object holds most of
    it, interaction cells named by the object they mostly hold, and the end card's "where it
    looked" in objects; it reads the agent's cached background (computed once, with a progress
    bar, when there is none) and adds each shown step's objects to the timeline.
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
            chosen = select_clips(len(steps), key, before=int(1.5 * fps), after=int(1.0 * fps))
        if not key:  # no highlights asked for, or none found in a short stretch: show every step played
            chosen = list(range(len(steps)))
        try:
            bg = video_background(agent, progress) if objects else None
        except KeyboardInterrupt:  # Ctrl-C while the background is computed: the video, without objects
            bg, interrupted = None, True
        # also after Ctrl-C while playing: the steps played so far are explained and drawn
        explained, cut = explain_steps(
            agent, env, steps, chosen, explain, seed=seed, batch=batch, saliency_frames=saliency_frames, progress=progress,
            bg=bg, background=bg if bg is not None else pair_background(agent, explain, progress=progress),
        )
        interrupted = interrupted or cut
        if not explained:
            raise RlvizError("interrupted before any frame was explained; nothing was written")
        records = {chosen[k]: r for k, r in enumerate(explained)}
        scales = video_scales(explained)
        title, subtitle, warning = agent_label(agent)
        renderer = FrameRenderer(layout, action_labels(agent.env_spec.game, agent.action_names), title=title,
                                 subtitle=subtitle, warning=warning, game=agent.env_spec.game,
                                 value_range=value_range(values), lives=bool(lives.max(initial=0) > 0),
                                 q_network=agent.kind == "q")
        caption_track = moments.captions(values, rewards, lives, hold=int(fps), starts=starts) if captions else None
        if captions and bg is not None:
            caption_track = merge_captions(caption_track, captions_about_objects(len(steps), records, explain))
        numbers = tally(steps, agent.env_spec.game)
        shown_cards: list = []
        written, interrupted = write_video(
            path, fps, layout, agent, env, steps, records, seed=seed, renderer=renderer, scales=scales,
            normalize=normalize, captions=caption_track, key=key, explain=explain, title_cards=title_cards,
            progress=progress, interrupted=interrupted, batch=batch, numbers=numbers, cards_out=shown_cards, bg=bg,
        )
    finally:
        env.close()
    data = make_timeline(steps, action_names=agent.action_names, game=agent.env_spec.game, shown=sorted(records),
                         captions=caption_track, key=key, cards=shown_cards, numbers=numbers,
                         objects={k: step_objects(r.object_shares, r.pair_objects, top_of) for k, r in records.items()
                                  if r.object_shares is not None})
    if "lrp" in explain:  # which map the relevance panel shows (explain_pass.panel_relevance)
        data["relevance_method"] = VIDEO_DEFAULT if bg is not None else "lrp-epsilon-gamma-box"
    if timeline is not None:
        write_timeline(timeline, data)
    return VideoResult(
        path=path, frames=written, score=numbers.score, seconds=time.time() - start, interrupted=interrupted,
        scales={"actor": scales.actor, "critic": scales.critic, "relevance": scales.relevance}, moments=key,
        timeline=data,
    )


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
    title_cards: bool = True,
    same_frames: bool = False,
) -> VideoResult:
    """Two agents side by side from the same start state (same game, same reset seed), one
    frame of each per video frame. The one whose episode ends first holds its last frame.
    ``title`` and ``labels`` (one per agent) replace the default heading and agent captions;
    ``title_cards`` opens with a title card and ends with each agent's score.

    ``same_frames``: only the first agent plays; the second is explained on the first one's
    observations, so both columns describe the same situation, and its column shows the move
    it would choose (its likeliest) there. Both play (the default) diverge within seconds."""
    from rlviz.present.compare_layout import CompareRenderer

    if len(agents) != 2:
        raise RlvizError("a comparison needs exactly two agents")
    if labels is not None and len(labels) != 2:
        raise RlvizError(f"a comparison needs one label per agent, got {len(labels)}")
    explain = parse_explain(explain)
    if methods := [e for e in explain if e not in EXPLANATIONS]:
        raise RlvizError(f"a comparison draws saliency, lrp and interactions; make a video of each agent for {', '.join(methods)}")
    compute_layout(*size)  # refuse a bad size before any work
    games = {a.env_spec.game for a in agents}
    if len(games) != 1:
        raise RlvizError(f"both agents must play the same game, got {' and '.join(sorted(games))}")
    if same_frames and agents[0].env_spec != agents[1].env_spec:
        raise RlvizError("--same-frames needs two agents with the same env settings (frame pipeline, frame skip, "
                         "sticky actions); these differ, so compare them playing each their own game (drop --same-frames)")
    path = check_output_path(out)
    envs = [env_for(a) for a in agents]
    start = time.time()
    all_steps, all_records, interrupted = [], [], False
    try:
        for agent, env in zip(agents, envs):
            if same_frames and all_steps:  # the second agent, on the first one's observations
                steps, cut = same_frame_steps(agent, env, all_steps[0], seed=seed), False
            else:
                steps, cut = record(agent, env, seed=seed, frames=frames, progress=progress)
            explained, cut2 = ([], True) if cut or not steps else explain_steps(
                agent, env, steps, list(range(len(steps))), explain, seed=seed, batch=batch,
                saliency_frames=saliency_frames, progress=progress,
                background=pair_background(agent, explain, progress=progress),
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
            if same_frames:
                labels[1] = f"'{agents[1].name}', on the frames of '{agents[0].name}'"
        if title is None:
            title = f"{agents[0].env_spec.game}: two agents, " + ("same frames" if same_frames else "same start")
        renderer = CompareRenderer(*size, labels, [action_labels(a.env_spec.game, a.action_names) for a in agents], explain, title,
                                   verbs=("chose", "would choose" if same_frames else "chose"))
        scales = [video_scales(list(r.values())) if r else Scales() for r in all_records]
        iters = [
            views(a, e, s, r, seed=seed, captions=None, batch=batch) if r else iter(())
            for a, e, s, r in zip(agents, envs, all_steps, all_records)
        ]
        length = max(len(r) for r in all_records)
        game = agents[0].env_spec.game
        numbers = [tally(s, game) if s else None for s in all_steps]
        shown_cards: list[Card] = []
        written = 0

        def own_move(column: int, view: FrameView) -> None:
            if same_frames and column == 1:  # its own move here, not the one the first agent played
                view.action = int(np.argmax(view.probs))

        with VideoWriter(path, fps=fps, gif_width=size[0]) as writer:  # a GIF keeps --size
            def put(kind: str, lines: list[str]) -> None:
                put_card(writer, kind, lines, cards.text_card(size[0], size[1], lines[0], lines[1:]), fps, shown_cards)

            if title_cards:
                put("title", cards.comparison_title_lines(title, labels, explain))
            written, cut = write_columns(writer, renderer, iters, scales, length, over="episode over", progress=progress,
                                         on_view=own_move)
            interrupted = interrupted or cut
            if title_cards and not interrupted and written:
                ends = zip(labels, numbers) if not same_frames else [(labels[0], numbers[0])]  # one game was played
                put("end", [cards.END_TITLE] + [f"{label}: {n.summary()}" for label, n in ends if n is not None])
    finally:
        for env in envs:
            env.close()
    return VideoResult(path=path, frames=written, score=all_steps[0][-1].score if all_steps[0] else 0.0,
                       seconds=time.time() - start, interrupted=interrupted,
                       timeline={"cards": [{"kind": c.kind, "seconds": c.seconds, "words": c.words, "lines": c.lines}
                                           for c in shown_cards]})


def same_frame_steps(agent: Agent, env, steps: list[Step], *, seed: int, batch: int = 32) -> list[Step]:
    """``steps`` (another agent's rollout) with ``agent``'s logits and value on each of their
    observations: the actions, rewards, score and lives stay the played ones, so replaying
    them in ``env`` yields the same frames (the explain and render passes replay)."""
    out: list[Step] = []
    pending: list[tuple[Step, np.ndarray]] = []

    def flush() -> None:
        logits, values = agent(np.stack([p[1] for p in pending]))
        for (s, _), lg, v in zip(pending, logits.cpu().numpy(), values.cpu().numpy()):
            out.append(dataclasses.replace(s, obs=None, logits=lg, value=float(v)))
        pending.clear()

    for s, (_, obs) in zip(steps, replay_frames(env, steps, seed=seed, render=False)):
        pending.append((s, obs))
        if len(pending) == batch:
            flush()
    if pending:
        flush()
    return out


def video_background(agent: Agent, progress: bool) -> np.ndarray | None:
    """The agent's background for the video's object lines, from the cache (computed and cached,
    with a progress bar, the first time); None where the agent's observations have no background."""
    try:
        return background(agent, progress=progress)
    except RlvizError:  # e.g. observations that are not stacked gray frames: a video without objects
        return None


def captions_about_objects(n: int, records: dict, explain: tuple[str, ...]) -> list[str]:
    """Per played step, "It looks mostly at the ball (62% ...)" where the data say so (object_words)."""
    panel = looked_panel(explain)
    if panel is None:
        return [""] * n
    tops = [top_of((records[k].object_shares or {}).get(panel)) if k in records else None for k in range(n)]
    return object_captions(tops, panel)


def render_still(
    agent: Agent,
    out: str | Path,
    *,
    step: int = 0,
    seed: int = 0,
    explain: str | tuple[str, ...] = ("saliency",),
    size: tuple[int, int] = (1280, 720),
    objects: bool = True,
) -> Path:
    """One annotated frame (PNG) of step ``step`` of the seeded episode, scaled per frame;
    ``objects`` adds the object lines under the maps (the cached background, as make_video)."""
    import imageio.v2 as imageio

    explain = parse_explain(explain)
    if step < 0:
        raise RlvizError(f"--step must be 0 or more, got {step}")
    p = Path(out)
    if p.suffix.lower() != ".png":
        raise RlvizError(f"a still is written as PNG; give a .png file name instead of {p.name}")
    check_output_file(p, (".png",))
    layout = compute_layout(*size, panels=explain)  # a bad size is refused before the work
    env = env_for(agent)
    try:
        steps, _ = record(agent, env, seed=seed, frames=step + 1, progress=False)
        if len(steps) <= step:
            raise RlvizError(f"the episode ended after {len(steps)} steps; choose --step below {len(steps)}")
        bg = video_background(agent, progress=True) if objects else None
        explained, _ = explain_steps(agent, env, steps, [step], explain, seed=seed, progress=False, bg=bg,
                                     background=bg if bg is not None else pair_background(agent, explain, progress=False))
        records = {step: explained[0]}
        title, subtitle, warning = agent_label(agent)
        renderer = FrameRenderer(layout, action_labels(agent.env_spec.game, agent.action_names),
                                 title=title, subtitle=subtitle, warning=warning, game=agent.env_spec.game,
                                 value_range=value_range([s.value for s in steps]),
                                 lives=max(s.lives for s in steps) > 0, q_network=agent.kind == "q")
        captions = moments.captions([s.value for s in steps], [s.reward for s in steps], [s.lives for s in steps])
        for k, view in views(agent, env, steps, records, seed=seed, captions=captions, bg=bg):
            with atomic_path(p) as tmp:  # the old still stays whole until the new one is complete
                imageio.imwrite(tmp, renderer.render(view, frame_scales(records[k])))
    finally:
        env.close()
    return p
