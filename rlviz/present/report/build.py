"""``make_report``: play an agent, explain every step and write the interactive page.

It reuses the video's passes (:mod:`rlviz.present.video`): ``play_pass.record`` plays,
``explain_pass.explain_steps`` keeps the saliency grids, and one more replay brings back the
RGB frames and observations, on which LRP runs in batches (and, with ``compare``, the second
agent is asked what it would have done). LRP maps wait in a float32 file on disk until their
colour scale over the whole rollout is known; then every layer is written as atlas PNGs
(:mod:`.encode`) and the page reads one ``data.js`` of small per-step arrays.

Example:
    >>> make_report(load_agent("agents/pong-early"), "runs/report", frames=300)
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.play.rollout import Step, env_for, replay_frames
from rlviz.present import moments
from rlviz.present.colormaps import (
    CRITIC_LEVELS,
    LEGEND_WORDS,
    MAP_COLOURS,
    RELEVANCE_BACKDROP,
    SALIENCY_BACKDROP,
    colour_bar,
)
from rlviz.present.method_panels import MethodPanel
from rlviz.present.report import encode
from rlviz.present.report.objects_layer import ObjectsLayer
from rlviz.present.report.summary import copy_figures, model_card_html
from rlviz.present.report.summary_tab import (
    check_game,
    example_candidates,
    find_summary,
    load_summary,
    summary_tab,
    verified_links,
)
from rlviz.present.video.explain_pass import (
    BRIGHT_FRAMES,
    explain_steps,
    maps_of,
    relevance_scale,
    video_scales,
)
from rlviz.present.video.play_pass import record
from rlviz.present.video.records import agent_label, episode_starts
from rlviz.util.errors import RlvizError

ASSETS = Path(__file__).with_name("assets")
METHODS = ("saliency", "lrp")  # the default layers: perturbation saliency (actor and critic), LRP (move and value)
WHOLE_GAME = 27_000  # agent steps in ALE's 108,000-frame episode cap: "play the whole game"
COVERED = ("saliency-actor", "saliency-critic")  # registry methods that "saliency" already shows


@dataclass
class ReportResult:
    path: Path  # the index.html to open
    steps: int
    score: float
    seconds: float
    size_bytes: int
    moments: list[moments.Moment] = field(default_factory=list)
    disagreements: list[int] = field(default_factory=list)  # steps where the compared agent would act otherwise
    interrupted: bool = False
    summary: Path | None = None  # the rlviz summarize folder shown on the Summary tab
    linked_examples: int = 0  # its dataset examples found (and checked) in this rollout


@dataclass
class _Layer:
    key: str  # file folder and the page's name for it
    label: str
    palette: str  # "actor" (sky-blue fill), "critic" (yellow outlines) or "relevance" (red for / violet against)
    who: int  # 0: the agent, 1: the compared agent
    source: str  # "actor", "critic" (saliency) or an LRP target: "action", "value", an action index
    legend: str
    scale: float = 1.0
    method: str | None = None  # a registered method (rlviz.attribute) explaining the chosen move; None: saliency or LRP

    @property
    def computed(self) -> bool:
        """Maps computed during the replay (LRP and registered methods), not kept from the explain pass."""
        return self.palette == "relevance" or self.method is not None


def _default_lrp() -> str:
    """The registry's name of the composite ``lrp`` uses by default (the "lrp" layers show it)."""
    import inspect

    try:
        from rlviz.explain.lrp import lrp
    except ImportError:
        return ""
    return "lrp-" + inspect.signature(lrp).parameters["composite"].default


