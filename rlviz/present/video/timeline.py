"""The one record of a video's numbers, and the timeline that scripts read (``--json``).

Title card, strip and end card all read the score, rewards and lives from :class:`Tally`,
made once from the played steps, so they cannot contradict each other. :func:`timeline`
writes what the video shows, step by step, with its key moments and cards, as plain JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rlviz.play.rollout import Step
from rlviz.present import moments
from rlviz.present.game_words import action_labels, plural, reward_noun
from rlviz.present.video.records import episode_starts


@dataclass(frozen=True)
class Tally:
    """What the played steps add up to (every game of the rollout)."""

    game: str
    moves: int
    scores: list[float]  # the final score of each game, in order
    won: int  # rewards above zero
    lost: int  # rewards below zero
    points_for: float  # their sums
    points_against: float
    lives_lost: int
    has_lives: bool

    @property
    def score(self) -> float:
        """The score of the last game at its last step: what the strip shows last."""
        return self.scores[-1]

    def summary(self) -> str:
        """'Final score +2 in 460 moves: 3 points won, 1 lost.' (grammatical for any count)."""
        noun = reward_noun(self.game)
        lost = plural(self.lives_lost, "life") + " lost" if self.has_lives else f"{self.lost} lost"
        if len(self.scores) == 1:
            return f"Final score {self.score:+g} in {self.moves} moves: {plural(self.won, noun)} won, {lost}."
        games = ", ".join(f"{s:+g}" for s in self.scores)
        return f"Scores of its {len(self.scores)} games: {games} ({self.moves} moves, {plural(self.won, noun)} won, {lost})."


def tally(steps: list[Step], game: str) -> Tally:
    """Add up the played steps."""
    rewards = np.array([s.reward for s in steps], np.float64)
    lives = [s.lives for s in steps]
    starts = episode_starts(steps)
    scores = [steps[e - 1].score for e in starts[1:]] + [steps[-1].score]
    return Tally(
        game=game, moves=len(steps), scores=scores, won=int((rewards > 0).sum()), lost=int((rewards < 0).sum()),
        points_for=float(rewards[rewards > 0].sum()), points_against=float(-rewards[rewards < 0].sum()) + 0.0,  # never -0.0
        lives_lost=int(moments.lives_lost(lives, starts).sum()), has_lives=max(lives, default=0) > 0,
    )


def points_so_far(steps: list[Step]) -> np.ndarray:
    """[n, 2]: points won and lost within each step's game, up to and including it."""
    out = np.zeros((len(steps), 2))
    won = lost = 0.0
    for k, s in enumerate(steps):
        if k and s.episode != steps[k - 1].episode:
            won = lost = 0.0
        won += max(s.reward, 0.0)
        lost += max(-s.reward, 0.0)
        out[k] = won, lost
    return out


@dataclass
class Card:
    kind: str  # "title", "key-moment", "end"
    seconds: float
    lines: list[str]  # every text on the card, title first

    @property
    def words(self) -> int:
        return sum(len(line.split()) for line in self.lines)


def timeline(
    steps: list[Step], *, action_names: list[str], game: str, shown: list[int], captions: list[str] | None,
    key: list[moments.Moment], cards: list[Card], numbers: Tally, objects: dict[int, dict] | None = None,
) -> dict:
    """The video's timeline as plain JSON-able data: every played step (with whether it is
    shown), the key moments, the cards with their texts and durations, and the tally.
    ``objects`` (step index -> what the strip's object lines are made of, see
    :func:`step_objects`) adds "objects" to the shown steps."""
    labels = action_labels(game, action_names)
    on = set(shown)
    return {
        "steps": [
            {"step": s.step, "episode": s.episode, "score": s.score, "reward": s.reward, "lives": s.lives,
             "value": s.value, "action": s.action, "action_name": action_names[s.action],
             "action_label": labels[s.action], "caption": captions[k] if captions else "", "shown": k in on}
            | ({"objects": objects[k]} if objects and k in objects else {})
            for k, s in enumerate(steps)
        ],
        "key_moments": [{"kind": m.kind, "step": m.step, "text": m.text} for m in key],
        "cards": [{"kind": c.kind, "seconds": c.seconds, "words": c.words, "lines": c.lines} for c in cards],
        "tally": {**asdict(numbers), "score": numbers.score},
    }


def step_objects(shares: dict[str, dict[str, float]] | None, pair_objects: list | None,
                 top: Callable[[dict[str, float]], list[tuple[str, float]]]) -> dict:
    """One shown step's objects for the timeline: per panel map, every object's share
    ("shares") and the top objects its strip line lists ("top"); the objects each interaction
    pair's cells mostly hold (null where none)."""
    out: dict = {p: {"shares": dict(v), "top": [[n, x] for n, x in top(v)]} for p, v in (shares or {}).items()}
    if pair_objects is not None:
        out["pairs"] = [list(p) for p in pair_objects]
    return out


def write_timeline(path: str | Path, data: dict) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=1) + "\n")
    return p
