"""Words a viewer understands for a game's moves, rewards and score.

ALE names a move by the joystick: Pong's paddle goes up on ``RIGHT`` and its ``FIRE`` serves,
so "chose LEFT" beside a vertical paddle misleads. Videos show these display names; the
timeline JSON keeps the ALE name beside them.

Example:
    >>> action_labels("Pong", ["NOOP", "FIRE", "RIGHT", "LEFT"])
    ['stay', 'serve', 'UP', 'DOWN']
"""

from __future__ import annotations

_PONG = {"NOOP": "stay", "FIRE": "serve", "RIGHT": "UP", "LEFT": "DOWN", "RIGHTFIRE": "UP+serve", "LEFTFIRE": "DOWN+serve"}
_BREAKOUT = {"NOOP": "stay", "FIRE": "launch", "RIGHT": "RIGHT", "LEFT": "LEFT"}
_SHOOTER = {"NOOP": "stay", "FIRE": "shoot", "RIGHTFIRE": "RIGHT+shoot", "LEFTFIRE": "LEFT+shoot",
            "UPFIRE": "UP+shoot", "DOWNFIRE": "DOWN+shoot"}
ACTION_LABELS: dict[str, dict[str, str]] = {"Pong": _PONG, "Breakout": _BREAKOUT, "SpaceInvaders": _SHOOTER}
GENERIC = {"NOOP": "stay", "FIRE": "fire"}

# Moves that act alike, named by what they do. Pong's FIRE only serves, and the serve comes
# by itself: FIRE acts as "stay" and RIGHTFIRE as "UP"; Breakout's FIRE only launches the
# ball once a life. Counting them apart made "serve" Pong's favourite move.
MOVE_GROUPS: dict[str, dict[str, str]] = {
    "Pong": {"NOOP": "stay", "FIRE": "stay", "RIGHT": "UP", "RIGHTFIRE": "UP", "LEFT": "DOWN", "LEFTFIRE": "DOWN"},
    "Breakout": {"NOOP": "stay", "FIRE": "stay", "RIGHT": "RIGHT", "LEFT": "LEFT"},
}

REWARD_NOUNS = {"Pong": "point"}  # what one reward is called; "reward" elsewhere


def action_labels(game: str, action_names: list[str]) -> list[str]:
    """Display names for the moves, in the agent's order (unknown names stay as ALE spells them)."""
    table = ACTION_LABELS.get(game, GENERIC)
    return [table.get(n, GENERIC.get(n, n)) for n in action_names]


def plural(n: float, word: str) -> str:
    """'1 reward', '2 rewards', '1 life', '3 lives'."""
    n = int(n)
    if n == 1:
        return f"1 {word}"
    many = {"life": "lives"}.get(word, word + "s")
    return f"{n} {many}"


def reward_noun(game: str) -> str:
    return REWARD_NOUNS.get(game, "reward")


def score_text(game: str, score: float, won: float, lost: float) -> str:
    """The score as the game shows it: Pong's two numbers (the agent's points and the
    opponent's), the running total elsewhere (no sign: the screen shows none)."""
    if game == "Pong":
        return f"points: agent {won:g}, opponent {lost:g}"
    return f"score: {score:g}"


def move_shares(game: str, action_names: list[str], actions) -> list[tuple[str, float]]:
    """(what the moves do, share of the steps) for the agent's moves, most frequent first;
    moves that act alike in this game (:data:`MOVE_GROUPS`) count as one."""
    groups = MOVE_GROUPS.get(game, {})
    labels = action_labels(game, action_names)
    counts: dict[str, int] = {}
    for a in actions:
        name = groups.get(action_names[int(a)], labels[int(a)])
        counts[name] = counts.get(name, 0) + 1
    total = sum(counts.values())
    return sorted(((n, c / total) for n, c in counts.items()), key=lambda item: -item[1]) if total else []


def moves_sentence(shares: list[tuple[str, float]], most: int = 3, minimum: float = 0.05) -> str:
    """'Moves: stay 61%, UP 24%, DOWN 15%.' (up to ``most`` kinds, each at least ``minimum``; few
    words, as the end card holds at most 35)."""
    shown = [f"{n} {100 * p:.0f}%" for n, p in shares[:most] if p >= minimum] or [f"{n} {100 * p:.0f}%" for n, p in shares[:1]]
    return f"Moves: {', '.join(shown)}."
