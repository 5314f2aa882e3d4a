"""The what-if measurement and video on tiny agents: changed moves on the same observations,
paired returns over the same seeds, the CLI's refusals and listing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlviz.agents.agent import Agent
from rlviz.assess.whatif import what_if
from rlviz.play.envs import EnvSpec
from rlviz.play.hints import HINT_ROWS
from rlviz.util.errors import RlvizError

PONG_ACTIONS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]


class HintReader(torch.nn.Module):
    """Q-values = brightness of each action's block of the hint strip in the newest frame: it copies the hint."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        strip = x[:, -1, 84 - HINT_ROWS :, : 6 * 14]
        return strip.reshape(x.shape[0], HINT_ROWS, 6, 14).mean(dim=(1, 3))


def _hint_copier() -> Agent:
    return Agent(HintReader(), env_spec=EnvSpec("Pong"), action_names=PONG_ACTIONS, architecture={"name": "test"},
                 metadata={"name": "hint-copier", "hints": {"source": "random", "seed": 0}})


def test_moves_changed_counts_steps_whose_move_differs_on_the_unedited_view():
    # the copier plays whatever the strip shows; with hint:constant=NOOP its move differs from the
    # unedited view exactly where the control's random hint was not NOOP
    agent = _hint_copier()
    result = what_if(agent, "hint:constant=NOOP", episodes=2, max_steps=30, saliency_frames=2, objects=False, progress=False)
    hints = [np.random.default_rng([0, s]).integers(6, size=30) for s in (0, 1)]  # reset's hint, then one per step
    assert result.moves_changed == pytest.approx(np.mean(np.concatenate(hints) != 0))
    assert result.kind == "view" and result.first_screen_difference is None
    assert result.saliency_original is not None and result.saliency_original > 5 * HINT_ROWS / 84
    assert "its move changed on" in result.summary()


def test_game_edit_pairs_the_same_seeds_and_finds_where_the_games_part(pong_agent):
    result = what_if(pong_agent, "opponent-frozen", episodes=2, max_steps=25, saliency_frames=0, progress=False)
    assert result.seeds == [0, 1] and result.stats.n == 2
    assert result.original_lengths == [25, 25] == result.edited_lengths
    assert result.first_screen_difference is not None and result.first_screen_difference <= 3
    assert result.moves_changed is None and result.saliency_original is None


def test_whatif_refuses_bad_edits_before_playing(pong_agent):
    with pytest.raises(RlvizError, match="is an edit of SpaceInvaders, not of Pong"):
        what_if(pong_agent, "shields-removed", progress=False)
    with pytest.raises(RlvizError, match="hint edits need an agent trained with hint pixels"):
        what_if(pong_agent, "hint:off", progress=False)
    with pytest.raises(RlvizError, match="unknown action 'JUMP'"):
        what_if(_hint_copier(), "hint:constant=JUMP", progress=False)


def test_cli_lists_edits_and_refuses_unknown_ones_in_one_line(agent_dir, capsys):
    from rlviz.cli import main

    assert main(["whatif", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "Pong: opponent-frozen" in listing and "SpaceInvaders: shields-removed" in listing and "hint:off" in listing
    assert main(["whatif", "--agent", str(agent_dir), "--edit", "faster-ball"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "its edits: opponent-frozen, opponent-lazy" in err
    assert main(["whatif", "--agent", str(agent_dir), "--view-edit", "opponent-frozen"]) == 2
    assert "--view-edit takes blank:" in capsys.readouterr().err


def test_whatif_video_has_the_cards_and_both_columns(pong_agent, tmp_path):
    import imageio.v2 as imageio

    from rlviz.present.cards import MAX_CARD_WORDS
    from rlviz.present.whatif_video import make_whatif_video

    result = what_if(pong_agent, "blank:8,13,11,78", episodes=1, max_steps=5, saliency_frames=0, progress=False)
    video = make_whatif_video(pong_agent, "blank:8,13,11,78", tmp_path / "w.mp4", result=result, frames=2, start=1, fps=4,
                              size=(640, 360), progress=False)
    assert video.frames == 2
    frames = [f for f in imageio.get_reader(video.path)]
    shown = video.timeline["cards"]
    assert [c["kind"] for c in shown] == ["title", "end"]
    for c in shown:  # timed by their words like every other video's cards: 3 words a second, at least 2.5 s
        assert c["seconds"] == max(2.5, c["words"] / 3) and c["words"] == sum(len(line.split()) for line in c["lines"])
        assert c["words"] <= MAX_CARD_WORDS, c["lines"]  # short enough to read: at most 35 words on a card
    title, end = (round(c["seconds"] * 4) for c in shown)
    assert len(frames) == title + 2 + end
    assert np.abs(frames[0].astype(int) - frames[title + 1]).mean() > 5  # the card is not a game frame
