"""Pass 2: replay the episode and explain the chosen steps in batches.

Keeps the 17x17 saliency grids (in a temporary file), the LRP scale and the active pairs per
step; the colour scales of a whole video come from these records."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.assess.objects import VIDEO_DEFAULT, method_maps
from rlviz.explain.objects import find_objects, label_image
from rlviz.explain.perturbation import grid_centres, grid_to_map, perturbation_saliency
from rlviz.play.rollout import Step, replay_frames
from rlviz.present.layout import Scales
from rlviz.present.video.object_words import cell_object, frame_shares
from rlviz.present.video.records import EXPLANATIONS, PAIRS_SHOWN, ExplainedStep
from rlviz.util.gridstore import GridStore
from rlviz.util.heap import release_free_memory


def _explain_batch(
    agent: Agent, batch: list[Step], obs: np.ndarray, explain: tuple[str, ...], saliency_frames: str, grids: GridStore,
    bg: np.ndarray | None = None,
    background: np.ndarray | None = None,
    method_stores: dict[str, GridStore] | None = None,
) -> list[ExplainedStep]:
    out = [ExplainedStep(s) for s in batch]
    scene = [find_objects(o, bg, agent.env_spec.game) for o in obs] if bg is not None else None
    if scene is not None:
        for e in out:
            e.object_shares = {}
    for name in explain:  # any registered method as a panel: its map kept on disk like the grids
        if name in EXPLANATIONS:
            continue
        from rlviz.present.method_panels import panel_maps, parse_method_panel

        store = (method_stores if method_stores is not None else {}).setdefault(name, GridStore())
        for k, m in enumerate(panel_maps(parse_method_panel(name), agent, obs)):
            out[k].method_maps = (out[k].method_maps or {}) | {name: (store, store.append(m))}
            out[k].method_scales = (out[k].method_scales or {}) | {name: relevance_scale(m)}
    if "saliency" in explain:
        sal = perturbation_saliency(agent, obs, frames=saliency_frames)
        size = agent.env_spec.screen_size
        for k, e in enumerate(out):
            e.grids, e.grid_index = grids, grids.append(np.stack([sal.actor_grid[k], sal.critic_grid[k]]))
            if scene is not None:  # the actor map as the panel draws it (maps_of)
                e.object_shares["saliency"] = frame_shares(grid_to_map(sal.actor_grid[k], size, grid_centres(size)), scene[k])
    if "lrp" in explain:
        rel = panel_relevance(agent, obs, bg)
        for k, e in enumerate(out):
            e.relevance_scale = relevance_scale(rel[k])
            if scene is not None:  # the map the render pass redraws
                e.object_shares["lrp"] = frame_shares(rel[k], scene[k])
    if "interactions" in explain:
        from rlviz.explain.interactions_cnn import frame_interactions
        from rlviz.explain.pairs_on_objects import pairs_on_objects

        actions = np.array([s.action for s in batch])
        candidates = PAIRS_SHOWN if background is None else PAIR_CANDIDATES
        for a in np.unique(actions):  # pairs for the action each frame chose
            idx = np.nonzero(actions == a)[0]
            for k, pairs in zip(idx, frame_interactions(agent, obs[idx], action=int(a), top_k=candidates)):
                # only pairs whose both boxes sit on something that differs from the background
                out[k].pairs = pairs if background is None else pairs_on_objects(pairs, obs[k], background, keep=PAIRS_SHOWN)
        if scene is not None:
            for e, objs in zip(out, scene):
                labels, names = label_image(objs, bg.shape), [o.name for o in objs]
                e.pair_objects = [tuple(cell_object(b, labels, names) for b in drawn_patches(p)) if len(p.obs_boxes) == 2
                                  else (None, None) for p in e.pairs or []]
    return out


def panel_relevance(agent: Agent, obs: np.ndarray, bg: np.ndarray | None) -> np.ndarray:
    """(N, H, W) the relevance panel's maps of the greedy move: with a background, the video's
    default (rlviz.assess.objects.VIDEO_DEFAULT, chosen by object share and deletion AOPC,
    docs/objects.md); without one, LRP epsilon-gamma-box."""
    if bg is None:
        from rlviz.explain.lrp import lrp

        return lrp(agent, obs, target="action").sum(axis=1)
    return method_maps(agent, obs, VIDEO_DEFAULT, bg)


def drawn_patches(pair) -> list[tuple[float, float, float, float]]:
    """The pair's cells as the interactions panel draws them (the stride-sized patch at each
    field's centre, ``rgb_patches``) in observation pixels: the object named is the one the
    viewer sees inside the box."""
    out = []
    for (ox0, oy0, ox1, oy1), (rx0, ry0, rx1, ry1), (px0, py0, px1, py1) in zip(pair.obs_boxes, pair.rgb_boxes, pair.rgb_patches):
        sx, sy = (ox1 - ox0) / max(rx1 - rx0, 1e-9), (oy1 - oy0) / max(ry1 - ry0, 1e-9)
        out.append((ox0 + (px0 - rx0) * sx, oy0 + (py0 - ry0) * sy, ox0 + (px1 - rx0) * sx, oy0 + (py1 - ry0) * sy))
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
    bg: np.ndarray | None = None,
    background: np.ndarray | None = None,
) -> tuple[list[ExplainedStep], bool]:
    """Replay the episode and explain the ``chosen`` steps in batches; returns the records
    (in the order of ``chosen``) and whether Ctrl-C stopped it. With a background ``bg``
    (rlviz.explain.objects) each record also keeps its panels' object shares and the objects
    its interaction cells hold; with a ``background`` (:func:`pair_background`, the same
    image), interaction pairs are kept only where both boxes sit on something
    (:mod:`rlviz.explain.pairs_on_objects`)."""
    records: list[ExplainedStep] = []
    grids = GridStore()  # on disk: memory stays flat in video length (rlviz.util.gridstore)
    method_stores: dict[str, GridStore] = {}  # one per method panel, on disk too
    wanted = set(chosen)
    pending: list[tuple[Step, np.ndarray]] = []
    bar = tqdm(total=len(wanted), unit="frame", desc="explaining", disable=not progress, leave=False)

    def flush() -> None:
        records.extend(_explain_batch(agent, [p[0] for p in pending], np.stack([p[1] for p in pending]), explain, saliency_frames, grids,
                                      bg, background, method_stores))
        bar.update(len(pending))
        pending.clear()
        release_free_memory()  # keeps memory flat in video length (rlviz.util.heap)

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


PAIR_CANDIDATES = 30  # strongest pairs searched for PAIRS_SHOWN on objects (on 10 Pong frames 30 always held 3)


def pair_background(agent: Agent, explain: tuple[str, ...], *, progress: bool = True) -> np.ndarray | None:
    """The agent's background (:func:`rlviz.background`, cached after the first time) when the
    interactions panel is drawn, for the rule that keeps pairs off empty court; else None."""
    if "interactions" not in explain:
        return None
    from rlviz.explain.objects.background import background

    return background(agent, progress=progress)


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
    methods: dict[str, list[float]] = {}  # method panels: like LRP, the 99.5th percentile of |map|
    for r in records:
        for name, v in (r.method_scales or {}).items():
            methods.setdefault(name, []).append(v)
    return Scales(
        actor=_robust_top(actor) if actor else 1.0,
        critic=_robust_top(critic) if critic else 1.0,
        relevance=_robust_top(rel) if rel else 1.0,
        interactions=max(pairs) if pairs else 1.0,
        methods={name: _robust_top(v) for name, v in methods.items()},
    )


def frame_scales(record: ExplainedStep) -> Scales:
    return video_scales([record])


def relevance_scale(relevance: np.ndarray) -> float:
    return float(np.percentile(np.abs(relevance), 99.5))


def maps_of(record: ExplainedStep, size: int = 84) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(actor, critic) 84x84 saliency maps of one record."""
    grids = record.saliency_grids()
    if grids is None:
        return None, None
    centres = grid_centres(size)
    return grid_to_map(grids[0], size, centres), grid_to_map(grids[1], size, centres)
