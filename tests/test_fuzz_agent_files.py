"""Seeded fuzzing of untrusted agent files (issue #19): random mutations of a valid
``agent.json`` and of a valid small SB3 zip must each give either a working agent or exactly
one ``rlviz: error:`` line with exit status 2: never a traceback, a hang, or a file written
outside the test's temporary folder.

The cases run in-process through ``rlviz.cli.main`` (fast); a few run as real subprocesses to
prove the exit status and the stderr the user sees. The evaluation itself is replaced by a
stub that touches everything a loaded agent's metadata feeds (video header, hint setting, a
forward pass), since playing Atari is not what is fuzzed here.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safety_helpers import cli, one_line_error

import rlviz.agents.evaluate as evaluate_module
from rlviz.agents.evaluate import Evaluation

JSON_CASES = 240
ZIP_CASES = 120
SEED = 19

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 3, 18, 19, 2**31, 10**12, 10**400, -0.0, 0.5, 1e308, float("nan"), float("inf"),
    "", "abc", "4", "q", "expert", "random", "../../../../tmp/PWNED", "/etc/passwd", "\x1b[2J\x1b[31mred", "x" * 5000,
    [], [1, 2], ["NOOP"] * 6, {}, {"source": "expert"}, {"a": {"b": {"c": [1]}}},
]


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a JSON document, as a tuple of keys and indices."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


def _mutate_doc(doc: Any, rng: random.Random) -> Any:
    """One structural mutation: delete a field, or set any location to an odd value."""
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc)[1:])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    op = rng.random()
    if op < 0.2 and isinstance(parent, dict):
        del parent[path[-1]]
    elif op < 0.25:
        parent[path[-1]] = _deep(rng.choice([20, 150]))  # json.dumps itself recurses; deeper is in test_safety_inputs
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return doc


def _mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    """One byte-level mutation: flip bytes, cut the end, or splice in random bytes."""
    data = bytearray(raw)
    op = rng.random()
    if op < 0.5:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif op < 0.75:
        del data[rng.randrange(len(data)) :]
    else:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def _stub_evaluate(agent, **kwargs) -> Evaluation:
    """Everything the metadata of a loaded agent feeds, without playing a game."""
    from rlviz.play.hints import hint_source
    from rlviz.present.video.records import agent_label, training_text

    agent_label(agent)
    training_text(agent)
    hint_source(agent)
    logits, value = agent(np.zeros(agent.env_spec.obs_shape, np.uint8))
    assert logits.shape == (1, agent.n_actions) and value.shape == (1,)
    return Evaluation(returns=[0.0], lengths=[1], seed=0, policy="greedy")


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Work in an empty folder; afterwards nothing may have appeared outside ``tmp_path``."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(evaluate_module, "evaluate", _stub_evaluate)
    watched = [Path(__file__).resolve().parents[1], tmp_path.parent, Path("/tmp")]
    before = {w: _listing(w) for w in watched}
    yield work
    for w in watched:
        if w == Path("/tmp"):  # other programs use /tmp too: only nothing of ours may appear there
            assert not {n for n in _listing(w) - before[w] if "PWNED" in n or n.startswith(".agent")}
        else:
            assert _listing(w) == before[w], f"files appeared in {w}"


def _run_case(capsys, argv: list[str], out: Path) -> int:
    code, _, err = cli(capsys, *argv, "--episodes", "1", "--max-steps", "1", "--json", str(out), "--quiet")
    assert code in (0, 2), (code, err)
    if code == 2:
        one_line_error(err)
    else:
        assert json.loads(out.read_text())["episodes"] == 1
    return code


def test_mutated_agent_json_gives_an_agent_or_one_line(agent_dir, sandbox, capsys):
    rng = random.Random(SEED)
    base_doc = json.loads((agent_dir / "agent.json").read_text())
    base_doc["provenance"] = {"algorithm": "PPO", "steps": 1000, "wall_time_s": 1.5, "config": {"seed": 1}}
    base_doc["evaluation"] = {"episodes": 2, "seed": 0, "mean": 1.0, "std": 0.5, "returns": [0.5, 1.5],
                              "random_policy": {"mean": -1.0, "std": 0.0, "returns": [-1.0, -1.0]}}
    base_raw = json.dumps(base_doc, indent=2).encode()
    out = sandbox / "eval.json"
    codes = []
    for case in range(JSON_CASES):
        if case % 4 == 3:
            raw = _mutate_bytes(base_raw, rng)
        else:
            doc = base_doc
            for _ in range(rng.randint(1, 3)):
                doc = _mutate_doc(doc, rng)
            raw = json.dumps(doc).encode()
        (agent_dir / "agent.json").write_bytes(raw)
        codes.append(_run_case(capsys, ["evaluate", "--agent", str(agent_dir)], out))
    assert codes.count(2) > JSON_CASES // 4 and codes.count(0) > JSON_CASES // 10  # both outcomes were exercised
    assert sorted(p.name for p in sandbox.iterdir()) == ["eval.json"]


@pytest.fixture(scope="module")
def sb3_zip(tmp_path_factory) -> bytes:
    """The bytes of a real, small SB3 PPO CnnPolicy zip (as tests/test_formats_sb3.py makes them)."""
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium as gym

    class ImageEnv(gym.Env):
        observation_space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
        action_space = gym.spaces.Discrete(6)

        def reset(self, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, False, {}

    model = sb3.PPO("CnnPolicy", ImageEnv(), n_steps=8, batch_size=8, device="cpu", seed=0)
    path = tmp_path_factory.mktemp("sb3-fuzz") / "ppo.zip"
    model.save(path)
    return path.read_bytes()


def _members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # stored: rebuilding costs no compression
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _mutate_zip(raw: bytes, members: dict[str, bytes], rng: random.Random) -> bytes:
    op = rng.random()
    if op < 0.3:  # damage the archive itself
        return _mutate_bytes(raw, rng)
    changed = dict(members)
    name = rng.choice(sorted(changed))
    if op < 0.5 and name == "data":
        doc = json.loads(changed["data"])
        for _ in range(rng.randint(1, 3)):
            doc = _mutate_doc(doc, rng)
        changed["data"] = json.dumps(doc).encode()
    elif op < 0.6:
        del changed[name]
    elif op < 0.7:
        changed[name] = bytes(rng.randrange(256) for _ in range(rng.randint(0, 2048)))
    else:  # damage one member's content: for policy.pth, the torch archive inside
        changed[name] = _mutate_bytes(changed[name], rng) if changed[name] else b"x"
    return _zip(changed)


def test_mutated_sb3_zips_give_an_agent_or_one_line(sb3_zip, sandbox, monkeypatch, capsys):
    import rlviz.agents.formats.sb3 as sb3_format

    # the same game and action count every time: build its env spec once, not per case
    monkeypatch.setattr(sb3_format, "atari_env_spec", functools.lru_cache(sb3_format.atari_env_spec))
    rng = random.Random(SEED)
    members = _members(sb3_zip)
    path = sandbox.parent / "ppo-PongNoFrameskip-v4.zip"
    out = sandbox / "eval.json"
    codes = []
    for _ in range(ZIP_CASES):
        path.write_bytes(_mutate_zip(sb3_zip, members, rng))
        codes.append(_run_case(capsys, ["evaluate", "--agent", str(path), "--game", "Pong"], out))
    assert codes.count(2) > ZIP_CASES // 4 and codes.count(0) > ZIP_CASES // 20
    assert set(p.name for p in sandbox.iterdir()) <= {"eval.json"}


@pytest.mark.parametrize("damage", ["deep agent.json", "truncated zip"])
def test_the_user_sees_exit_status_2_and_one_line(agent_dir, sb3_zip, tmp_path, damage):
    if damage == "deep agent.json":
        (agent_dir / "agent.json").write_text('{"format": "rlviz-agent", "version": 1, "a": ' + "[" * 50_000 + "}")
        argv = ["--agent", str(agent_dir)]
    else:
        path = tmp_path / "ppo-PongNoFrameskip-v4.zip"
        path.write_bytes(sb3_zip[: len(sb3_zip) // 2])
        argv = ["--agent", str(path), "--game", "Pong"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "rlviz.cli", "evaluate", *argv, "--episodes", "1", "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    one_line_error(proc.stderr)
