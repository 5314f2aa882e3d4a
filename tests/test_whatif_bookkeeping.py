"""What-if's bookkeeping on scripted envs: which seeds are played, what is counted per step,
which frames are kept, where two runs part, the focus share and the summary's words. The envs
and the policy are tiny and fully known, so every number has a value worked out by hand (the
real games are played in test_whatif.py and test_whatif_objects.py)."""

from __future__ import annotations

import json
import warnings
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import rlviz.assess.whatif as whatif
from rlviz.agents.agent import Agent
from rlviz.assess.paired import paired_difference
from rlviz.assess.whatif import WhatIfResult, _first_difference, _mask_share, what_if
from rlviz.play.envs import EnvSpec
from rlviz.util.errors import RlvizError


class PixelReader(torch.nn.Module):
    """Logits = the brightness of pixel (0, a) of the newest frame for action a: the move is
    whatever pixel in row 0 the env lights up."""

    def forward(self, x: torch.Tensor):
        logits = x[:, -1, 0, :3]
        return logits, logits.sum(-1)


def _agent() -> Agent:
    return Agent(PixelReader(), env_spec=EnvSpec("Pong"), action_names=["NOOP", "FIRE", "RIGHT"],
                 metadata={"name": "pixel-reader"})


def _frame(move: int, mark: int) -> np.ndarray:
    """An observation that makes the agent play ``move``; ``mark`` makes frames tell apart."""
    o = np.zeros((4, 84, 84), np.uint8)
    o[-1, 0, move] = 200
    o[:, 5, :] = mark % 256
    return o


class ScriptedEnv:
    """Episode with seed s lasts ``length(s)`` steps; step k shows ``moves(s, k)``'s frame; each
    step pays ``reward(s, a)``. With ``view`` the env also keeps the unedited observation."""

    def __init__(self, length, moves, reward, view_moves=None, mark=lambda s, k: 10 * s + k):
        self.length, self.moves, self.reward, self.view_moves, self.mark = length, moves, reward, view_moves, mark
        self.closed = False
        self.resets: list[int] = []
        if view_moves is not None:
            self.unedited = None

    def _show(self):
        obs = _frame(self.moves(self.seed, self.k), self.mark(self.seed, self.k))
        if self.view_moves is not None:
            self.unedited = _frame(self.view_moves(self.seed, self.k), self.mark(self.seed, self.k) + 1)
        return obs

    def reset(self, seed):
        self.seed, self.k = seed, 0
        self.resets.append(seed)
        return self._show(), {}

    def step(self, action):
        self.k += 1
        done = self.k >= self.length(self.seed)
        return self._show(), self.reward(self.seed, action), done, False, {}

    def close(self):
        self.closed = True


@dataclass
class FakeEdit:
    """The part of a parsed edit what_if reads."""

    kind: str = "game"
    text: str = "fake-edit"
    says: str = "something changes"
    focus_says: str = "the top row"
    mask: np.ndarray | None = None

    def focus_mask(self, size, n_actions):
        assert (size, n_actions) == (84, 3)  # the agent's screen and its actions
        return self.mask


@pytest.fixture
def play(monkeypatch):
    """what_if with these two envs in place of the real ones; the saliency maps are the frames'
    own newest frame (so a mask share can be worked out from the pixels)."""
    calls = {"maps": [], "envs": [], "shares": [], "map_backgrounds": [], "map_results": [], "share_maps": []}

    def run(before: ScriptedEnv, after: ScriptedEnv, edit, agent: Agent | None = None, **kw):
        agent = agent or _agent()

        def original_env(a, render_mode="rgb_array"):
            calls["envs"].append(("original", a is agent, render_mode))
            return before

        def edited_env(a, parsed, render_mode="rgb_array"):
            calls["envs"].append(("edited", a is agent, parsed, render_mode))
            return after

        def object_share_shift(a, ref, edited, background, *, same_observations, methods, maps):
            calls["shares"].append((a is agent, len(ref), background, same_observations, methods))
            calls["share_maps"].append(maps)
            return {"m": "shares"}

        monkeypatch.setattr(whatif, "original_env", original_env)
        monkeypatch.setattr(whatif, "edited_env", edited_env)
        monkeypatch.setattr(whatif, "object_share_shift", object_share_shift)

        def maps_by_method(agent, obs, background, methods):
            calls["maps"].append((np.array(obs), methods))
            calls["map_backgrounds"].append(background)
            calls["map_results"].append({m: obs[:, -1].astype(np.float64) - 50.0 for m in methods})
            return calls["map_results"][-1]

        monkeypatch.setattr(whatif, "maps_by_method", maps_by_method)
        if not kw.pop("defaults", False):
            kw.setdefault("progress", False)
            kw.setdefault("objects", False)
        return what_if(agent, edit, **kw)

    run.calls = calls
    return run


