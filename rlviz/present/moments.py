"""Finding what is worth telling in an episode, from its value and reward traces alone.

Pure functions of arrays, so they are easy to test: captions for a video's caption track
and the key moments that ``rlviz video --highlights K`` cuts clips around.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 8  # steps over which a value change counts as one sudden change
LIFE_LOST_SIZE = 3.5  # above every reward (2 to 3): in a game with lives, losing one is its turning point


@dataclass(frozen=True)
class Moment:
    step: int
    kind: str  # "reward", "life-lost", "value-drop", "value-rise", "policy-change"
    size: float
    text: str


def value_changes(values: np.ndarray, window: int = WINDOW, starts: tuple[int, ...] = (0,)) -> np.ndarray:
    """Change of the value estimate over the last ``window`` steps; 0 for the first 2*window
    steps of every episode (``starts``: the indices where episodes begin), so that a reset is
    never told as a sudden change."""
    v = np.asarray(values, np.float64)
    out = np.zeros_like(v)
    if v.size > window:
        out[window:] = v[window:] - v[:-window]
    for s in set(starts) | {0}:  # the first stacks are zero-padded: their values say little
        out[s : s + 2 * window] = 0.0
    return out


def sharp_threshold(changes: np.ndarray, quantile: float = 0.97) -> float:
    """A change counts as sharp above this: a high quantile of |change|, never tiny."""
    mags = np.abs(changes[np.nonzero(changes)])
    if mags.size == 0:
        return float("inf")
    return max(float(np.quantile(mags, quantile)), 1e-6)


def reward_text(reward: float) -> str:
    return f"The agent scored ({reward:+g})" if reward > 0 else f"The agent lost a point ({reward:+g})"


def lives_lost(lives, starts: tuple[int, ...] = (0,)) -> np.ndarray:
    """True at the steps where the agent lost a life: the count of lives fell within an episode.
    ``lives`` is the count after each step (all zeros in games without lives, like Pong)."""
    n = np.asarray(lives, np.int64)
    lost = np.zeros(n.shape, bool)
    if n.size > 1:
        lost[1:] = n[1:] < n[:-1]
    lost[[s for s in set(starts) | {0} if s < n.size]] = False  # a new episode is not a loss
    return lost


def life_text(left: int) -> str:
    return f"The agent lost a life ({left} left)" if left > 0 else "The agent lost its last life: game over"


def captions(values, rewards, lives=None, *, hold: int = 30, window: int = WINDOW,
             starts: tuple[int, ...] = (0,)) -> list[str]:
    """One caption per step: lost lives and rewards first, then sharp value drops and rises;
    each shown for ``hold`` steps after its event (and never past the end of its episode). A
    caption about a drop (rise) ends early once the value turns and rises (drops) by half a
    sharp change, so a frame never says "drops" beside a value line that is climbing again.
    ``lives`` (lives left after each step) words a drop as an expected lost life in games
    that have lives, and as an expected lost point in the others."""
    values = np.asarray(values, np.float64)
    rewards = np.asarray(rewards, np.float64)
    changes = value_changes(values, window, starts)
    thr = sharp_threshold(changes)
    lives = np.zeros(len(values), np.int64) if lives is None else np.asarray(lives, np.int64)
    lost = lives_lost(lives, starts)
    loss = "a life" if lives.max(initial=0) > 0 else "a point"
    out = [""] * len(values)
    left = 0
    current, trend = "", 0  # trend: -1 for a drop caption, +1 for a rise, 0 for a reward
    new_episode = set(starts)
    for t in range(len(values)):
        text, kind = "", 0
        if t in new_episode:
            left = 0
        if trend and trend * changes[t] <= -thr / 2:  # the value turned against the caption
            left = 0
        if lost[t]:
            text = life_text(int(lives[t]))
        elif rewards[t] != 0:
            text = reward_text(rewards[t])
        elif changes[t] <= -thr:
            text, kind = f"Its value estimate drops sharply: it expects to lose {loss}", -1
        elif changes[t] >= thr:
            text, kind = "Its value estimate jumps: it expects to score", 1
        if text and (kind == 0 or left == 0):  # lost lives and rewards always show
            current, trend, left = text, kind, hold
        out[t] = current if left > 0 else ""
        left = max(0, left - 1)
    return out


def key_moments(values, rewards, logits=None, lives=None, *, k: int = 3, min_gap: int | None = None,
                window: int = WINDOW, starts: tuple[int, ...] = (0,)) -> list[Moment]:
    """The ``k`` most telling steps: lost lives, rewards, the largest value drops and rises,
    and the sharpest changes of policy, at least ``min_gap`` steps apart, in time order.
    ``starts`` marks where episodes begin; a reset is not a moment.

    Sizes: a lost life 3.5; a reward 2 plus its share of the rollout's largest reward (so in
    Breakout a top-row brick outweighs a bottom one, and a routine reward never outweighs a
    lost life); a value change its size in standard deviations of the value; a policy change
    1.5 times the total-variation distance between the two steps' action probabilities.

    Moments are chosen one at a time, largest first. A moment's size is divided by one plus the
    number of moments of its kind already chosen, so that the highlights mix kinds: three lost
    lives tell a viewer less than a lost life, the biggest reward and the sharpest rise.

    ``min_gap`` defaults to 45 steps or, in longer rollouts, a (2k)-th of the rollout, and of
    equal moments the one farthest from those already chosen is taken, so that the moments
    spread over the game instead of piling up where similar ones come first (a winning Pong
    agent's points all weigh the same)."""
    if min_gap is None:
        min_gap = max(45, len(values) // (2 * max(k, 1)))
    values = np.asarray(values, np.float64)
    rewards = np.asarray(rewards, np.float64)
    changes = value_changes(values, window, starts)
    scale = float(np.std(values)) or 1.0
    candidates: list[Moment] = []
    if lives is not None:
        lives = np.asarray(lives, np.int64)
        for t in np.nonzero(lives_lost(lives, starts))[0]:
            candidates.append(Moment(int(t), "life-lost", LIFE_LOST_SIZE, life_text(int(lives[t]))))
    largest = float(np.abs(rewards).max(initial=0.0)) or 1.0
    for t in np.nonzero(rewards)[0]:
        r = float(rewards[t])
        candidates.append(Moment(int(t), "reward", 2.0 + abs(r) / largest, reward_text(r)))
    for t in range(len(values)):
        c = changes[t]
        if c < 0:
            candidates.append(Moment(t, "value-drop", -c / scale, "The agent's value estimate drops: it sees trouble coming"))
        elif c > 0:
            candidates.append(Moment(t, "value-rise", c / scale, "The agent's value estimate rises: it expects to score"))
    if logits is not None and len(logits) > 1:
        lg = np.asarray(logits, np.float64)
        p = np.exp(lg - lg.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        shift = 0.5 * np.abs(p[1:] - p[:-1]).sum(-1)  # total-variation distance between steps
        for t in range(1, len(p)):
            if np.argmax(p[t]) != np.argmax(p[t - 1]) and t not in starts:
                candidates.append(Moment(t, "policy-change", float(shift[t - 1]) * 1.5, "The agent suddenly changes its mind"))
    chosen: list[Moment] = []

    def rank(m: Moment) -> tuple[float, int]:  # size shared with its kind's earlier picks; then distance
        same_kind = sum(c.kind == m.kind for c in chosen)
        return m.size / (1 + same_kind), min((abs(m.step - c.step) for c in chosen), default=0)

    while len(chosen) < k:
        allowed = [m for m in candidates if all(abs(m.step - c.step) >= min_gap for c in chosen)]
        if not allowed:
            break
        chosen.append(max(allowed, key=rank))
    return sorted(chosen, key=lambda m: m.step)
