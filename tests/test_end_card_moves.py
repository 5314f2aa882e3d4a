"""The end card names the agent's moves by what they do: moves that act alike count as one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rlviz.present.game_words import move_shares, moves_sentence
from tests.conftest import PONG_ACTIONS

# Pong: NOOP, FIRE, RIGHT, LEFT, RIGHTFIRE, LEFTFIRE. FIRE acts as NOOP once the ball is in play.
ACTIONS = [1] * 40 + [0] * 5 + [2] * 20 + [4] * 15 + [3] * 12 + [5] * 8  # FIRE alone is the most frequent ALE move


def test_pong_fire_counts_as_staying_and_rightfire_as_up():
    shares = dict(move_shares("Pong", PONG_ACTIONS, ACTIONS))
    assert shares == {"stay": 0.45, "UP": 0.35, "DOWN": 0.2}


def test_the_end_card_never_calls_serve_pongs_favourite_move(pong_agent):
    from rlviz.present.video.render_pass import takeaways

    steps = [SimpleNamespace(action=a, reward=0.0, score=0.0, lives=0, episode=0, value=0.0, step=k)
             for k, a in enumerate(ACTIONS)]
    items, _ = takeaways(pong_agent, steps, {}, explain=("saliency",))
    moves = [i for i in items if i.startswith("Moves")]
    assert moves == ["Moves: stay 45%, UP 35%, DOWN 20%."]
    assert not any("serve" in i for i in items)


def test_other_games_keep_each_move_and_rare_moves_are_left_out():
    names = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
    shares = move_shares("SpaceInvaders", names, [1] * 6 + [4] * 3 + [2] * 1 + [0] * 0)  # shooting stays shooting
    assert shares[0] == ("shoot", 0.6) and dict(shares)["RIGHT+shoot"] == 0.3
    assert moves_sentence([("a", 0.7), ("b", 0.27), ("c", 0.03)]) == "Moves: a 70%, b 27%."


def test_the_end_card_names_as_many_kinds_of_move_as_its_35_words_allow(pong_agent):
    """With the score line, where it looked and the picture's label, a Pong card has room for
    two kinds of move (the first wording, 10 words, was dropped from every Pong end card)."""
    from rlviz.present import cards
    from rlviz.present.video.render_pass import takeaways
    from rlviz.present.video.timeline import tally

    steps = [SimpleNamespace(action=a, reward=0.0, score=0.0, lives=0, episode=0, value=0.0, step=k)
             for k, a in enumerate(ACTIONS)]

    class Record:
        def saliency_grids(self):
            return np.ones((2, 17, 17))

    items, _ = takeaways(pong_agent, steps, {0: Record()}, tally(steps, "Pong"), explain=("saliency",))
    assert items[-1] == "Moves: stay 45%, UP 35%." and items[1].startswith("To choose, it looked most at")
    assert cards.card_words([cards.END_TITLE, *items, cards.THUMB_LABEL]) <= cards.MAX_CARD_WORDS