def parse_methods(methods: str | tuple[str, ...]) -> tuple[str, ...]:
    """The report's layers from 'saliency', 'lrp', any registered method name (``rlviz methods``)
    or 'all' (every method: saliency, lrp and each registered one they do not already show), in order,
    without repeats; an unknown name is refused in one line listing the choices."""
    from rlviz.explain.registry import method_names

    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    registered = [m for m in method_names() if m not in COVERED + (_default_lrp(),)]
    known = list(METHODS) + registered
    out: list[str] = []
    for m in names:
        for name in (known if m == "all" else [m]):
            if name not in out:
                out.append(name)
    every = set(METHODS) | set(method_names())
    bad = [m for m in out if m not in every]
    if bad or not out:
        raise RlvizError(f"unknown method(s) {', '.join(bad) or '(none)'} for a report; choose from all, {', '.join(known)} "
                         f"(rlviz methods lists what each does)")
    return tuple(out)


def _layers(agent: Agent, other: Agent | None, methods: tuple[str, ...], all_actions: bool) -> list[_Layer]:
    from rlviz.explain.registry import get_spec

    out: list[_Layer] = []
    for who, a in enumerate([agent] + ([other] if other is not None else [])):
        p = "b-" if who else ""
        q = a.kind == "q"
        for m in methods:
            if m == "saliency":
                out.append(_Layer(f"{p}sal-actor", "Saliency: to choose its move", "actor", who, "actor",
                                  "Blurring there changes the " + ("Q-values" if q else "move's logits") + " most"))
                out.append(_Layer(f"{p}sal-critic", "Saliency: to judge its position", "critic", who, "critic",
                                  "Blurring inside the thin line changes the " + ("max Q-value" if q else "value estimate")
                                  + " by 20% of the scale, inside the thick one by 50%"))
            elif m == "lrp":
                out.append(_Layer(f"{p}lrp-action", "LRP: its chosen move", "relevance", who, "action",
                                  "Pixels that pushed it towards the move it chose (red) or against it (violet)"))
                out.append(_Layer(f"{p}lrp-value", "LRP: its value estimate", "relevance", who, "value",
                                  "Pixels that raise its " + ("max Q-value" if q else "value estimate")
                                  + " (red) or lower it (violet)"))
                if all_actions:
                    for i, name in enumerate(a.action_names):
                        out.append(_Layer(f"{p}lrp-a{i}", f"LRP: move {name}", "relevance", who, str(i),
                                          f"Pixels that speak for {name} (red) or against it (violet)"))
            else:
                spec = get_spec(m)
                signed = MethodPanel(m, m).signed  # coloured as its video panel is
                legend = (f"{spec.summary[0].upper()}{spec.summary[1:]}: red for the move, violet against" if signed else
                          f"{spec.summary[0].upper()}{spec.summary[1:]}: brighter = larger")
                target = "" if not spec.uses_target else ": its chosen move"
                out.append(_Layer(f"{p}{m}", f"{m}{target}", "relevance" if signed else "actor", who, "action",
                                  legend, method=m))
    return out


def _policy_arrays(agent: Agent, logits: np.ndarray) -> tuple[list, list, list]:
    """Per step: action probabilities (or None for a Q-network), chosen probability, entropy."""
    if agent.kind == "q":
        return [], [], []
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), -1).numpy()
    chosen = p[np.arange(len(p)), p.argmax(-1)]
    entropy = -(p * np.log(np.clip(p, 1e-12, None))).sum(-1)
    return p.round(4).tolist(), chosen.round(4).tolist(), entropy.round(4).tolist()


def _stack_sources(obs: np.ndarray, k: int, recent: list[tuple[int, np.ndarray]]) -> list[int]:
    """For each stacked frame of step k's observation, the step whose newest frame it is
    (-1: a blank padding frame, -2: not among the stored frames); ``recent`` holds the last
    steps of this episode as (step, newest frame)."""
    out = []
    for frame in obs:
        if not frame.any():
            out.append(-1)
            continue
        match = [j for j, newest in reversed(recent) if np.array_equal(newest, frame)]
        out.append(match[0] if match else -2)
    return out


