"""One small report (two untrained Pong agents, 12 steps, saliency, LRP and three registered
methods), built once per test process and
shared by the report's data tests and its browser tests, with the rollout replayed
independently of the report's own code as the oracle."""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from object_case import row_mode_background

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.play.envs import EnvSpec
from rlviz.play.rollout import env_for, play, replay_frames
from rlviz.present.report import ReportResult, make_report

PONG_ACTIONS = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
STEPS = 12
SEED = 3
SUMMARY_STEPS = 16
METHODS = "saliency,lrp,gradient,integrated-gradients,gradcam"  # registered methods: unsigned, signed, one map per obs


def untrained(seed: int, name: str) -> Agent:
    torch.manual_seed(seed)
    return Agent(NatureActorCritic(6), env_spec=EnvSpec("Pong"), action_names=PONG_ACTIONS,
                 architecture={"name": "nature-actor-critic", "n_actions": 6, "in_channels": 4}, metadata={"name": name})


@dataclass
class Case:
    agent: Agent
    other: Agent
    result: ReportResult
    folder: Path
    data: dict
    rgb: list[np.ndarray]  # the RGB frame of each step of the rollout, replayed independently
    obs: list[np.ndarray]
    actions: list[int]
    background: np.ndarray  # the objects layer's background (tests/object_case.py: each row's most common gray)


def read_data(folder: Path) -> dict:
    text = (folder / "data.js").read_text()
    return json.loads(text[text.index("=") + 1 : text.rindex(";")])


def write_small_summary(agent: Agent, folder: Path) -> Path:
    """A real ``rlviz summarize`` output of ``agent``: 2 games of SUMMARY_STEPS steps from SEED
    (the first game's first STEPS steps are the report's rollout), plus fields a newer summary
    might add, which the page must show without knowing them."""
    from rlviz.assess.summary_run import summarize
    from rlviz.present.summary_report import write_summary

    write_summary(summarize(agent, 2, frames_per_episode=SUMMARY_STEPS, seed=SEED, progress=False), folder)
    doc = json.loads((folder / "summary.json").read_text())
    doc["fc1_groups"] = [{"units": [1, 2], "note": "added by a newer rlviz"}]
    first = next(iter(doc["actions"].values()))
    first["graph"]["vertices"][0]["saliency_where"] = [40.5, 12.25]
    (folder / "summary.json").write_text(json.dumps(doc))
    return folder


@functools.lru_cache(maxsize=1)
def small_report() -> Case:
    agent, other = untrained(0, "net-a"), untrained(1, "net-b")
    env = env_for(agent)
    steps = list(play(agent, env, seed=SEED, max_steps=STEPS))
    frames = list(replay_frames(env, steps, seed=SEED))
    env.close()
    background = row_mode_background(frames[-1][1][-1])
    folder = Path(tempfile.mkdtemp(prefix="rlviz-report-test-")) / "report"
    card = folder.parent / "card"
    card.mkdir()
    (card / "README.md").write_text("# net-a\n\nA **test** card <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    summary = write_small_summary(agent, folder.parent / "summary")
    result = make_report(agent, folder, compare=other, frames=STEPS, seed=SEED, agent_path=card, interactions=False,
                         background=background, progress=False, methods=METHODS, summary=summary)
    return Case(agent, other, result, folder, read_data(folder), [f[0] for f in frames], [f[1] for f in frames],
                [s.action for s in steps], background)
