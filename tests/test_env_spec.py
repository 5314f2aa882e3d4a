"""EnvSpec and game names (rlviz/play/spec.py): what an agent file records and what users type."""

from __future__ import annotations

import dataclasses

import pytest

from rlviz.play.spec import EnvSpec, _snake, canonical_game
from rlviz.util.errors import RlvizError


@pytest.mark.parametrize(
    "name,expected",
    [(" Pong\n", "Pong"), ("Breakout-v4", "Breakout"), ("BreakoutDeterministic-v4", "Breakout"),
     ("space-invaders", "SpaceInvaders"), ("SPACE_INVADERS", "SpaceInvaders"), ("ALE/MontezumaRevenge-v5", "MontezumaRevenge"),
     ("SpaceInvadersNoFrameskip-v4", "SpaceInvaders")],
)
def test_ids_with_versions_suffixes_spaces_and_hyphens_name_their_game(name, expected):
    assert canonical_game(name) == expected


@pytest.mark.parametrize("name,snake", [("Pong", "pong"), ("SpaceInvaders", "space_invaders"),
                                        ("MontezumaRevenge", "montezuma_revenge")])
def test_snake_case_names_are_the_rom_ids_ale_vector_envs_take(name, snake):
    from ale_py import roms

    assert _snake(name) == snake and snake in roms.get_all_rom_ids()


def test_an_unknown_name_in_capitals_is_matched_case_blind_to_at_most_five_names():
    from ale_py import roms

    with pytest.raises(RlvizError, match=r"^unknown Atari game 'PONGG'; closest valid names: pong, ") as err:
        canonical_game("PONGG")
    names = str(err.value).split("closest valid names: ")[1].split(", ")
    games = {rom.replace("_", "") for rom in roms.get_all_rom_ids()}
    assert len(names) == 5 and set(names) <= games  # six games are that close; five are named


def test_a_name_like_no_game_suggests_the_three_best_known():
    with pytest.raises(RlvizError) as err:
        canonical_game("qqqqqqqqqq")
    assert str(err.value) == "unknown Atari game 'qqqqqqqqqq'; closest valid names: Pong, Breakout, SpaceInvaders"


def test_closest_names_are_at_most_five_best_first():
    with pytest.raises(RlvizError) as err:
        canonical_game("Pongg")
    names = str(err.value).split("closest valid names: ")[1].split(", ")
    assert names[0] == "Pong" and len(names) == 5


@pytest.mark.parametrize(
    "fields,message",
    [({"pipeline": "rlzoo"}, "unknown pipeline 'rlzoo'; use one of gymnasium, sb3, cleanrl"),
     ({"grayscale": False}, "only grayscale observations are supported (grayscale=True)"),
     ({"max_pool": False},
      "every pipeline max-pools the last two skipped frames; max_pool=False is not supported")],
)
def test_unsupported_specs_are_refused_with_what_to_use(fields, message):
    with pytest.raises(RlvizError) as err:
        EnvSpec(**fields)
    assert str(err.value) == message


@pytest.mark.parametrize("pipeline", ["gymnasium", "sb3", "cleanrl"])
def test_every_pipeline_is_accepted(pipeline):
    assert EnvSpec(pipeline=pipeline).pipeline == pipeline


def test_the_observation_shape_is_stack_by_size_by_size():
    assert EnvSpec(frame_stack=3, screen_size=40).obs_shape == (3, 40, 40)


def test_a_spec_is_written_as_every_field_by_name():
    spec = EnvSpec("Breakout", frame_skip=2)
    assert spec.to_dict() == {f.name: getattr(spec, f.name) for f in dataclasses.fields(EnvSpec)}
    assert spec.to_dict()["frame_skip"] == 2 and spec.to_dict()["game"] == "Breakout"


def test_a_spec_with_unknown_fields_names_them_sorted_and_the_known_ones():
    with pytest.raises(RlvizError) as err:
        EnvSpec.from_dict({"game": "Pong", "skip": 3, "frameskip": 3})
    known = sorted(f.name for f in dataclasses.fields(EnvSpec))
    assert str(err.value) == f"env spec has unknown fields ['frameskip', 'skip']; known fields: {known}"
