"""Finding what is worth telling in an episode, from its value and reward traces alone.

Pure functions of arrays, so they are easy to test: captions for a video's caption track
and the key moments that ``rlviz video --highlights K`` cuts clips around.

A change of the value estimate is news only when rewards and lost lives do not explain it.
After a point in Pong the value falls back to its resting level: that is the reward being
paid out, not a prediction. So surprise is measured by the TD error
``r + gamma * V(s') - V(s)`` (with no ``V(s')`` after a lost life or the end of an episode, as
in training), summed over a short window, and no value moment is told in the ``SETTLE`` steps
after a reward, a lost life or a reset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 8  # steps over which a value change counts as one sudden change
GAMMA = 0.99  # the discount of rlviz's PPO (and of most Atari agents)
WINDOW_GAMMA = 1.0  # within an 8-step window discounting changes a sum by < 8%, less than the
# value's own noise, but it turns a constant value V into a steady "drop" of (1 - gamma) * 8 * V
SETTLE = 2 * WINDOW  # steps after a reward, a lost life or a reset in which the value settles: not news
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


def breaks(rewards, lives=None, starts: tuple[int, ...] = (0,)) -> np.ndarray:
    """True at the steps after which the value estimate is expected to jump for a reason the
    viewer already knows: a reward, a lost life, or the start of an episode."""
    r = np.asarray(rewards, np.float64)
    out = r != 0
    if lives is not None:
        out |= lives_lost(lives, starts)
    out[[s for s in set(starts) | {0} if s < r.size]] = True
    return out


def td_errors(values, rewards, lives=None, *, gamma: float = GAMMA, starts: tuple[int, ...] = (0,)) -> np.ndarray:
    """``delta_t = r_t + gamma * V_{t+1} - V_t``: how much better (or worse) step t went than
    the agent expected. ``V_{t+1}`` counts as 0 where the return ends: a lost life (as the
    agents are trained) and the last step of an episode. The last step of a rollout that goes
    on has no next value: its delta is 0."""
    v = np.asarray(values, np.float64)
    r = np.asarray(rewards, np.float64)
    n = v.size
    nxt = np.zeros(n)
    nxt[:-1] = v[1:]
    ends = np.zeros(n, bool)
    ends[[s - 1 for s in starts if 0 < s <= n]] = True  # the step before a new episode ends one
    if lives is not None:
        ends |= lives_lost(lives, starts)
    nxt[ends] = 0.0
    delta = r + gamma * nxt - v
    if n and not ends[-1]:
        delta[-1] = 0.0
    return delta


def surprise(values, rewards, lives=None, *, gamma: float = WINDOW_GAMMA, window: int = WINDOW,
             starts: tuple[int, ...] = (0,), settle: int = SETTLE) -> np.ndarray:
    """The value change at step t that rewards and lost lives do not explain: the sum of the TD
    errors of the ``window`` steps before t (with ``gamma`` 1: ``V_t - V_{t-window}`` plus the
    rewards won meanwhile, the return cut at lost lives and episode ends). 0 in the first ``2 * window`` steps of every episode (zero-padded stacks) and
    in the ``settle`` steps after a reward or a lost life, where the value falls back to its
    resting level because of an event the viewer has just been told about."""
    delta = td_errors(values, rewards, lives, gamma=gamma, starts=starts)
    n = delta.size
    csum = np.r_[0.0, np.cumsum(delta)]
    out = np.zeros(n)
    if n > window:
        t = np.arange(window, n)
        out[window:] = csum[t] - csum[t - window]
    quiet = np.zeros(n + 1, np.int64)  # steps t with a break in [t - settle, t - 1] are quiet
    for b in np.nonzero(breaks(rewards, lives, starts))[0]:
        quiet[b + 1] += 1
        quiet[min(n, b + 1 + settle)] -= 1
    out[np.cumsum(quiet)[:n] > 0] = 0.0
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
             starts: tuple[int, ...] = (0,), gamma: float = WINDOW_GAMMA) -> list[str]:
    """One caption per step: lost lives and rewards first, then sharp value drops and rises;
    each shown for ``hold`` steps after its event (and never past the end of its episode). A
    caption about a drop (rise) ends early once the value turns and rises (drops) by half a
    sharp change, so a frame never says "drops" beside a value line that is climbing again.
    ``lives`` (lives left after each step) words a drop as an expected lost life in games
    that have lives, and as an expected lost point in the others. Value changes are judged
    by :func:`surprise`: never in the steps after a reward, a lost life or a reset."""
    values = np.asarray(values, np.float64)
    rewards = np.asarray(rewards, np.float64)
    lives = np.zeros(len(values), np.int64) if lives is None else np.asarray(lives, np.int64)
    changes = surprise(values, rewards, lives, gamma=gamma, window=window, starts=starts)
    thr = sharp_threshold(changes)
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
                window: int = WINDOW, starts: tuple[int, ...] = (0,), gamma: float = WINDOW_GAMMA) -> list[Moment]:
    """The ``k`` most telling steps: lost lives, rewards, the largest value drops and rises,
    and the sharpest changes of policy, at least ``min_gap`` steps apart, in time order.
    ``starts`` marks where episodes begin; a reset is not a moment.

    Sizes: a lost life 3.5; a reward 2 plus its share of the rollout's largest reward (so in
    Breakout a top-row brick outweighs a bottom one, and a routine reward never outweighs a
    lost life); a value change (its :func:`surprise`, never one that a reward, a lost life or a
    reset explains) its size in standard deviations of the value; a policy change
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
    changes = surprise(values, rewards, lives, gamma=gamma, window=window, starts=starts)
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
