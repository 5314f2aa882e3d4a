"""Agents: forward conventions, Q-networks, and the native save/load format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rlviz import load_agent
from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureQNetwork
from rlviz.play.envs import EnvSpec
from rlviz.play.rollout import env_for
from rlviz.util.errors import RlvizError


def test_agent_takes_uint8_and_divides_by_255_outside_the_net(pong_agent, random_obs):
    logits, value = pong_agent(random_obs)
    ref_logits, ref_value = pong_agent.net(torch.from_numpy(random_obs).float() / 255.0)
    torch.testing.assert_close(logits, ref_logits)
    torch.testing.assert_close(value, ref_value)
    assert logits.shape == (3, 6) and value.shape == (3,)


def test_q_network_values_are_max_q(random_obs):
    torch.manual_seed(0)
    agent = Agent(NatureQNetwork(6), architecture={"name": "nature-q", "n_actions": 6})
    assert agent.kind == "q"
    q, value = agent(random_obs)
    torch.testing.assert_close(value, q.max(dim=-1).values)


def test_save_and_load_round_trip_spec_names_and_outputs(tmp_path, random_obs):
    torch.manual_seed(0)
    spec = EnvSpec("Breakout", noop_max=5, sticky_action_prob=0.25)
    agent = Agent(NatureQNetwork(4), env_spec=spec, action_names=["NOOP", "FIRE", "RIGHT", "LEFT"],
                  architecture={"name": "nature-q", "n_actions": 4}, metadata={"provenance": {"steps": 12}})
    loaded = load_agent(agent.save(tmp_path / "q"))
    assert loaded.env_spec == spec
    assert loaded.action_names == agent.action_names and loaded.kind == "q"
    assert loaded.metadata["provenance"] == {"steps": 12}
    torch.testing.assert_close(loaded(random_obs)[0], agent(random_obs)[0])


def test_corrupt_weights_are_refused(agent_dir):
    path = agent_dir / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RlvizError, match="corrupt"):
        load_agent(agent_dir)


def test_unknown_weight_keys_are_listed(agent_dir):
    from safetensors.torch import load_file, save_file

    state = load_file(str(agent_dir / "model.safetensors"))
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(agent_dir / "model.safetensors"))
    with pytest.raises(RlvizError, match=r"unknown \['extra.weight'\]"):
        load_agent(agent_dir)


def test_foreign_json_is_refused(agent_dir):
    (agent_dir / "agent.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(RlvizError, match="not an rlviz agent"):
        load_agent(agent_dir)


def test_agent_whose_actions_do_not_fit_the_env_is_refused_before_playing(tmp_path):
    agent = Agent(NatureQNetwork(4), env_spec=EnvSpec("Pong"))
    with pytest.raises(RlvizError, match="4 actions but Pong has 6"):
        env_for(agent)


def test_wrong_game_for_a_native_agent_is_refused(agent_dir):
    with pytest.raises(RlvizError, match="trained on Pong"):
        load_agent(agent_dir, game="Breakout")


def test_observation_shape_mismatch_is_refused(pong_agent):
    with pytest.raises(RlvizError, match="shape"):
        pong_agent(np.zeros((84, 84), np.uint8))


def test_public_api_is_reachable_from_the_package():
    import rlviz

    for name in ("make_env", "load_agent", "Agent", "EnvSpec", "perturbation_saliency", "lrp",
                 "neuron_interactions", "policy_interactions", "frame_interactions", "make_video", "evaluate"):
        assert callable(getattr(rlviz, name)), name