def test_each_seed_is_played_once_per_side_and_its_returns_are_paired(play):
    before = ScriptedEnv(lambda s: 3 + s, lambda s, k: 0, lambda s, a: 1.0)
    after = ScriptedEnv(lambda s: 5, lambda s, k: 1, lambda s, a: 2.0 * s)
    r = play(before, after, FakeEdit(), episodes=3, seed=4, saliency_frames=0)
    assert r.seeds == [4, 5, 6] and before.resets == [4, 5, 6] == after.resets
    assert r.original_lengths == [7, 8, 9] and r.original_returns == [7.0, 8.0, 9.0]
    assert r.edited_lengths == [5, 5, 5] and r.edited_returns == [40.0, 50.0, 60.0]
    assert r.stats == paired_difference([7, 8, 9], [40, 50, 60])
    assert before.closed and after.closed
    edit = play.calls["envs"][1][2]
    assert play.calls["envs"] == [("original", True, None), ("edited", True, edit, None)] and isinstance(edit, FakeEdit)
    assert (r.agent, r.game, r.edit, r.kind, r.says, r.focus) == (
        "pixel-reader", "Pong", "fake-edit", "game", "something changes", "the top row")


def test_max_steps_cuts_every_episode_and_the_reward_follows_the_move_played(play):
    before = ScriptedEnv(lambda s: 100, lambda s, k: k % 3, lambda s, a: float(a))  # moves 0, 1, 2, 0, ...
    after = ScriptedEnv(lambda s: 100 if s else 2, lambda s, k: 2, lambda s, a: float(a))
    r = play(before, after, FakeEdit(), episodes=2, max_steps=4, saliency_frames=0)
    assert r.original_lengths == [4, 4] and r.original_returns == [0 + 1 + 2 + 0] * 2
    assert r.edited_lengths == [2, 4] and r.edited_returns == [4.0, 8.0]  # the first ended before the cap
    assert r.max_steps == 4


def test_a_game_edit_finds_the_first_step_where_the_screens_and_the_moves_part(play):
    # same moves for 6 steps, then the edited game shows move 2; the screens part at step 3
    before = ScriptedEnv(lambda s: 10, lambda s, k: 1, lambda s, a: 0.0)
    after = ScriptedEnv(lambda s: 10, lambda s, k: 1 if k < 6 else 2, lambda s, a: 0.0,
                        mark=lambda s, k: 10 * s + k + (100 if k >= 3 else 0))
    r = play(before, after, FakeEdit(), episodes=2, saliency_frames=0)
    assert (r.first_screen_difference, r.first_move_difference) == (3, 6)
    assert r.moves_changed is None


def test_a_game_edit_whose_episode_is_shorter_parts_where_it_ends(play):
    before = ScriptedEnv(lambda s: 8, lambda s, k: 1, lambda s, a: 0.0)
    after = ScriptedEnv(lambda s: 5 if s == 0 else 8, lambda s, k: 1, lambda s, a: 0.0)
    r = play(before, after, FakeEdit(), episodes=2, saliency_frames=0)
    assert (r.first_screen_difference, r.first_move_difference) == (5, 5)  # episode 1 only
    same = play(ScriptedEnv(lambda s: 8, lambda s, k: 1, lambda s, a: 0.0),
                ScriptedEnv(lambda s: 8, lambda s, k: 1, lambda s, a: 0.0), FakeEdit(), episodes=1, saliency_frames=0)
    assert (same.first_screen_difference, same.first_move_difference) == (None, None)