def method_maps(agent: Agent, obs: np.ndarray, method: str) -> np.ndarray:
    """(N, 84, 84) maps of a registered method for the chosen move, as a layer shows them:
    ``rlviz.attribute(agent, obs, method, target="action")``, per-frame maps summed over the
    stack (their absolute values for methods ranked by magnitude; ``registry.to_map``)."""
    from rlviz.explain.registry import attribute, get_spec, to_map

    spec = get_spec(method)
    return to_map(spec, attribute(agent, obs, method=method, target="action"))


def _write_legends(folder: Path) -> None:
    """The legend bars, drawn by the videos' ``colormaps.colour_bar``."""
    from PIL import Image

    for kind in ("actor", "critic", "diverging"):
        Image.fromarray(colour_bar(300, 14, kind)).save(folder / "img" / f"legend-{kind}.png")


def make_report(
    agent: Agent,
    out: str | Path,
    *,
    compare: Agent | None = None,
    frames: int | None = None,
    episodes: int = 1,
    seed: int = 0,
    methods: str | tuple[str, ...] = METHODS,
    all_actions: bool = False,
    key_moments: int = 8,
    agent_path: str | Path | None = None,
    figures: tuple[str | Path, ...] = (),
    interactions: bool = True,
    objects: bool = True,
    background: np.ndarray | None = None,
    summary: str | Path | None = None,
    batch: int = 8,
    progress: bool = True,
) -> ReportResult:
    """Play ``agent`` greedily from ``reset(seed)`` for ``episodes`` games (or ``frames``
    steps at most), explain every step with ``methods`` ("saliency", "lrp", any method of
    ``rlviz.attribute`` for the chosen move, or "all"; see :func:`parse_methods`) and write the report
    folder ``out`` (open ``out/index.html`` from disk; no server or network needed).

    ``compare``: a second agent for the same game and pipeline, explained on the *same*
    observations; the steps where it would have acted otherwise are listed. ``all_actions``
    adds an LRP map for every action. ``agent_path`` (the agent's folder) puts its model card
    on the Summary tab; ``figures`` adds the PNGs of earlier runs (``rlviz faithfulness --out``,
    ``rlviz interactions --out``); ``interactions`` draws the policy's region pairs there.
    ``objects`` adds the objects layer (boxes, names and each map's top object shares per step),
    found against ``background`` or the agent's cached background (computed the first time).
    ``summary``: an ``rlviz summarize`` folder shown on the Summary tab (each move's attribution
    graph, its channels' dataset examples linked to the rollout's steps where they are in it,
    captions); "auto" looks for one of this agent (:func:`summary_tab.find_summary`).
    """
    methods = parse_methods(methods)
    if summary == "auto":
        summary = find_summary(agent, agent_path)
    summary_doc = load_summary(summary) if summary is not None else None
    if summary_doc is not None:
        check_game(summary_doc, agent, summary)
    if frames is not None and frames < 1:
        raise RlvizError(f"frames must be at least 1, got {frames}")
    if episodes < 1:
        raise RlvizError(f"episodes must be at least 1, got {episodes}")
    if compare is not None and compare.env_spec != agent.env_spec:
        raise RlvizError(
            f"--compare needs an agent of the same game and pipeline to explain it on the same observations; "
            f"'{compare.name}' plays {compare.env_spec.game} ({compare.env_spec.pipeline}), "
            f"'{agent.name}' {agent.env_spec.game} ({agent.env_spec.pipeline})"
        )
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise RlvizError(f"{folder} is a file; give a folder name for the report")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "index.html").is_file():
        raise RlvizError(f"{folder} exists and is not an rlviz report; give a new or empty folder")
    for sub in ("img", "summary"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)

    start = time.time()
    env = env_for(agent)
    layers = _layers(agent, compare, methods, all_actions)
    try:
        steps, interrupted = record(agent, env, seed=seed, frames=frames or WHOLE_GAME, episodes=episodes, progress=progress)
        if not steps:
            raise RlvizError("interrupted before the agent played a step; nothing was written")
        explained = {}
        if "saliency" in methods:
            for who, a in enumerate([agent, compare]):
                if a is None or interrupted:
                    continue
                recs, cut = explain_steps(a, env, steps, list(range(len(steps))), ("saliency",), seed=seed,
                                          batch=batch, progress=progress)
                interrupted = interrupted or cut
                explained[who] = recs
        n = min([len(steps)] + [len(r) for r in explained.values()])
        steps = steps[:n]
        candidates = example_candidates(summary_doc, steps, seed) if summary_doc is not None else {}
        kept: dict[int, np.ndarray] = {k: None for k in candidates.values()}  # observations the summary's examples need
        with tempfile.TemporaryDirectory(prefix="rlviz-report-") as tmp:
            found = None
            if objects:
                if background is None:
                    from rlviz.explain.objects import background as agent_background

                    background = agent_background(agent, progress=progress)
                found = ObjectsLayer(background, agent.env_spec.game, steps=len(steps), size=agent.env_spec.screen_size,
                                     folder=Path(tmp))
            other, stacks, first_rgb, cut = _replay_pass(agent, compare, env, steps, layers, folder, Path(tmp), seed=seed,
                                                         batch=batch, progress=progress, found=found, keep=kept)
            interrupted = interrupted or cut
            n = len(stacks)
            steps = steps[:n]
            _write_maps(agent, layers, explained, Path(tmp), folder, n, progress=progress, found=found)
            object_data = found.to_data(n) if found is not None else None
        data = _data(agent, compare, steps, other, stacks, layers, key_moments, seed)
        data["objects"] = object_data
        data["summary"] = _summary(agent, folder, agent_path, figures, interactions, first_rgb)
        if summary_doc is not None:
            links = verified_links(agent, summary_doc, candidates, {k: o for k, o in kept.items() if o is not None})
            data["summary"]["summit"] = summary_tab(summary_doc, summary, folder / "summary" / "graphs", links, agent)
    finally:
        env.close()
    (folder / "data.js").write_text("window.RLVIZ_DATA = " + json.dumps(data, separators=(",", ":")) + ";\n", encoding="utf-8")
    _write_legends(folder)
    for name in ("index.html", "report.js", "report.css"):
        shutil.copyfile(ASSETS / name, folder / name)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return ReportResult(
        path=folder / "index.html", steps=len(steps), score=steps[-1].score, seconds=time.time() - start,
        size_bytes=size, moments=[moments.Moment(**m_) for m_ in data["moments"]],
        disagreements=data["compare"]["disagreements"] if compare is not None else [], interrupted=interrupted,
        summary=Path(summary) if summary_doc is not None else None,
        linked_examples=data["summary"]["summit"]["linked"] if summary_doc is not None else 0,
    )


