"""One check of an ``agent.json`` document (types, ranges, sizes) before anything is built.

An agent folder may come from anywhere, so its description is untrusted: a crafted
``n_actions`` must not build a 6 GB network, a huge ``noop_max`` must not hang a reset, and a
field of the wrong type must be refused up front with one line, not crash a video after the
work. :func:`check_agent_doc` checks every field rlviz reads; fields it does not read are
allowed (for forward compatibility) but count towards the size and depth caps.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rlviz.util.errors import RlvizError

MAX_AGENT_JSON_BYTES = 1 << 20  # a real agent.json is about 3 kB
MAX_DEPTH = 16  # nesting of JSON objects and lists
MAX_ACTIONS = 18  # Atari's full action space
MAX_CHANNELS = 16
MAX_FRAME_SKIP = 16
MAX_NOOP = 1_000
MAX_EPISODE_FRAMES = 10_000_000
MAX_TEXT = 200
MAX_RETURNS = 10_000
ARCHITECTURE_KIND = {
    "nature-actor-critic": "actor-critic",
    "nature-actor-critic-separate": "actor-critic",
    "nature-q": "q",
    "nature-dueling-q": "q",
    "nature-distributional-q": "q",
    "impala-actor-critic": "actor-critic",
}
# the constructor options each architecture may record, with their checks: options become keyword
# arguments of a network constructor, so every one is typed and bounded before anything is built
MAX_ATOMS = 256
MAX_WIDTH = 1024
ENV_FIELDS = {
    "game": str, "pipeline": str, "frame_skip": int, "frame_stack": int, "screen_size": int, "grayscale": bool,
    "max_pool": bool, "sticky_action_prob": float, "noop_max": int, "full_action_space": bool, "fire_reset": bool,
    "terminal_on_life_loss": bool, "max_episode_frames": int,
}


def parse_agent_json(raw: bytes, source: str) -> dict[str, Any]:
    """The bytes of an ``agent.json`` as a checked dict (see :func:`check_agent_doc`)."""
    if len(raw) > MAX_AGENT_JSON_BYTES:
        raise RlvizError(f"{source} is {len(raw):,} bytes, more than the {MAX_AGENT_JSON_BYTES:,} an agent.json may have")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RlvizError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: JSON and 4300-digit ints
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:120]
        raise RlvizError(f"{source} is not a readable agent.json ({reason}); re-save the agent") from None
    _check_depth(doc, source)
    return doc


def _no_constant(name: str) -> Any:
    raise RlvizError(f"agent.json holds {name}, which is not a number JSON allows; re-save the agent")


def _check_depth(doc: Any, source: str) -> None:
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RlvizError(f"{source} is nested more than {MAX_DEPTH} levels deep; it is not an agent description")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _where(source: str, key: str) -> str:
    return f"{source}: {key}"


def _int(value: Any, key: str, source: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RlvizError(f"{_where(source, key)} must be a whole number from {lo} to {hi}, got {_show(value)}")
    if not lo <= value <= hi:
        raise RlvizError(f"{_where(source, key)} must be from {lo} to {hi}, got {_show(value)}")
    return value


def _number(value: Any, key: str, source: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RlvizError(f"{_where(source, key)} must be a finite number, got {_show(value)}")
    if not lo <= value <= hi:
        raise RlvizError(f"{_where(source, key)} must be from {lo:g} to {hi:g}, got {_show(value)}")
    return float(value)


def _text(value: Any, key: str, source: str, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise RlvizError(f"{_where(source, key)} must be a text of at most {max_len} characters, got {_show(value)}")
    return value


def _dict(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RlvizError(f"{_where(source, key)} must be a JSON object, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    big = isinstance(value, int) and value.bit_length() > 100  # repr of a 5000-digit int raises
    text = f"a {value.bit_length()}-bit number" if big else repr(value)
    return f"{type(value).__name__} {text[:40]}" + ("..." if len(text) > 40 else "")


def check_env(env: Any, source: str) -> None:
    """The ``env`` object: every field known, of its type, in its range."""
    env = _dict(env, "env", source)
    unknown = sorted(set(env) - set(ENV_FIELDS))
    if unknown:
        raise RlvizError(f"{source}: env has unknown fields {[u[:40] for u in unknown[:5]]}; known: {sorted(ENV_FIELDS)}")
    for key, kind in ENV_FIELDS.items():
        if key not in env:
            continue
        value, name = env[key], f"env.{key}"
        if kind is bool and not isinstance(value, bool):
            raise RlvizError(f"{_where(source, name)} must be true or false, got {_show(value)}")
        if kind is str:
            _text(value, name, source, 64)
    _int(env.get("frame_skip", 4), "env.frame_skip", source, 1, MAX_FRAME_SKIP)
    _int(env.get("frame_stack", 4), "env.frame_stack", source, 1, MAX_CHANNELS)
    _int(env.get("screen_size", 84), "env.screen_size", source, 84, 84)
    _number(env.get("sticky_action_prob", 0.0), "env.sticky_action_prob", source, 0.0, 1.0)
    _int(env.get("noop_max", 30), "env.noop_max", source, 0, MAX_NOOP)
    _int(env.get("max_episode_frames", 108_000), "env.max_episode_frames", source, 1, MAX_EPISODE_FRAMES)


def _check_evaluation(ev: Any, source: str, key: str = "evaluation") -> None:
    ev = _dict(ev, key, source)
    for field in ("mean", "std"):
        if field in ev:
            _number(ev[field], f"{key}.{field}", source)
    if "episodes" in ev:
        _int(ev["episodes"], f"{key}.episodes", source, 1, MAX_RETURNS)
    if "seed" in ev:
        _int(ev["seed"], f"{key}.seed", source, 0, 2**63 - 1)
    if "policy" in ev:
        _text(ev["policy"], f"{key}.policy", source, 32)
    if "returns" in ev:
        returns = ev["returns"]
        if not isinstance(returns, list) or len(returns) > MAX_RETURNS:
            raise RlvizError(f"{_where(source, key + '.returns')} must be a list of at most {MAX_RETURNS} numbers")
        for r in returns:
            _number(r, f"{key}.returns[]", source)
    for sub in ("random_policy", "sampled_policy"):
        if sub in ev:
            _check_evaluation(ev[sub], source, f"{key}.{sub}")


def check_agent_doc(doc: Any, source: str) -> dict[str, Any]:
    """Refuse, with one line, an ``agent.json`` whose fields rlviz reads have the wrong type
    or an implausible value; returns the document unchanged when it passes."""
    doc = _dict(doc, "the document", source)
    arch = _dict(doc.get("architecture"), "architecture", source)
    name = arch.get("name")
    if name not in ARCHITECTURE_KIND:
        raise RlvizError(f"{_where(source, 'architecture.name')} must be one of {', '.join(ARCHITECTURE_KIND)}, got {_show(name)}")
    n_actions = _int(arch.get("n_actions"), "architecture.n_actions", source, 1, MAX_ACTIONS)
    in_channels = _int(arch.get("in_channels", 4), "architecture.in_channels", source, 1, MAX_CHANNELS)
    if "options" in arch:
        _check_options(name, arch["options"], source)
    kind = doc.get("kind", ARCHITECTURE_KIND[name])
    if kind != ARCHITECTURE_KIND[name]:
        raise RlvizError(f"{_where(source, 'kind')} is {_show(kind)}, but a {name} network is {ARCHITECTURE_KIND[name]!r}")
    if "env" not in doc:
        raise RlvizError(f"{source} has no env (the agent's preprocessing pipeline); re-save the agent")
    check_env(doc["env"], source)
    stack = doc["env"].get("frame_stack", 4)
    if stack != in_channels:
        raise RlvizError(f"{source}: the network takes {in_channels} stacked frames but env.frame_stack is {stack}")
    names = doc.get("action_names")
    if names is not None:
        if not isinstance(names, list) or len(names) != n_actions:
            raise RlvizError(f"{_where(source, 'action_names')} must be a list of {n_actions} names, got {_show(names)}")
        for n in names:
            _text(n, "action_names[]", source, 64)
    if "name" in doc:
        _text(doc["name"], "name", source)
    if "provenance" in doc:
        prov = _dict(doc["provenance"], "provenance", source)
        for key in ("steps", "frames"):
            if key in prov:
                _int(prov[key], f"provenance.{key}", source, 0, 10**12)
        if "wall_time_s" in prov:
            _number(prov["wall_time_s"], "provenance.wall_time_s", source, 0.0)
        for key in ("algorithm", "hardware", "torch"):
            if key in prov:
                _text(prov[key], f"provenance.{key}", source)
        if "config" in prov:
            _dict(prov["config"], "provenance.config", source)
    if "evaluation" in doc:
        _check_evaluation(doc["evaluation"], source)
    if "hints" in doc and doc["hints"] is not None:
        hints = _dict(doc["hints"], "hints", source)
        if hints.get("source") not in ("expert", "random"):
            raise RlvizError(f"{_where(source, 'hints.source')} must be 'expert' or 'random', got {_show(hints.get('source'))}")
        if "seed" in hints:
            _int(hints["seed"], "hints.seed", source, 0, 2**63 - 1)
    if "source" in doc:
        src = _dict(doc["source"], "source", source)
        for key, value in src.items():
            if key == "layers" and isinstance(value, dict):  # the file's layer names -> rlviz's (rlviz import)
                if len(value) > 64:
                    raise RlvizError(f"{_where(source, 'source.layers')} maps more than 64 layers")
                for k, v in value.items():
                    _text(k, "source.layers key", source)
                    _text(v, f"source.layers[{k[:40]}]", source)
            elif key == "input_scale":
                _number(value, "source.input_scale", source, 1.0, 255.0)
            else:
                _text(value, f"source.{key}", source)
    return doc


def _check_options(name: str, options: Any, source: str) -> None:
    """The constructor options of the architectures that take any (rlviz.agents.networks)."""
    if options is None:
        return
    options = _dict(options, "architecture.options", source)
    allowed = {
        "nature-dueling-q": {"separate_streams"},
        "nature-distributional-q": {"n_atoms", "distribution", "v_min", "v_max"},
        "impala-actor-critic": {"channels", "hidden"},
    }.get(name, set())
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise RlvizError(f"{_where(source, 'architecture.options')} has fields {[u[:40] for u in unknown[:5]]} "
                         f"that a {name} network does not take; known: {sorted(allowed) or 'none'}")
    key = "architecture.options"
    if "separate_streams" in options and not isinstance(options["separate_streams"], bool):
        raise RlvizError(f"{_where(source, key + '.separate_streams')} must be true or false")
    if "n_atoms" in options:
        _int(options["n_atoms"], key + ".n_atoms", source, 2, MAX_ATOMS)
    if "distribution" in options and options["distribution"] not in ("c51", "qr"):
        raise RlvizError(f"{_where(source, key + '.distribution')} must be 'c51' or 'qr', got {_show(options['distribution'])}")
    for bound in ("v_min", "v_max"):
        if bound in options:
            _number(options[bound], f"{key}.{bound}", source, -1e6, 1e6)
    if "hidden" in options:
        _int(options["hidden"], key + ".hidden", source, 1, MAX_WIDTH)
    if "channels" in options:
        channels = options["channels"]
        if not isinstance(channels, list) or not 1 <= len(channels) <= 8:
            raise RlvizError(f"{_where(source, key + '.channels')} must be a list of 1 to 8 widths, got {_show(channels)}")
        for c in channels:
            _int(c, key + ".channels[]", source, 1, 256)
