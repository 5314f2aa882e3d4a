"""What-if: does the agent depend on what its explanation points at? Change it and measure.

The agent plays the same seeds greedily with and without an edit (:mod:`rlviz.play.edits`).
Measured, numbers only:

* returns with and without the edit, and their paired difference with a 95% t interval
  (:mod:`rlviz.assess.paired`);
* for a view edit, how often the chosen move changes on the same observations: at every step
  of the edited run, the move on the edited view against the move on the unedited one;
* for a game edit, the first step at which the two games look different to the agent and the
  first step at which its move differs (episode 1);
* where an edit acts on one place of the screen, the share of the actor-saliency mass
  (positive part) in that place, before and after the edit: on the same observations for a view
  edit, on frames sampled from each run for a game edit;
* how each method's object shares move (:mod:`rlviz.assess.whatif_objects`): per method
  (actor and critic saliency, LRP epsilon-gamma-box, LRP against the background) each named
  object's mean share of the map, on the same frames as the focus share.

Example:
    >>> result = what_if(load_agent("agents/pong"), "opponent-frozen", episodes=3)
    >>> print(result.summary())
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.assess.paired import PairedStats, paired_difference
from rlviz.assess.whatif_objects import (
    METHOD_WORDS,
    SHARE_METHODS,
    maps_by_method,
    object_share_shift,
    parse_whatif_edit,
    shift_words,
)
from rlviz.play.edits import Edit, edited_env, original_env
from rlviz.play.envs import as_uint8_stack
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import write_text_atomic

SAMPLE_EVERY = 8  # steps between the frames kept for the saliency comparison


@dataclass
class Run:
    """One agent's greedy episodes in one env: returns, lengths, moves of episode 1 and a sample
    of observations (and, for a view edit, the same observations unedited)."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    first_moves: list[int] = field(default_factory=list)
    first_checksums: list[int] = field(default_factory=list)
    sample: list[np.ndarray] = field(default_factory=list)
    sample_unedited: list[np.ndarray] = field(default_factory=list)
    moves_changed: int = 0  # view edits: steps whose move differs on the unedited observation
    steps: int = 0


def _play(agent: Agent, env, *, seeds: list[int], max_steps: int | None, keep: int, progress: bool, desc: str) -> Run:
    import zlib

    run = Run()
    view = hasattr(env, "unedited")
    for e, seed in enumerate(tqdm(seeds, desc=desc, unit="episode", disable=not progress, leave=False)):
        obs, _ = env.reset(seed=seed)
        score, n, done = 0.0, 0, False
        while not done and (max_steps is None or n < max_steps):
            o = as_uint8_stack(obs)
            batch = np.stack([o, env.unedited]) if view else o[None]
            logits, _ = agent(batch)
            moves = logits.argmax(-1).cpu().numpy()
            action = int(moves[0])
            if view:
                run.moves_changed += int(moves[0] != moves[1])
            if e == 0:
                run.first_moves.append(action)
                run.first_checksums.append(zlib.crc32(o.tobytes()))
                if n % SAMPLE_EVERY == 0 and len(run.sample) < keep:
                    run.sample.append(o)
                    if view:
                        run.sample_unedited.append(np.array(env.unedited))
            obs, reward, terminated, truncated, _ = env.step(action)
            score, n, done = score + float(reward), n + 1, bool(terminated or truncated)
        run.returns.append(score)
        run.lengths.append(n)
        run.steps += n
    return run


def _first_difference(a: list[int], b: list[int]) -> int | None:
    for k, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return k
    return None if len(a) == len(b) else min(len(a), len(b))


def _mask_share(actor: np.ndarray, mask: np.ndarray) -> float:
    """Mean over frames of the share of the positive actor-saliency mass inside ``mask``."""
    actor = np.clip(actor.astype(np.float64), 0, None)
    total = actor.sum(axis=(1, 2))
    inside = actor[:, mask].sum(axis=1)
    return float(np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0).mean())


