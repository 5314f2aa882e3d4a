"""The background (explain/objects/background.py) from a scripted env whose frames are known, its
cache, its settings, and the ``remove:OBJECT`` region (explain/objects/view_edit.py).

The scripted env replaces the emulator inside ``env_for`` (the real ``play`` loop drives it), so
the median can be checked against frames written by hand, in milliseconds."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch
from object_case import BALL, COURT, pong_scene

from rlviz.explain.objects import object_saliency
from rlviz.explain.objects.background import background, background_key, compute_background, default_steps, reference_observation
from rlviz.explain.objects.view_edit import ObjectRegion, object_names, object_removal
from rlviz.util.errors import RlvizError

bg_module = importlib.import_module("rlviz.explain.objects.background")


class ScriptedEnv:
    """Observations whose newest frame is filled with the next value of ``values``; every
    episode lasts ``length`` steps. Records the seeds it was reset with and whether it was closed."""

    def __init__(self, values: list[int], length: int = 100) -> None:
        self.values, self.length, self.k = list(values), length, 0
        self.seeds: list[int] = []
        self.closed = False
        self.t = 0

    def _obs(self) -> np.ndarray:
        obs = np.full((4, 84, 84), 255, np.uint8)  # older frames: never the ones a background reads
        obs[-1] = self.values[self.k % len(self.values)]
        self.k += 1
        return obs

    def reset(self, seed: int | None = None):
        self.seeds.append(seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: int):
        self.t += 1
        return self._obs(), 0.0, self.t >= self.length, False, {}

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def scripted(monkeypatch):
    envs: list[ScriptedEnv] = []

    def install(values: list[int], length: int = 100) -> list[ScriptedEnv]:
        monkeypatch.setattr(bg_module, "env_for", lambda agent, render_mode=None: envs.append(ScriptedEnv(values, length)) or envs[-1])
        return envs

    return install


def test_the_background_is_the_rounded_median_of_the_newest_frames(pong_agent, scripted) -> None:
    envs = scripted([0, 11, 12, 50])
    bg = compute_background(pong_agent, steps=4, progress=False)
    assert bg.dtype == np.uint8 and bg.shape == (84, 84)
    assert (bg == 12).all()  # median 11.5, rounded (not cut to 11)
    assert envs[0].closed
    envs = scripted([3, 7, 9])
    assert (compute_background(pong_agent, steps=3, progress=False) == 7).all()


def test_background_play_runs_episodes_in_a_row_from_the_seed(pong_agent, scripted) -> None:
    envs = scripted([10, 20, 30], length=2)
    bg = compute_background(pong_agent, steps=5, seed=7, progress=False)
    assert envs[0].seeds == [7, 8, 9]  # 5 steps of 2-step episodes: seeds 7, 8, 9
    # reset, step (ep 7); reset, step (ep 8); reset (ep 9): values 10, 20, [30 ends ep 7], 10, 20, [30], 10
    assert (bg == 10).all()


def test_a_background_needs_at_least_one_step(pong_agent, scripted) -> None:
    scripted([42])
    assert (compute_background(pong_agent, steps=1, progress=False) == 42).all()
    with pytest.raises(RlvizError, match=r"^a background needs at least 1 step of play, got steps=0$"):
        compute_background(pong_agent, steps=0, progress=False)


def test_the_progress_bar_names_the_game_and_is_silent_when_asked(pong_agent, scripted, capsys) -> None:
    scripted([1])
    compute_background(pong_agent, steps=2, progress=False)
    assert capsys.readouterr().err == ""
    compute_background(pong_agent, steps=2, progress=True)
    assert "background Pong" in capsys.readouterr().err
    compute_background(pong_agent, steps=2)  # shown by default, counting steps to the total
    err = capsys.readouterr().err
    assert "background Pong" in err and "2/2 [" in err and "step/s]" in err


def test_background_play_starts_at_seed_0_and_plays_as_many_episodes_as_the_steps_need(pong_agent, scripted) -> None:
    envs = scripted([5], length=1)  # one step per episode: 70 steps are 70 episodes
    compute_background(pong_agent, steps=70, progress=False)
    assert envs[0].seeds == list(range(70))


def test_the_cache_folder_is_made_with_its_parents(pong_agent, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(bg_module, "compute_background", lambda agent, **kw: np.full((84, 84), 3, np.uint8))
    deep = tmp_path / "runs" / "cache" / "backgrounds"
    assert (background(pong_agent, steps=3, cache_dir=deep, progress=False) == 3).all()
    assert (deep / f"{background_key(pong_agent, steps=3)}.png").is_file()


def test_background_steps_come_from_the_environment_variable(monkeypatch) -> None:
    monkeypatch.delenv("RLVIZ_BACKGROUND_STEPS", raising=False)
    assert default_steps() == 1000
    monkeypatch.setenv("RLVIZ_BACKGROUND_STEPS", "  ")
    assert default_steps() == 1000
    monkeypatch.setenv("RLVIZ_BACKGROUND_STEPS", " 25 ")
    assert default_steps() == 25
    monkeypatch.setenv("RLVIZ_BACKGROUND_STEPS", "1")
    assert default_steps() == 1
    for bad in ("0", "-3", "2.5", "many"):
        monkeypatch.setenv("RLVIZ_BACKGROUND_STEPS", bad)
        with pytest.raises(RlvizError, match=rf"^RLVIZ_BACKGROUND_STEPS must be a positive number of steps, got '{bad}'; unset it for 1000$"):
            default_steps()


def test_the_cached_background_has_a_note_and_is_recomputed_when_asked_or_unreadable(pong_agent, tmp_path, monkeypatch) -> None:
    calls = []

    def fake(agent, *, steps, seed, progress):
        assert agent is pong_agent and progress is False
        calls.append((steps, seed))
        return np.full((84, 84), 7 + len(calls), np.uint8)

    monkeypatch.setattr(bg_module, "compute_background", fake)
    monkeypatch.setenv("RLVIZ_BACKGROUND_STEPS", "9")
    first = background(pong_agent, seed=3, cache_dir=tmp_path, progress=False)
    assert calls == [(9, 3)] and (first == 8).all()  # the steps of the environment variable
    (png,) = tmp_path.glob("*.png")
    assert png.stem == background_key(pong_agent, steps=9, seed=3)
    note = json.loads(png.with_suffix(".json").read_text())
    assert note == {"game": "Pong", "agent": "untrained-pong", "steps": 9, "seed": 3, "env": pong_agent.env_spec.to_dict(),
                    "statistic": "per-pixel median of the newest stacked frame"}
    assert (background(pong_agent, seed=3, cache_dir=tmp_path, progress=False) == 8).all() and len(calls) == 1
    assert (background(pong_agent, seed=3, cache_dir=tmp_path, refresh=True, progress=False) == 9).all()
    assert len(calls) == 2
    import cv2

    cv2.imwrite(str(png), np.zeros((10, 10), np.uint8))  # a cache file of another size is not used
    assert (background(pong_agent, seed=3, cache_dir=tmp_path, progress=False) == 10).all() and len(calls) == 3
    assert (background(pong_agent, seed=3, cache_dir=None, progress=False) == 11).all()  # no cache: computed, not written
    assert calls[-1] == (9, 3)
    assert len(list(tmp_path.iterdir())) == 2
    assert (background(pong_agent, steps=4, seed=3, cache_dir=tmp_path, progress=False) == 12).all()
    assert calls[-1] == (4, 3)


def test_a_cache_that_cannot_be_written_is_one_clear_error(pong_agent, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(bg_module, "compute_background", lambda agent, **kw: np.zeros((84, 84), np.uint8))
    path = tmp_path / f"{background_key(pong_agent, steps=3)}.png"
    path.mkdir()  # a folder where the file should go
    with pytest.raises(RlvizError, match=r"^could not write the background cache .*\.png; pass another cache_dir$"):
        background(pong_agent, steps=3, cache_dir=tmp_path, progress=False)


def test_the_key_changes_with_seed_and_weights_and_keeps_the_name_file_safe(pong_agent) -> None:
    key = background_key(pong_agent, steps=10, seed=0)
    assert key != background_key(pong_agent, steps=10, seed=1)
    prefix, digest = key.rsplit("-", 1)
    assert prefix == "Pong-gymnasium-untrained-pong" and len(digest) == 12 and int(digest, 16) >= 0
    pong_agent.metadata["name"] = "my agent/v1.2"
    assert background_key(pong_agent, steps=10).startswith("Pong-gymnasium-my_agent_v1_2-")
    assert background_key(pong_agent, steps=10).endswith(digest)  # the name is not in the hash
    with torch.no_grad():
        next(iter(pong_agent.net.parameters())).view(-1)[0] += 1.0  # any weight, not only the last layer's
    assert not background_key(pong_agent, steps=10).endswith(digest)


def test_the_reference_observation_is_the_background_on_the_unit_scale_in_every_slot() -> None:
    bg = np.arange(84 * 84, dtype=np.int64).reshape(84, 84) % 256
    ref = reference_observation(bg.astype(np.uint8), stack=2)
    assert ref.dtype == torch.float32 and ref.shape == (2, 84, 84)
    assert torch.equal(ref[0], ref[1]) and torch.equal(ref[1], torch.from_numpy((bg / 255.0).astype(np.float32)))
    assert reference_observation(np.zeros((84, 84), np.uint8)).shape == (4, 84, 84)
    with pytest.raises(RlvizError, match=r"^a background is one frame \(H, W\), got shape \(4, 84, 84\)$"):
        reference_observation(np.zeros((4, 84, 84), np.uint8))


# object saliency and remove:OBJECT ----------------------------------------------------------


def test_object_saliency_of_no_objects_is_empty(pong_agent) -> None:
    obs, bg = pong_scene()
    assert object_saliency(pong_agent, obs, [], bg) == {}


def test_an_object_region_says_its_name_and_finds_it_in_each_observation() -> None:
    obs, bg = pong_scene()
    ball = ObjectRegion("ball", bg, "Pong")
    assert ball.says == "the ball" and ObjectRegion("object 2", bg, None).says == "object 2"
    assert ball.fixed is False
    mask = ball.mask(obs)
    assert mask.shape == (4, 84, 84) and mask[obs == BALL].all()
    assert not mask[:, 30:38, 73:75].any()  # not the paddle
    empty = np.repeat(bg[None], 4, axis=0)
    assert not ball.mask(empty).any() and ball.mask(empty).shape == (4, 84, 84)
    assert ball.mask(bg).shape == (84, 84)  # one frame: one mask
    assert ObjectRegion("opponent's paddle", bg, "Pong").mask(obs).shape == (4, 84, 84)


def test_object_names_are_the_games_names_or_none() -> None:
    assert object_names("Pong") == ("ball", "opponent's paddle", "agent's paddle", "agent's score", "opponent's score")
    assert object_names("ALE/Breakout-v5") == ("ball", "paddle", "bricks", "score", "lives")
    assert object_names("Tennis") == () and object_names(None) == ()


def test_remove_accepts_numbered_objects_in_any_game_and_refuses_other_names_in_one_line() -> None:
    obs, bg = pong_scene()
    edit = object_removal("object 1", bg.astype(np.int64), "Tennis")
    assert edit.background.dtype == np.uint8 and edit.region.background.dtype == np.uint8
    assert edit.region.name == "object 1" and edit.region.game == "Tennis"
    out = edit.apply(obs)
    assert (out[obs == BALL] == BALL).all() and (out[:, 30:38, 73:75] == COURT).all()  # object 1: the paddle (top row 30)
    assert object_removal("object 12", bg, "Pong").region.name == "object 12"
    with pytest.raises(RlvizError, match=r"^unknown object 'ball' for Tennis; its objects: object 1, object 2, \.\.\. "
                                         r"\(numbered top-left first; see 'rlviz objects --boxes'\)$"):
        object_removal("ball", bg, "Tennis")
    for bad in ("object", "object x", "objects 1", "Ball"):
        with pytest.raises(RlvizError, match="unknown object"):
            object_removal(bad, bg, "Pong")
    with pytest.raises(RlvizError, match=r"^unknown object 'Ball' for Pong; its objects: ball, opponent's paddle, "
                                         r"agent's paddle, agent's score, opponent's score$"):
        object_removal("Ball", bg, "Pong")


def test_a_background_computed_without_a_cache_shows_its_progress_by_default(pong_agent, scripted, capsys) -> None:
    scripted([5])
    assert (background(pong_agent, steps=2, cache_dir=None) == 5).all()
    assert "background Pong" in capsys.readouterr().err