def _replay_pass(agent, compare, env, steps, layers, folder, tmp, *, seed, batch, progress, found=None, keep=None):
    """Replay once: frames and observations into their atlases, LRP maps into float32 files,
    the compared agent's outputs, and the observations of the steps in ``keep`` into it.
    Returns (other agent's (logits, values), stack sources,
    first RGB frame, interrupted)."""
    from rlviz.explain.lrp import lrp

    n = len(steps)
    h, w = 210, 160  # ALE's screen
    frames = encode.Atlas(folder / "img" / "frame", w, h, "RGB")
    grays = encode.Atlas(folder / "img" / "gray", w, h, "L")  # the maps' backdrop, dimmed by the page
    size = agent.env_spec.screen_size
    obs_atlas = encode.Atlas(folder / "img" / "obs", size, size, "L")
    lrp_layers = [ly for ly in layers if ly.computed]
    stores = {ly.key: np.lib.format.open_memmap(tmp / f"{ly.key}.npy", "w+", np.float32, (n, size, size)) for ly in lrp_layers}
    scales = {ly.key: np.zeros(n, np.float32) for ly in lrp_layers}
    other_logits, other_values = [], []
    stacks: list[list[int]] = []
    recent: list[tuple[int, np.ndarray]] = []
    first_rgb = None
    pending: list[tuple[int, np.ndarray]] = []
    flushed = [0]
    bar = tqdm(total=n, unit="step", desc="frames and LRP", disable=not progress, leave=False)

    def flush() -> None:
        idx = [k for k, _ in pending]
        obs = np.stack([o for _, o in pending])
        for ly in lrp_layers:
            who = compare if ly.who else agent
            target = int(ly.source) if ly.source.isdigit() else ly.source
            maps = lrp(who, obs, target=target).sum(axis=1) if ly.method is None else method_maps(who, obs, ly.method)
            for k, m in zip(idx, maps):
                stores[ly.key][k] = m
                scales[ly.key][k] = relevance_scale(m)
        if compare is not None:
            with torch.no_grad():
                logits, values = compare(obs)
            other_logits.extend(logits.cpu().numpy())
            other_values.extend(values.cpu().numpy().reshape(-1))
        bar.update(len(pending))
        flushed[0] += len(pending)
        pending.clear()

    cut = False
    try:
        for k, (rgb, obs) in enumerate(replay_frames(env, steps, seed=seed)):
            if k and steps[k].episode != steps[k - 1].episode:
                recent = []
            if first_rgb is None:
                first_rgb = rgb
            if rgb.shape[:2] != (h, w):
                raise RlvizError(f"the report expects 210x160 Atari frames, got {rgb.shape[1]}x{rgb.shape[0]}")
            frames.add(k, rgb)
            grays.add(k, encode.gray_backdrop(rgb))
            obs_atlas.add(k, obs[-1])
            recent = (recent + [(k, obs[-1])])[-obs.shape[0]:]
            stacks.append(_stack_sources(obs, k, recent))
            if found is not None:
                found.add(k, obs)
            if keep is not None and k in keep:
                keep[k] = obs
            pending.append((k, obs))
            if len(pending) == batch:
                flush()
        if pending:
            flush()
    except KeyboardInterrupt:
        cut = True
        pending.clear()
    finally:
        bar.close()
    done = flushed[0]  # after Ctrl-C: only the steps whose maps and outputs were all computed
    frames.flush()
    grays.flush()
    obs_atlas.flush()
    for ly in lrp_layers:
        ly.scale = float(np.percentile(scales[ly.key][:done], BRIGHT_FRAMES, method="higher")) if done else 1.0  # as video_scales
    other = (np.array(other_logits[:done]), np.array(other_values[:done])) if compare is not None else None
    return other, stacks[:done], first_rgb, cut


