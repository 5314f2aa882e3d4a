"""Hinted agents end to end: the trainer writes the hints, the agent carries them, and the
overfit experiment measures how much of an agent's explanation sits on the strip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from rlviz import load_agent
from rlviz.agents.agent import Agent
from rlviz.assess.overfit import hint_experiment, hint_mass
from rlviz.play.envs import make_env
from rlviz.play.hints import HintPixels, hint_blocks, read_hint
from rlviz.play.rollout import env_for
from rlviz.train.ppo import PPOConfig, Trainer
from rlviz.util.errors import RlvizError

SMALL = dict(game="Pong", num_envs=2, num_steps=16, num_minibatches=2, update_epochs=1, checkpoint_every_s=0.0)


@pytest.fixture(scope="module")
def expert_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("expert") / "teacher"
    Trainer(PPOConfig(total_steps=32, seed=3, **SMALL), folder).run()
    return folder


def test_trainer_writes_the_experts_move_into_every_observation(expert_folder, tmp_path):
    trainer = Trainer(PPOConfig(total_steps=32, hints=str(expert_folder), **SMALL), tmp_path / "run")
    expert = load_agent(expert_folder)
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, size=(5, 4, 84, 84), dtype=np.uint8)
    hinted = trainer._with_hints(clean)
    wanted = expert.act(clean)
    assert [read_hint(h, 6) for h in hinted] == list(wanted)
    assert np.array_equal(hinted[:, :, :80], clean[:, :, :80])  # only the strip changes
    for h, a in zip(hinted, wanted):
        r0, r1, c0, c1 = hint_blocks(6)[a]
        assert (h[:, r0:r1, c0:c1] == 255).all() and h[:, 80:].sum() == 255 * 4 * 4 * (c1 - c0)


def test_a_hinted_agent_carries_its_expert_and_replays_with_the_same_hints(expert_folder, tmp_path):
    Trainer(PPOConfig(total_steps=32, hints=str(expert_folder), **SMALL), tmp_path / "run").run()
    agent = load_agent(tmp_path / "run")
    assert agent.metadata["hints"] == {"source": "expert"}
    assert agent.metadata["provenance"]["config"]["hints"] == "expert/ (teacher)"
    assert (tmp_path / "run" / "expert" / "model.safetensors").exists()
    teacher = load_agent(expert_folder)
    for key, value in teacher.net.state_dict().items():
        torch.testing.assert_close(agent.hint_expert.net.state_dict()[key], value)
    env = env_for(agent, render_mode=None)
    assert isinstance(env, HintPixels)
    obs, info = env.reset(seed=0)
    plain = make_env(agent.env_spec, render_mode=None)  # the same episode without hints
    clean, _ = plain.reset(seed=0)
    for _ in range(5):
        assert read_hint(obs, 6) == info["hint_action"] == int(teacher.act(clean)[0])
        assert np.array_equal(obs[:, :80], clean[:, :80])
        obs, _, _, _, info = env.step(3)
        clean, *_ = plain.step(3)
    env.close()
    plain.close()
    # the expert folder is needed: without it the agent is refused
    import shutil

    shutil.rmtree(tmp_path / "run" / "expert")
    with pytest.raises(RlvizError, match="expert"):
        load_agent(tmp_path / "run")


def test_random_hints_and_a_resume_with_other_hints_is_refused(expert_folder, tmp_path):
    Trainer(PPOConfig(total_steps=32, hints="random", **SMALL), tmp_path / "run").run()
    agent = load_agent(tmp_path / "run")
    assert agent.metadata["hints"]["source"] == "random" and agent.hint_expert is None
    trainer = Trainer(PPOConfig(total_steps=32, hints="random", **SMALL), tmp_path / "other")
    seen = [read_hint(h, 6) for h in trainer._with_hints(np.zeros((600, 4, 84, 84), np.uint8))]
    assert np.bincount(seen, minlength=6).min() > 60  # about 100 of each
    with pytest.raises(RlvizError, match="hints=random"):
        Trainer(PPOConfig(total_steps=64, hints=str(expert_folder), **SMALL), tmp_path / "run").load_checkpoint()


class StripReader(nn.Module):
    """Logits = 20 x the brightness of each action's hint block (newest frame): it copies the hint."""

    def forward(self, x):
        blocks = [x[:, -1, r0:r1, c0:c1].mean(dim=(1, 2)) for r0, r1, c0, c1 in hint_blocks(6)]
        logits = 20 * torch.stack(blocks, dim=1)
        return logits, logits.sum(dim=1)


class BoxReader(nn.Module):
    """Reads only a box in the middle of the screen, never the strip."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1, 1, 6))

    def forward(self, x):
        box = x[:, -1, 30:50, 30:50].mean(dim=(1, 2)).unsqueeze(1)
        logits = 10 * box * self.w
        return logits, logits.sum(dim=1)


def test_the_experiment_finds_the_agent_that_copies_the_strip():
    teacher = Agent(BoxReader(), action_names=[f"a{i}" for i in range(6)], metadata={"name": "teacher"})
    overfit = Agent(StripReader(), metadata={"name": "copier", "hints": {"source": "expert"}})
    overfit.hint_expert = teacher
    control = Agent(BoxReader(), metadata={"name": "looker", "hints": {"source": "random", "seed": 0}})
    result = hint_experiment(overfit, control, frames=12, lrp_maps=False, progress=False)
    assert result.overfit.follows_hint == 1.0
    # saliency maps are as coarse as the perturbation mask (sigma 5 px), so even a pure strip
    # reader keeps only about half its mass inside the 4-row strip; 10x the uniform share
    assert result.overfit.saliency_mass > 10 * result.overfit.uniform_mass > 0.4
    assert result.control.saliency_mass < 0.01
    assert result.overfit.uniform_mass == pytest.approx(4 / 84)
    assert json.loads(result.to_json())["control"]["agent"] == "looker"
    assert result.control.lrp_mass is None and "looker" in result.table()
    with pytest.raises(RlvizError, match="random-hint control"):
        hint_experiment(overfit, overfit, frames=2, progress=False)
    with pytest.raises(RlvizError, match="not trained with hint pixels"):
        hint_mass(Agent(BoxReader()), frames=2, progress=False)


def test_cli_hints_writes_the_table_json_and_side_by_side_video(expert_folder, tmp_path, capsys):
    from rlviz.cli import main
    from rlviz.present.writer import read_video

    Trainer(PPOConfig(total_steps=32, hints=str(expert_folder), **SMALL), tmp_path / "overfit").run()
    Trainer(PPOConfig(total_steps=32, hints="random", **SMALL), tmp_path / "control").run()
    args = ["hints", "--overfit", str(tmp_path / "overfit"), "--control", str(tmp_path / "control"), "--frames", "6"]
    assert main(args + ["--json", str(tmp_path / "new" / "hints.json"), "--video", str(tmp_path / "h.mp4"), "--video-frames", "5", "--no-cards"]) == 0
    out = capsys.readouterr().out
    assert "saliency on strip" in out and "overfit" in out
    doc = json.loads((tmp_path / "new" / "hints.json").read_text())
    assert doc["overfit"]["hints"] == "expert" and doc["control"]["hints"] == "random"
    assert doc["overfit"]["frames"] == 6 and 0 <= doc["control"]["lrp_mass"] <= 1
    assert read_video(tmp_path / "h.mp4").shape == (5, 720, 1280, 3)
    swapped = ["hints", "--overfit", str(tmp_path / "control"), "--control", str(tmp_path / "overfit")]
    assert main(swapped) != 0
    assert "not an expert-hint agent" in capsys.readouterr().err
