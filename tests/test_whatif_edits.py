"""Game and view edits really change what the emulator does (or only what the agent sees),
measured on RGB frames and lives; bad edits are refused before playing."""

from __future__ import annotations

import numpy as np
import pytest

from rlviz.play.envs import make_env
from rlviz.play.game_edits import EDITS, RamEdits, check_edit_fits, game_edit
from rlviz.play.view_edits import Blank, Box, ViewEdit, parse_view_edit
from rlviz.util.errors import RlvizError

ENEMY_ORANGE = np.array([213, 130, 74])  # Pong's opponent paddle (OCAtari's colour)


def _env(game: str, edit: str | None):
    wrap = (lambda base: RamEdits(base, game_edit(game, edit))) if edit else None
    return make_env(game, noop_max=0, wrap_base=wrap)


def _frames(env, steps: int, seed: int = 0, action: int | None = None, render: bool = True):
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    frames, lives = [], []
    for _ in range(steps):
        a = int(rng.integers(env.action_space.n)) if action is None else action
        _, _, terminated, truncated, info = env.step(a)
        if render:
            frames.append(env.render())
        lives.append(info["lives"])
        if terminated or truncated:
            break
    return (np.stack(frames) if frames else None), lives


def _paddle_tops(frames: np.ndarray) -> np.ndarray:
    """Top row of the opponent's orange paddle in the playfield (rows 34-193, columns 16-19); -1 if absent."""
    band = (frames[:, 34:194, 16:20] == ENEMY_ORANGE).all(-1).any(-1)
    return np.array([np.nonzero(b)[0].min() if b.any() else -1 for b in band])


def test_frozen_opponent_paddle_stays_still_over_100_steps():
    tops = _paddle_tops(_frames(_env("Pong", "opponent-frozen"), 100)[0])
    free = _paddle_tops(_frames(_env("Pong", None), 100)[0])
    still = np.abs(tops - np.median(tops)) <= 4  # the drawn paddle wobbles by 2-4 px between frames
    assert still.mean() >= 0.95, f"frozen paddle moved: tops {sorted(set(tops.tolist()))}"
    assert np.ptp(free[free >= 0]) > 40  # the unedited opponent travels


def test_lazy_opponent_stands_still_while_the_ball_travels_to_the_agent():
    from rlviz.play.game_edits import PONG_BALL_X

    def run(edit):
        env = _env("Pong", edit)
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        ram = env.unwrapped.ale
        xs, tops = [], []
        for _ in range(300):
            env.step(int(rng.integers(6)))
            xs.append(int(ram.getRAM()[PONG_BALL_X]))
            tops.append(_paddle_tops(env.render()[None])[0])
        xs, tops = np.array(xs), np.array(tops)
        away = (np.diff(xs[:-1]) > 0) & (np.diff(xs[1:]) > 0)  # the ball moved towards the agent over two steps
        moved = np.diff(tops[1:]) != 0
        return moved[away].mean(), away.sum()

    lazy_moves, n = run("opponent-lazy")
    free_moves, _ = run(None)
    assert n > 30
    assert lazy_moves <= 0.05 < free_moves


@pytest.mark.parametrize(("edit", "gone", "kept"), [("top-row-removed", (57, 63), (87, 93)), ("bottom-row-removed", (87, 93), (57, 63))])
def test_breakout_row_removal_empties_that_row_only(edit, gone, kept):
    last = _frames(_env("Breakout", edit), 30, action=1)[0][-1]
    assert (last[gone[0] : gone[1], 8:152].sum(-1) > 0).mean() == 0.0
    assert (last[kept[0] : kept[1], 8:152].sum(-1) > 0).mean() > 0.95
    unedited = _frames(_env("Breakout", None), 30, action=1)[0][-1]
    assert (unedited[gone[0] : gone[1], 8:152].sum(-1) > 0).mean() > 0.95


SHIELD_ORANGE = np.array([181, 83, 40])  # OCAtari's shield colour


def test_spaceinvaders_shields_removed_over_100_steps():
    def shield_pixels(frames):
        return (frames[:, 157:175, 40:116] == SHIELD_ORANGE).all(-1).sum(axis=(1, 2))

    assert shield_pixels(_frames(_env("SpaceInvaders", "shields-removed"), 100)[0]).max() == 0
    assert shield_pixels(_frames(_env("SpaceInvaders", None), 100)[0]).min() > 100


def test_invaders_not_shooting_costs_no_life_while_unedited_loses_some():
    # random play from seed 1: unedited, the first life is lost after 135 steps (measured)
    assert min(_frames(_env("SpaceInvaders", None), 200, seed=1, render=False)[1]) < 3
    assert min(_frames(_env("SpaceInvaders", "invaders-not-shooting"), 200, seed=1, render=False)[1]) == 3