@dataclass
class WhatIfResult:
    agent: str
    game: str
    edit: str
    kind: str  # "game" or "view"
    says: str
    seeds: list[int]
    max_steps: int | None
    original_returns: list[float]
    edited_returns: list[float]
    original_lengths: list[int]
    edited_lengths: list[int]
    stats: PairedStats
    moves_changed: float | None  # view edits: share of steps with another move on the unedited view
    first_screen_difference: int | None  # game edits, episode 1: first step the observations differ
    first_move_difference: int | None  # game edits, episode 1: first step the moves differ
    focus: str  # where the edit acts, in words
    saliency_frames: int = 0
    saliency_original: float | None = None  # mean share of actor saliency on the focus, before
    saliency_edited: float | None = None  # and after the edit
    focus_area: float | None = None  # the focus's share of the frame: what a map spread evenly would put there
    # per method: {"frames", "without": {object: share}, "with": {...}, "on_objects_without", "on_objects_with"}
    object_shares: dict | None = None

    def summary(self, methods: tuple[str, ...] | None = None) -> str:
        """What changed, in plain words, saying only what the numbers show; ``methods`` limits the
        object shares to those methods (None: all; one method: one paragraph)."""
        s = self.stats
        n = len(self.seeds)
        seeds = f"seed {self.seeds[0]}" if n == 1 else f"seeds {self.seeds[0]}-{self.seeds[-1]}"
        cap = f", each cut at {self.max_steps} steps" if self.max_steps else ""
        lines = [f"Edit: {self.says} ({self.kind} edit '{self.edit}').",
                 (f"Over {n} episode{'s' if n > 1 else ''} ({seeds}{cap}), the mean score of agent '{self.agent}' went from "
                  f"{s.original_mean:+.1f} ± {s.original_std:.1f} to {s.edited_mean:+.1f} ± {s.edited_std:.1f}.")]
        if n > 1:
            verdict = ("the interval excludes zero: the edit changed its score" if s.ci_excludes_zero
                       else "the interval includes zero: these episodes cannot tell whether the edit changed its score")
            lines.append(f"Paired difference {s.diff_mean:+.1f} (95% CI {s.ci_low:+.1f} to {s.ci_high:+.1f}); {verdict}.")
        else:
            lines.append(f"Difference {s.diff_mean:+.1f} (one episode: no confidence interval).")
        if self.moves_changed is not None:
            lines.append(f"On the same observations, its move changed on {self.moves_changed:.0%} of steps.")
        if self.kind == "game":
            if self.first_screen_difference is None:
                lines.append("In episode 1 the agent's view never differed from the unedited game.")
            else:
                move = (f"its first different move came at step {self.first_move_difference}"
                        if self.first_move_difference is not None else "its moves never differed")
                lines.append(f"In episode 1 the game first looked different at step {self.first_screen_difference}; {move}.")
        if self.saliency_original is not None and self.saliency_edited is not None:
            even = f"; a map spread evenly would put {self.focus_area:.0%} there" if self.focus_area is not None else ""
            lines.append(f"Share of its saliency on {self.focus}: {self.saliency_original:.0%} before, "
                         f"{self.saliency_edited:.0%} after ({self.saliency_frames} frames each{even}).")
        shares = {m: v for m, v in (self.object_shares or {}).items() if methods is None or m in methods}
        if len(shares) == 1:  # one paragraph, for a video's end card
            (m, one), = shares.items()
            lines.append(f"Share of its {METHOD_WORDS.get(m, m)} on the objects, without -> with the edit "
                         f"({one['frames']} frames): " + shift_words(shares)[0].split(": ", 1)[1] + ".")
        elif shares:
            frames = next(iter(shares.values()))["frames"]
            where = ("the same observations, objects found on the unedited view" if self.kind == "view"
                     else "the frames of each game at the same steps")
            lines.append(f"Share of each map on the objects, without -> with the edit (mean over {frames} frames: {where}):")
            lines += shift_words(shares)
        return "\n".join(lines)

    def headline(self) -> str:
        """One line for a title card: the score change."""
        s = self.stats
        sure = "" if len(self.seeds) < 2 else (
            " (the 95% confidence interval of the paired difference excludes 0)" if s.ci_excludes_zero
            else " (the 95% confidence interval of the paired difference includes 0)")
        return f"Mean score {s.original_mean:+.1f} without the edit, {s.edited_mean:+.1f} with it{sure}."

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stats"] = self.stats.to_dict()
        d["summary"] = self.summary()
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def what_if(
    agent: Agent,
    edit: str | Edit,
    *,
    episodes: int = 3,
    seed: int = 0,
    max_steps: int | None = None,
    saliency_frames: int = 16,
    objects: bool = True,
    background: np.ndarray | None = None,
    progress: bool = True,
    json_path: str | Path | None = None,
) -> WhatIfResult:
    """Play ``episodes`` greedy episodes (seeds seed, seed + 1, ...) with and without ``edit``
    and measure what changed (see the module docstring). ``max_steps`` cuts each episode;
    ``saliency_frames=0`` skips the saliency comparison; ``objects=False`` skips the object shares
    (which need the agent's background: ``background`` or the cached one, computed the first time)."""
    if episodes < 1:
        raise RlvizError(f"episodes must be at least 1, got {episodes}")
    if max_steps is not None and max_steps < 1:
        raise RlvizError(f"max_steps must be at least 1, got {max_steps}")
    parsed = parse_whatif_edit(edit, agent, background) if isinstance(edit, str) else edit
    seeds = [seed + k for k in range(episodes)]
    envs = [original_env(agent, render_mode=None), edited_env(agent, parsed, render_mode=None)]
    try:
        before = _play(agent, envs[0], seeds=seeds, max_steps=max_steps, keep=saliency_frames, progress=progress, desc="unedited")
        after = _play(agent, envs[1], seeds=seeds, max_steps=max_steps, keep=saliency_frames, progress=progress, desc="edited")
    finally:
        for env in envs:
            env.close()
    view = parsed.kind == "view"
    result = WhatIfResult(
        agent=agent.name, game=agent.env_spec.game, edit=parsed.text, kind=parsed.kind, says=parsed.says, seeds=seeds,
        max_steps=max_steps, original_returns=before.returns, edited_returns=after.returns,
        original_lengths=before.lengths, edited_lengths=after.lengths,
        stats=paired_difference(before.returns, after.returns),
        moves_changed=after.moves_changed / after.steps if view and after.steps else None,
        first_screen_difference=None if view else _first_difference(before.first_checksums, after.first_checksums),
        first_move_difference=None if view else _first_difference(before.first_moves, after.first_moves),
        focus=parsed.focus_says,
    )
    mask = parsed.focus_mask(agent.env_spec.screen_size, agent.n_actions)
    result.focus_area = None if mask is None else float(mask.mean())
    ref = after.sample_unedited if view else before.sample
    if saliency_frames and (mask is not None or objects) and ref and after.sample:
        n = min(len(ref), len(after.sample))
        ref_obs, edited_obs = np.stack(ref[:n]), np.stack(after.sample[:n])
        if objects and background is None:
            from rlviz.explain.objects import background as agent_background

            background = agent_background(agent, progress=progress)
        methods = SHARE_METHODS if objects else ("saliency-actor",)
        maps = (maps_by_method(agent, ref_obs, background, methods), maps_by_method(agent, edited_obs, background, methods))
        if mask is not None:
            result.saliency_original = _mask_share(maps[0]["saliency-actor"], mask)
            result.saliency_edited = _mask_share(maps[1]["saliency-actor"], mask)
            result.saliency_frames = n
        if objects:
            result.object_shares = object_share_shift(agent, ref_obs, edited_obs, background, same_observations=view,
                                                      methods=methods, maps=maps)
    if json_path is not None:
        write_text_atomic(json_path, result.to_json() + "\n")
    return result