def _write_maps(agent, layers, explained, tmp, folder, n, *, progress, found=None) -> None:
    """Every map layer as atlas PNGs, at one colour scale per layer over the whole rollout."""
    size = agent.env_spec.screen_size
    for who, recs in explained.items():
        s = video_scales(recs[:n])
        for ly in layers:
            if ly.who == who and not ly.computed:  # saliency: the video's scales
                ly.scale = s.actor if ly.source == "actor" else s.critic
    bar = tqdm(total=n * len(layers), unit="map", desc="writing maps", disable=not progress, leave=False)
    for ly in layers:
        w, h = encode.MAP_SIZE if ly.palette == "critic" else (size, size)
        atlas = encode.Atlas(folder / "img" / ly.key, w, h, "RGBA" if ly.palette == "critic" else ly.palette)
        store = np.load(tmp / f"{ly.key}.npy", mmap_mode="r") if ly.computed else None
        for k in range(n):
            if store is not None:
                values = store[k].astype(np.float32)
            else:
                actor, critic = maps_of(explained[ly.who][k], size)
                values = actor if ly.source == "actor" else critic
            if ly.palette == "relevance":
                atlas.add(k, encode.relevance_levels(values, ly.scale))
            elif ly.palette == "critic":
                atlas.add(k, encode.critic_outlines(values, ly.scale))
            else:
                atlas.add(k, encode.saliency_levels(values, ly.scale))
            if found is not None:
                found.record_shares(ly.key, k, values)
            bar.update(1)
        atlas.flush()
    bar.close()


