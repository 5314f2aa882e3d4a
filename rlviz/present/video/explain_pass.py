"""Pass 2: replay the episode and explain the chosen steps in batches.

Keeps the 17x17 saliency grids (in a temporary file), the LRP scale and the active pairs per
step; the colour scales of a whole video come from these records."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import grid_centres, grid_to_map, perturbation_saliency
from rlviz.play.rollout import Step, replay_frames
from rlviz.present.layout import Scales
from rlviz.present.video.records import EXPLANATIONS, PAIRS_SHOWN, ExplainedStep
from rlviz.util.gridstore import GridStore
from rlviz.util.heap import release_free_memory


def _explain_batch(
    agent: Agent, batch: list[Step], obs: np.ndarray, explain: tuple[str, ...], saliency_frames: str, grids: GridStore,
    method_stores: dict[str, GridStore] | None = None,
) -> list[ExplainedStep]:
    out = [ExplainedStep(s) for s in batch]
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
        for k, e in enumerate(out):
            e.grids, e.grid_index = grids, grids.append(np.stack([sal.actor_grid[k], sal.critic_grid[k]]))
    if "lrp" in explain:
        from rlviz.explain.lrp import lrp

        rel = lrp(agent, obs, target="action").sum(axis=1)
        for k, e in enumerate(out):
            e.relevance_scale = relevance_scale(rel[k])
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
    grids = GridStore()  # on disk: memory stays flat in video length (rlviz.util.gridstore)
    method_stores: dict[str, GridStore] = {}  # one per method panel, on disk too
    wanted = set(chosen)
    pending: list[tuple[Step, np.ndarray]] = []
    bar = tqdm(total=len(wanted), unit="frame", desc="explaining", disable=not progress, leave=False)

    def flush() -> None:
        records.extend(_explain_batch(agent, [p[0] for p in pending], np.stack([p[1] for p in pending]), explain, saliency_frames, grids,
                                      method_stores))
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