def test_first_difference_is_the_first_unequal_step_or_the_end_of_the_shorter():
    assert _first_difference([1, 2, 3], [1, 2, 3]) is None
    assert _first_difference([1, 2, 3], [1, 5, 3]) == 1
    assert _first_difference([4], [1]) == 0
    assert _first_difference([1, 2, 3], [1, 2]) == 2
    assert _first_difference([], [7, 8]) == 0


def test_a_view_edit_counts_the_steps_whose_move_differs_on_the_unedited_view(play):
    # edited view: move 1 always; unedited view: move 1 on even steps, 2 on odd ones
    before = ScriptedEnv(lambda s: 7, lambda s, k: 0, lambda s, a: 0.0, view_moves=lambda s, k: 1)
    after = ScriptedEnv(lambda s: 5 + 2 * s, lambda s, k: 1, lambda s, a: 0.0, view_moves=lambda s, k: 1 + k % 2)
    r = play(before, after, FakeEdit(kind="view"), episodes=2, saliency_frames=0)
    # episode 1: steps 0-4, odd steps 1, 3; episode 2: steps 0-6, odd 1, 3, 5 -> 5 of 12
    assert r.moves_changed == pytest.approx(5 / 12)
    assert r.kind == "view" and r.first_screen_difference is None and r.first_move_difference is None
    assert "On the same observations, its move changed on 42% of steps." in r.summary()


def test_saliency_frames_are_every_eighth_step_of_episode_one_and_the_focus_share_is_worked_out(play):
    mask = np.zeros((84, 84), bool)
    mask[0, :2] = True  # pixels (0, 0) and (0, 1): the moves 0 and 1
    before = ScriptedEnv(lambda s: 30, lambda s, k: 0, lambda s, a: 0.0)
    after = ScriptedEnv(lambda s: 30, lambda s, k: 2, lambda s, a: 0.0)
    r = play(before, after, FakeEdit(mask=mask), episodes=2, saliency_frames=3)
    (ref, methods), (edited, _) = play.calls["maps"]
    assert methods == ("saliency-actor",)
    # each side keeps steps 0, 8, 16 of its 30 (3 frames); marks 10 * seed + step
    assert [int(o[0, 5, 0]) for o in ref] == [0, 8, 16] and [int(o[0, 5, 0]) for o in edited] == [0, 8, 16]
    assert r.saliency_frames == 3
    # maps = newest frame - 50, clipped at 0: the move pixel (150) and the mark row (max(mark - 50, 0))
    # before: 150 in the mask of all frames; total 150 (marks <= 16); after: 150 outside the mask
    assert r.saliency_original == pytest.approx(1.0) and r.saliency_edited == pytest.approx(0.0)
    assert r.focus_area == pytest.approx(2 / 84**2)


def test_the_edited_run_keeps_as_many_frames_as_it_has_and_both_sides_are_cut_to_it(play):
    before = ScriptedEnv(lambda s: 40, lambda s, k: 0, lambda s, a: 0.0)
    after = ScriptedEnv(lambda s: 9, lambda s, k: 0, lambda s, a: 0.0)  # steps 0 and 8 only
    mask = np.ones((84, 84), bool)
    r = play(before, after, FakeEdit(mask=mask), episodes=1, saliency_frames=4)
    (ref, _), (edited, _) = play.calls["maps"]
    assert len(ref) == len(edited) == 2 and r.saliency_frames == 2


def test_a_view_edit_compares_the_same_observations_unedited_and_edited(play):
    before = ScriptedEnv(lambda s: 3, lambda s, k: 0, lambda s, a: 0.0, view_moves=lambda s, k: 0)
    after = ScriptedEnv(lambda s: 10, lambda s, k: 1, lambda s, a: 0.0, view_moves=lambda s, k: 2)
    mask = np.zeros((84, 84), bool)
    mask[0, 2] = True
    r = play(before, after, FakeEdit(kind="view", mask=mask), episodes=1, saliency_frames=2)
    (ref, _), (edited, _) = play.calls["maps"]
    # the reference is the edited run's own unedited views (move 2, mark + 1), not the other run
    assert [int(o[-1, 0, 2]) for o in ref] == [200, 200] and [int(o[0, 5, 0]) for o in ref] == [1, 9]
    assert [int(o[-1, 0, 1]) for o in edited] == [200, 200] and [int(o[0, 5, 0]) for o in edited] == [0, 8]
    assert r.saliency_original == pytest.approx(1.0) and r.saliency_edited == pytest.approx(0.0)