def test_unknown_game_or_edit_is_refused_with_one_line_listing_what_exists():
    with pytest.raises(RlvizError, match="its edits: opponent-frozen, opponent-lazy") as e:
        game_edit("Pong", "faster-ball")
    assert "\n" not in str(e.value)
    with pytest.raises(RlvizError, match="games with edits: Pong, Breakout, SpaceInvaders"):
        game_edit("Seaquest", "opponent-frozen")


def test_edit_for_another_game_or_rom_is_refused_before_playing():
    with pytest.raises(RlvizError, match="written for Pong, not Breakout"):
        check_edit_fits(game_edit("Pong", "opponent-frozen"), "Breakout")
    with pytest.raises(RlvizError, match="MD5"):
        check_edit_fits(game_edit("Pong", "opponent-frozen"), "Pong", md5="0" * 32)
    with pytest.raises(RlvizError, match="written for Pong"):  # the wrapper checks the ROM it is put on
        make_env("Breakout", wrap_base=lambda base: RamEdits(base, game_edit("Pong", "opponent-frozen")))
    for game, edits in EDITS.items():  # the installed ROMs are the ones the addresses were checked on
        for edit in edits.values():
            check_edit_fits(edit, game)


def test_blank_view_edit_paints_every_stacked_frame_and_leaves_the_game_alone():
    edit = parse_view_edit("blank:0,14,12,80")
    assert edit == Blank(Box(0, 14, 12, 80), None)
    env = ViewEdit(make_env("Pong", noop_max=0), edit)
    plain = make_env("Pong", noop_max=0)
    obs, _ = env.reset(seed=0)
    ref, _ = plain.reset(seed=0)
    for _ in range(20):
        obs, *_ = env.step(3)
        ref, *_ = plain.step(3)
    obs, ref = np.asarray(obs), np.asarray(ref)
    np.testing.assert_array_equal(env.unedited, ref)  # the game itself is untouched
    for f, r in zip(obs, ref):
        assert (f[14:80, 0:12] == np.median(r)).all()
        np.testing.assert_array_equal(f[:, 12:], r[:, 12:])
    assert (np.asarray(ViewEdit(plain, Blank(Box(0, 0, 84, 84), 7)).reset(seed=0)[0]) == 7).all()


def test_blank_takes_a_per_frame_mask_from_any_region():
    # the hook for named objects: a Region may give one mask per stacked frame
    class Diagonal:
        says = "one pixel per frame"

        def mask(self, obs):
            m = np.zeros(obs.shape, bool)
            for k in range(obs.shape[0]):
                m[k, k, k] = True
            return m

    obs = np.full((4, 84, 84), 9, np.uint8)
    out = Blank(Diagonal(), 0).apply(obs)
    assert (out == 0).sum() == 4 and all(out[k, k, k] == 0 for k in range(4))


@pytest.mark.parametrize("text", ["blank:0,0,90,10", "blank:5,5,5,9", "blank:a,b,c,d", "blank:0,0,4,4=300", "box:1,2,3,4", "hint:sideways"])
def test_bad_view_edits_are_refused(text):
    with pytest.raises(RlvizError):
        parse_view_edit(text)


def test_hint_edits_rewrite_the_strip_in_the_view_and_on_the_rendered_frame():
    from rlviz.play.hints import HintPixels, read_hint
    from rlviz.play.view_edits import HintEdit

    def env(mode):
        return HintEdit(HintPixels(make_env("Pong", noop_max=0), expert=lambda obs: 2), mode)

    off = env("off")
    obs, info = off.reset(seed=0)
    assert (np.asarray(obs)[:, 80:, :] == 0).all() and info["hint_shown"] is None
    assert read_hint(off.unedited, 6) == 2  # the expert's hint is still there underneath
    assert (off.render()[200:, :] == 0).all()
    constant = env("constant=LEFT")
    obs, info = constant.reset(seed=0)
    assert read_hint(obs, 6) == 3 == info["hint_shown"]
    frame = constant.render()
    assert (frame[200:, 3 * 160 // 6 + 2 : 4 * 160 // 6 - 2] == 255).all() and (frame[200:, :20] == 0).all()
    shown = []
    for _ in range(2):  # random hints replay with the reset seed
        r = env("random")
        r.reset(seed=5)
        shown.append([r.step(0)[4]["hint_shown"] for _ in range(10)])
    assert shown[0] == shown[1] and len(set(shown[0])) > 1