def _round(values, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in values]


def _data(agent, compare, steps: list[Step], other, stacks, layers, k_moments: int, seed: int) -> dict:
    logits = np.stack([s.logits for s in steps])
    values = np.array([s.value for s in steps])
    rewards = np.array([s.reward for s in steps])
    lives = np.array([s.lives for s in steps])
    starts = episode_starts(steps)
    key = moments.key_moments(values, rewards, logits, lives, k=k_moments, starts=starts) if k_moments else []
    probs, chosen, entropy = _policy_arrays(agent, logits)
    title, subtitle, warning = agent_label(agent)
    data = {
        "version": 1,
        "agent": {"name": agent.name, "game": agent.env_spec.game, "kind": agent.kind, "actions": list(agent.action_names),
                  "title": title, "subtitle": subtitle, "warning": warning},
        "seed": seed,
        "steps": len(steps),
        "chunk": encode.CHUNK, "columns": encode.COLUMNS, "frame": [160, 210], "obs": agent.env_spec.screen_size,
        "starts": list(starts),
        "episode": [s.episode for s in steps],
        "value": _round(values), "reward": _round(rewards, 3), "score": _round([s.score for s in steps], 3),
        "lives": lives.tolist(), "action": [s.action for s in steps],
        "logits": logits.round(4).tolist(), "probs": probs, "prob": chosen, "entropy": entropy,
        "stack": stacks,
        "moments": [{"step": m.step, "kind": m.kind, "size": round(m.size, 4), "text": m.text} for m in key],
        "layers": [{"key": ly.key, "label": ly.label, "palette": ly.palette, "who": ly.who, "scale": float(f"{ly.scale:.4g}"),
                    "legend": ly.legend, "method": ly.method, "levels": list(CRITIC_LEVELS) if ly.palette == "critic" else None,
                    "tile": list(encode.MAP_SIZE) if ly.palette == "critic" else [agent.env_spec.screen_size] * 2,
                    "backdrop": list(RELEVANCE_BACKDROP if ly.palette == "relevance" else SALIENCY_BACKDROP)}
                   for ly in layers],
        "legend_words": LEGEND_WORDS,
        "colours": {k: list(v) for k, v in MAP_COLOURS.items()},
        "compare": None,
    }
    if compare is not None:
        b_logits, b_values = other
        b_actions = b_logits.argmax(-1)
        b_probs, b_chosen, b_entropy = _policy_arrays(compare, b_logits)
        disagree = [int(k) for k in np.nonzero(b_actions != data["action"])[0]]
        btitle, bsub, bwarn = agent_label(compare)
        data["compare"] = {
            "name": compare.name, "kind": compare.kind, "actions": list(compare.action_names), "title": btitle,
            "subtitle": bsub, "warning": bwarn, "action": b_actions.tolist(), "logits": b_logits.round(4).tolist(),
            "value": _round(b_values), "probs": b_probs, "prob": b_chosen, "entropy": b_entropy, "disagreements": disagree,
        }
    return data


def _summary(agent, folder: Path, agent_path, figures, interactions: bool, first_rgb) -> dict:
    out = folder / "summary"
    figs = copy_figures(list(figures), out) if figures else []
    if interactions:
        from rlviz.present.interaction_report import write_interaction_report

        try:
            paths = write_interaction_report(agent, out / "interactions", action=None, frame_rgb=first_rgb, top_k=5)
        except RlvizError:  # a network without a Nature-CNN dense part has no region analysis
            paths = {}
        for name, p in sorted(paths.items()):
            if p.suffix == ".png" and p.name.startswith("pairs_"):
                figs.append({"src": p.relative_to(folder).as_posix(), "caption": f"Region pairs its weights combine: {p.stem[6:]}"})
    return {"card": model_card_html(agent_path), "figures": figs}