def test_no_focus_and_no_objects_skips_the_saliency_comparison(play):
    env = lambda: ScriptedEnv(lambda s: 9, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    r = play(env(), env(), FakeEdit(mask=None), episodes=1, saliency_frames=4)
    assert play.calls["maps"] == [] and r.saliency_original is None and r.focus_area is None
    assert r.saliency_frames == 0 and r.object_shares is None


def test_saliency_frames_zero_skips_the_maps_even_with_a_focus(play):
    env = lambda: ScriptedEnv(lambda s: 9, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    r = play(env(), env(), FakeEdit(mask=np.ones((84, 84), bool)), episodes=1, saliency_frames=0)
    assert play.calls["maps"] == [] and r.saliency_original is None and r.focus_area == 1.0


def test_the_json_file_holds_the_result_with_its_summary(play, tmp_path):
    env = lambda s0: ScriptedEnv(lambda s: 4, lambda s, k: 0, lambda s, a: s0 + s)  # noqa: E731
    r = play(env(0.0), env(1.0), FakeEdit(), episodes=2, saliency_frames=0, json_path=tmp_path / "w.json")
    saved = json.loads((tmp_path / "w.json").read_text())
    assert saved["original_returns"] == [0.0, 4.0] and saved["edited_returns"] == [4.0, 8.0]
    assert saved["stats"]["diff_mean"] == 4.0 and saved["stats"]["ci_excludes_zero"] is True
    assert saved["summary"] == r.summary()


def test_bad_episodes_or_max_steps_are_refused_before_playing(play):
    env = lambda: ScriptedEnv(lambda s: 1, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    with pytest.raises(RlvizError, match=r"^episodes must be at least 1, got 0$"):
        play(env(), env(), FakeEdit(), episodes=0)
    with pytest.raises(RlvizError, match=r"^max_steps must be at least 1, got 0$"):
        play(env(), env(), FakeEdit(), max_steps=0)
    one = play(env(), env(), FakeEdit(), episodes=1, max_steps=1, saliency_frames=0)
    assert one.seeds == [0] and one.original_lengths == [1]


def test_mask_share_is_the_positive_mass_inside_the_mask_averaged_over_frames():
    maps = np.zeros((3, 84, 84), np.float32)
    maps[0, 0, 0], maps[0, 1, 1], maps[0, 2, 2] = 3.0, 1.0, -5.0  # negative mass ignored: 3 of 4 inside
    maps[1, 0, 0], maps[1, 3, 3] = -1.0, 0.0  # no positive mass: share 0, not NaN
    maps[2, 4, 4] = 2.0  # all outside
    mask = np.zeros((84, 84), bool)
    mask[0, 0] = mask[2, 2] = True
    assert _mask_share(maps, mask) == pytest.approx((0.75 + 0.0 + 0.0) / 3)
    maps[2, 0, 0] = 2.0
    assert _mask_share(maps, mask) == pytest.approx((0.75 + 0.0 + 0.5) / 3)


def _result(original, edited, **kw) -> WhatIfResult:
    n = len(original)
    fields = dict(agent="a", game="Pong", edit="opponent-frozen", kind="game", says="the opponent stands still",
                  seeds=list(range(3, 3 + n)), max_steps=None, original_returns=original, edited_returns=edited,
                  original_lengths=[1] * n, edited_lengths=[1] * n, stats=paired_difference(original, edited),
                  moves_changed=None, first_screen_difference=None, first_move_difference=None, focus="the paddle")
    return WhatIfResult(**(fields | kw))


def test_summary_says_the_scores_and_a_sure_difference_in_words():
    r = _result([18.0, 19.0, 20.0], [-18.0, -17.0, -19.5], max_steps=500, first_screen_difference=4,
                first_move_difference=9, saliency_original=0.25, saliency_edited=0.5, saliency_frames=6, focus_area=0.125)
    s = r.stats
    lines = r.summary().splitlines()
    assert lines[0] == "Edit: the opponent stands still (game edit 'opponent-frozen')."
    assert lines[1] == (f"Over 3 episodes (seeds 3-5, each cut at 500 steps), the mean score of agent 'a' went from "
                        f"+19.0 ± {np.std([18, 19, 20]):.1f} to -18.2 ± {np.std([-18, -17, -19.5]):.1f}.")
    assert lines[2] == (f"Paired difference {s.diff_mean:+.1f} (95% CI {s.ci_low:+.1f} to {s.ci_high:+.1f}); "
                        "the interval excludes zero: the edit changed its score.")
    assert lines[3] == "In episode 1 the game first looked different at step 4; its first different move came at step 9."
    assert lines[4] == ("Share of its saliency on the paddle: 25% before, 50% after (6 frames each; "
                        "a map spread evenly would put 12% there).")
    assert len(lines) == 5


def test_summary_of_an_unsure_difference_one_episode_and_games_that_never_part():
    unsure = _result([1.0, -3.0, 2.0], [2.0, -1.0, -2.0]).summary().splitlines()
    assert unsure[2].endswith("; the interval includes zero: these episodes cannot tell whether the edit changed its score.")
    assert unsure[3] == "In episode 1 the agent's view never differed from the unedited game."
    one = _result([2.0], [-1.5], first_screen_difference=0).summary().splitlines()
    assert one[1] == "Over 1 episode (seed 3), the mean score of agent 'a' went from +2.0 ± 0.0 to -1.5 ± 0.0."
    assert one[2] == "Difference -3.5 (one episode: no confidence interval)."
    assert one[3] == "In episode 1 the game first looked different at step 0; its moves never differed."
    view = _result([2.0], [-1.5], kind="view", moves_changed=0.5, saliency_original=0.1, saliency_edited=0.2,
                   saliency_frames=2).summary().splitlines()
    assert view[3:] == ["On the same observations, its move changed on 50% of steps.",
                        "Share of its saliency on the paddle: 10% before, 20% after (2 frames each)."]
    assert "saliency" not in _result([1.0], [1.0], saliency_original=0.1).summary()  # no after: no line


def test_headline_of_one_episode_claims_no_interval():
    assert _result([2.0], [-1.5]).headline() == "Mean score +2.0 without the edit, -1.5 with it."
    assert _result([2.0, 4.0], [-1.5, -2.5]).headline().startswith("Mean score +3.0 without the edit, -2.0 with it (")


def test_to_dict_carries_the_stats_verdict_and_the_summary():
    r = _result([18.0, 19.0, 20.0], [-18.0, -17.0, -19.5])
    d = json.loads(r.to_json())
    assert d["stats"]["ci_excludes_zero"] is True and d["stats"]["n"] == 3
    assert d["summary"] == r.summary() and d["seeds"] == [3, 4, 5]
    assert math.isclose(d["stats"]["diff_mean"], r.stats.diff_mean)


def test_progress_shows_one_bar_per_side_counting_episodes_and_clears_it(play, capsys):
    env = lambda: ScriptedEnv(lambda s: 2, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    play(env(), env(), FakeEdit(), episodes=2, saliency_frames=0, progress=True)
    err = capsys.readouterr().err
    assert "unedited:" in err and "\redited:" in err and "episode/s" in err
    assert err.endswith("\r") and "100%" not in err  # each bar is removed when its side is done
    play(env(), env(), FakeEdit(), episodes=2, saliency_frames=0, progress=False)
    assert capsys.readouterr().err == ""


def test_mask_share_of_a_faint_map_is_still_its_share_and_a_blank_map_warns_nothing():
    maps = np.zeros((2, 84, 84))
    maps[0, 0, 0], maps[0, 9, 9] = 0.1, 0.3  # total 0.4 < 1: a quarter inside
    mask = np.zeros((84, 84), bool)
    mask[0, 0] = True
    assert _mask_share(maps, mask) == pytest.approx(0.25 / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 on the way to the 0 share of a blank frame
        assert _mask_share(np.zeros((1, 84, 84)), mask) == 0.0


def test_summary_of_two_episodes_says_episodes_and_gives_the_interval():
    lines = _result([1.0, 2.0], [3.0, 5.0]).summary().splitlines()
    assert lines[1].startswith("Over 2 episodes (seeds 3-4), the mean score")
    assert lines[2].startswith("Paired difference +2.5 (95% CI ")


def _shares(methods, frames=4):
    return {m: {"frames": frames, "without": {"ball": 0.5}, "with": {"ball": 0.25},
                "on_objects_without": 0.5, "on_objects_with": 0.25} for m in methods}


def test_summary_says_on_which_frames_the_object_shares_were_measured():
    game = _result([1.0], [0.0], object_shares=_shares(("saliency-actor", "saliency-critic"), frames=7))
    lines = game.summary().splitlines()
    assert lines[0].startswith("Edit: ") and lines[-3:] == [
        "Share of each map on the objects, without -> with the edit (mean over 7 frames: the frames of each game at the same steps):",
        "  actor saliency: ball 50% -> 25% (all objects 50% -> 25%)",
        "  critic saliency: ball 50% -> 25% (all objects 50% -> 25%)"]
    view = _result([1.0], [0.0], kind="view", object_shares=_shares(("saliency-actor", "saliency-critic")))
    assert ("Share of each map on the objects, without -> with the edit (mean over 4 frames: the same observations, "
            "objects found on the unedited view):") in view.summary().splitlines()


def test_one_method_of_its_own_is_named_as_it_is_called():
    r = _result([1.0], [0.0], object_shares=_shares(("my-method",), frames=2))
    assert r.summary().splitlines()[-1] == ("Share of its my-method on the objects, without -> with the edit (2 frames): "
                                            "ball 50% -> 25% (all objects 50% -> 25%).")


def test_headline_words_and_the_json_layout():
    sure = _result([18.0, 19.0, 20.0], [-18.0, -17.0, -19.5])
    assert sure.headline() == ("Mean score +19.0 without the edit, -18.2 with it "
                               "(the 95% confidence interval of the paired difference excludes 0).")
    text = sure.to_json()
    assert text.startswith('{\n "agent": "a",\n "game": "Pong",\n')  # one key a line, indented by one space


def test_the_defaults_are_three_episodes_from_seed_0_16_frames_object_shares_and_progress_bars(play, capsys):
    env = lambda: ScriptedEnv(lambda s: 200, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    background = np.zeros((84, 84), np.uint8)
    r = play(env(), env(), FakeEdit(mask=np.ones((84, 84), bool)), background=background, defaults=True)
    assert r.seeds == [0, 1, 2] and r.saliency_frames == 16
    assert play.calls["shares"] == [(True, 16, background, False, whatif.SHARE_METHODS)]
    assert r.object_shares == {"m": "shares"}
    assert "unedited:" in capsys.readouterr().err


def test_an_edit_given_by_name_is_parsed_for_this_agent_with_the_background_given(play, monkeypatch):
    agent, background, seen = _agent(), np.full((84, 84), 3, np.uint8), []

    def parse(text, a, bg):
        seen.append((text, a is agent, bg))
        return FakeEdit(text=text)

    monkeypatch.setattr(whatif, "parse_whatif_edit", parse)
    env = lambda: ScriptedEnv(lambda s: 2, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    r = play(env(), env(), "remove:ball", agent=agent, background=background, episodes=1, saliency_frames=0)
    assert seen == [("remove:ball", True, background)] and r.edit == "remove:ball"


def test_object_shares_use_the_agents_cached_background_on_both_sides_when_none_is_given(play, monkeypatch):
    """objects=True without a background: what_if asks rlviz.explain.objects.background for the
    agent's (cached) one, with the progress setting, and hands that same background and the
    two sides' maps to the object shares."""
    import rlviz.explain.objects as objects_package

    agent, cached, asked = _agent(), np.full((84, 84), 6, np.uint8), []

    def background(a, *, progress):
        asked.append((a is agent, progress))
        return cached

    monkeypatch.setattr(objects_package, "background", background)
    env = lambda: ScriptedEnv(lambda s: 200, lambda s, k: 0, lambda s, a: 0.0)  # noqa: E731
    play(env(), env(), FakeEdit(mask=None), agent=agent, objects=True, episodes=1, saliency_frames=2)
    assert asked == [(True, False)]
    assert len(play.calls["map_backgrounds"]) == 2 and all(b is cached for b in play.calls["map_backgrounds"])
    assert play.calls["shares"][0][2] is cached
    (maps,) = play.calls["share_maps"]
    assert len(maps) == 2 and maps[0] is play.calls["map_results"][0] and maps[1] is play.calls["map_results"][1]
