"""The ``rlviz`` command line: it only parses arguments and wires the library together."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path

from rlviz.util import cli_types
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import (
    atomic_path,
    check_output_dir,
    check_output_file,
    output_lock,
    printable,
    safe_name,
    write_text_atomic,
)


def _default_agent() -> str:
    """The best bundled agent that exists: agents/pong, else agents/pong-early."""
    for candidate in ("agents/pong", "agents/pong-early"):
        if Path(candidate).is_dir():
            return candidate
    return "agents/pong"


DEFAULT_AGENT = _default_agent()


def _add_agent_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agent", default=DEFAULT_AGENT, help=f"agent folder, SB3 .zip or CleanRL file (default: {DEFAULT_AGENT})")
    p.add_argument("--game", default=None, help="game for agent files that do not name it (e.g. Pong, Breakout, SpaceInvaders)")
    p.add_argument("--device", default="cpu", type=cli_types.device, help="torch device: cpu (default) or cuda")
    _add_pipeline_args(p)


def _add_pipeline_args(p: argparse.ArgumentParser) -> None:
    """How the agent's env is built and what its file holds, for files that do not record it."""
    g = p.add_argument_group("pipeline (overrides what the agent file records)")
    g.add_argument("--arch", default=None, help="architecture when the file's shapes fit several (the error lists them)")
    g.add_argument("--pipeline", default=None, choices=("gymnasium", "sb3", "cleanrl"), help="env wrapper stack the agent was trained with")
    g.add_argument("--frame-skip", type=cli_types.int_range(1, 64), default=None, help="frames per agent step (default: recorded, else 4)")
    g.add_argument("--sticky-actions", type=cli_types.probability, default=None, help="repeat-action probability (ALE v5: 0.25; default: recorded, else 0)")
    g.add_argument("--noop-max", type=cli_types.int_range(0, 1000), default=None, help="up to this many no-ops at reset (default: recorded, else 30)")
    g.add_argument("--full-action-space", action="store_true", default=None, help="the agent uses all 18 Atari actions")
    g.add_argument("--input-scale", type=float, default=None, choices=(1.0, 255.0),
                   help="255 when the network's weights take pixel values 0..255 (no /255 inside); 1 (default) for [0, 1]")


def _pipeline_overrides(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k, None) for k in ("pipeline", "frame_skip", "sticky_actions", "noop_max", "full_action_space", "input_scale")}


def _load(args: argparse.Namespace):
    from rlviz.agents.importing import with_pipeline
    from rlviz.agents.loading import load_agent

    agent = load_agent(args.agent, game=args.game, device=args.device, arch=getattr(args, "arch", None))
    return with_pipeline(agent, **_pipeline_overrides(args))


def cmd_import(args: argparse.Namespace) -> int:
    from rlviz.agents.importing import import_agent

    if (Path(args.out) / "agent.json").exists() and not args.force:
        raise RlvizError(f"{args.out} already holds an agent; choose another --out, or add --force to replace it")
    agent = import_agent(args.src, args.out, game=args.game, name=args.name, arch=args.arch, device=args.device,
                         **_pipeline_overrides(args))
    spec = agent.env_spec
    print(f"wrote {args.out}: {agent.architecture['name']} ({agent.kind}, {agent.n_actions} actions: {', '.join(agent.action_names)}) "
          f"for {spec.game}, {spec.pipeline} pipeline, frame skip {spec.frame_skip}, sticky actions {spec.sticky_action_prob:g}, "
          f"up to {spec.noop_max} no-ops")
    return 0


def _size(text: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(text, tuple):  # already parsed by cli_types.size
        return text
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise RlvizError(f"--size must look like 1280x720, got {text!r}") from None
    return width, height


# ---- outputs: checked before the work, locked against a second process, never an agent's own files
OUTPUTS = {  # command -> {argument: file suffixes, None for any file, "dir" for a folder}
    "video": {"out": (".mp4", ".gif")},
    "frame": {"out": (".png",)},
    "interactions": {"out": "dir"},
    "faithfulness": {"json": None, "out": "dir"},
    "hints": {"json": None, "video": (".mp4", ".gif")},
    "evaluate": {"json": None},
    "bench": {"json": None},
    "train": {"out": "dir"},
    "import": {"out": "dir"},
    "attribute": {"out": (".png",), "npz": (".npz",)},
    "whatif": {"json": None, "video": (".mp4", ".gif")},
    "report": {"out": "dir"},
    "objects": {"out": (".png",), "json": None, "figure": (".png",), "boxes": (".png",)},
    "summarize": {"out": "dir"},
}
AGENT_FILES = ("agent.json", "model.safetensors", "README.md")


def _agent_sources(args: argparse.Namespace) -> list[Path]:
    names = [getattr(args, a, None) for a in ("agent", "compare", "overfit", "control", "init_from", "hints")]
    return [Path(n) for n in names if isinstance(n, str) and n and n != "random" and Path(n).exists()]


def _refuse_agent_files(out: Path, sources: list[Path]) -> None:
    """An output must not replace the files of an agent the command reads (evaluate --json
    agents/x/agent.json would overwrite the agent's own description)."""
    real = out.resolve()
    for src in sources:
        if src.is_dir():
            own = {(src / name).resolve() for name in AGENT_FILES}
            expert = (src / "expert").resolve()
            if real in own or real == expert or expert in real.parents:
                raise RlvizError(f"{out} is one of the files of the agent {src}; write the output somewhere else")
        elif real == src.resolve():
            raise RlvizError(f"{out} is the agent file itself; write the output somewhere else")


def _claim_output(args: argparse.Namespace, out: Path, kind: str | tuple[str, ...] | None, option: str = "--out") -> None:
    """Check ``out`` before the work and hold its lock until the command ends."""
    if args.command != "train":
        _refuse_agent_files(out, _agent_sources(args))
    if kind == "dir":
        check_output_dir(out)
    else:
        check_output_file(out, kind if isinstance(kind, tuple) else None, what=option)
    locks = getattr(args, "locks", None)
    if locks is not None:  # set by main(); a direct call of a cmd_* function runs unlocked
        locks.enter_context(output_lock(out))


def _default_output(args: argparse.Namespace, name: str) -> Path:
    """``runs/<name>``: ``name`` is made from agent metadata by :func:`safe_name`, so it is
    one plain file name inside ``runs/`` whatever the agent file says (``videos/`` holds the
    shipped examples, which only scripts/make_videos.sh writes)."""
    out = Path("runs") / name
    _claim_output(args, out, (".mp4", ".gif"))
    return out


def _check_train_out(out: Path, *, resume: bool, force: bool, init_from: str | None) -> None:
    """``train --out`` onto a folder that already holds an agent: resume its checkpoint, or
    replace it with ``--force``; never replace it silently."""
    if resume and force:
        raise RlvizError("--resume and --force contradict each other: resume the run in --out, or replace it")
    checkpoint = any((out / name / "state.json").exists() for name in ("checkpoint", "checkpoint.tmp", "checkpoint.old"))
    agent = (out / "agent.json").exists()
    if force:
        import shutil

        for name in ("checkpoint", "checkpoint.tmp", "checkpoint.old", "expert"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (*AGENT_FILES, "episodes.csv"):
            (out / name).unlink(missing_ok=True)
        return
    if resume and not checkpoint and not init_from:
        raise RlvizError(f"--resume: {out} has no checkpoint to resume; drop --resume to start a new run there")
    if agent and not checkpoint and not init_from:
        raise RlvizError(
            f"{out} already holds an agent and no checkpoint, so training would replace it; pass --force to replace it, "
            f"or --init-from {out} to continue from it"
        )


def cmd_video(args: argparse.Namespace) -> int:
    from rlviz.present.video import make_comparison_video, make_video

    agent = _load(args)
    if args.batch is None:  # a GPU needs many frames at once to be full
        args.batch = 64 if agent.device.type == "cuda" else 8
    if args.same_frames and not args.compare:
        raise RlvizError("--same-frames explains a second agent on the first one's frames; give it with --compare AGENT")
    if args.compare:
        from rlviz.agents.loading import load_agent

        if args.highlights:
            raise RlvizError("--highlights and --compare do not combine; make the two videos separately")
        if args.episodes != 1:
            raise RlvizError("--episodes and --compare do not combine; a comparison plays one episode of each agent")

        other = load_agent(args.compare, game=args.game, device=args.device)
        out = Path(args.out) if args.out else _default_output(args, f"{safe_name(agent.name)}-vs-{safe_name(other.name)}.mp4")
        result = make_comparison_video(
            [agent, other], out, frames=args.frames, seed=args.seed, explain=args.explain,
            saliency_frames=args.saliency_frames, fps=args.fps,
            size=_size(args.size), batch=args.batch, progress=not args.quiet, title_cards=not args.no_cards,
            same_frames=args.same_frames,
        )
    else:
        suffix = f"-highlights{args.highlights}" if args.highlights else ""
        out = Path(args.out) if args.out else _default_output(args, f"{safe_name(agent.name)}-{safe_name(args.explain.replace(',', '-'))}{suffix}.mp4")
        result = make_video(
            agent,
            out,
            game=args.game,
            frames=args.frames,
            seed=args.seed,
            episodes=args.episodes,
            explain=args.explain,
            normalize=args.normalize,
            saliency_frames=args.saliency_frames,
            highlights=args.highlights,
            captions=not args.no_captions,
            title_cards=not args.no_cards,
            fps=args.fps,
            size=_size(args.size),
            batch=args.batch,
            progress=not args.quiet,
            timeline=args.json,
        )
        for n, m in enumerate(result.moments, 1):
            print(f"key moment {n}: step {m.step}: {m.text}")
        if args.json:
            print(f"wrote {args.json}")
    note = " (interrupted: the frames so far were saved)" if result.interrupted else ""
    print(f"wrote {printable(result.path)} ({result.frames} frames, score {result.score:+g}, {result.fps:.1f} frames/s){note}")
    return 130 if result.interrupted else 0


def cmd_frame(args: argparse.Namespace) -> int:
    from rlviz.present.video import render_still

    agent = _load(args)
    out = render_still(agent, args.out, step=args.step, seed=args.seed, explain=args.explain, size=_size(args.size))
    print(f"wrote {out}")
    return 0


def cmd_interactions(args: argparse.Namespace) -> int:
    from rlviz.play.rollout import env_for
    from rlviz.present.interaction_report import write_interaction_report

    agent = _load(args)
    action: int | str | None = None
    if args.action is not None:
        if args.action == "value":
            action = "value"
        elif args.action.isdigit():
            action = int(args.action)
        elif args.action.upper() in agent.action_names:
            action = agent.action_names.index(args.action.upper())
        else:
            raise RlvizError(f"unknown action {args.action!r}; use an index, 'value' or one of {', '.join(agent.action_names)}")
    env = env_for(agent)  # a representative frame of the game as the backdrop of the figures
    env.reset(seed=args.seed)
    for _ in range(args.frame_step):
        env.step(0)
    frame = env.render()
    env.close()
    paths = write_interaction_report(agent, args.out, action=action, group=args.group, frame_rgb=frame, top_k=args.top_k)
    print(f"wrote {len(paths)} files to {args.out} (interactions.json and figures)")
    return 0


def cmd_faithfulness(args: argparse.Namespace) -> int:
    from rlviz.present.assessment_reports import faithfulness_report, sanity_report

    if args.replot:
        return _replot_faithfulness(args)
    agent = _load(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    if methods is not None and "random" not in methods:
        methods.append("random")  # every report compares against random order
    out = Path(args.out) if args.out else None
    reports = faithfulness_report(agent, frames=args.frames, seed=args.seed, methods=methods, region=args.region, out_dir=out,
                                  replacement=args.replace)
    main_output = args.rank_output if args.rank_output in reports else next(iter(reports))
    print(f"Deletion AOPC of the chosen action's {main_output} over {args.frames} frames, regions replaced by "
          f"{reports[main_output].replacement} (higher = more faithful):")
    print(reports[main_output].table())
    if args.json:
        payload = {
            "agent": str(args.agent),
            "game": agent.env_spec.game,
            "frames": args.frames,
            "aopc": reports[main_output].to_dict()["aopc"],
            "outputs": {name: r.to_dict() for name, r in reports.items()},
        }
        write_text_atomic(args.json, json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.sanity:
        checks = cascade, invariance = sanity_report(agent, frames=args.sanity_frames or min(args.frames, 4), seed=args.seed, methods=methods, out_dir=out)
        print("\nCascading randomisation (Spearman rho with the original map; near 1 = the map ignores the weights):")
        print(cascade.table())
        print("\nInput invariance (a constant shift the network compensates; maps should not change):")
        print(invariance.table())
    _print_ranking(agent, reports[main_output], *(checks if args.sanity else (None, None)), out)
    if out:
        print(f"wrote figures and JSON to {out}")
    return 0


def _print_ranking(agent, report, cascade, invariance, out) -> None:
    """The faithfulness command's last word: the methods ranked, with their flags (ranking.png)."""
    from rlviz.assess.faithfulness import replacement_kind
    from rlviz.assess.ranking import ranking_table
    from rlviz.present.assessment_reports import PAINTED, ranking_report

    rows = ranking_report(agent, report, cascade, invariance, out_dir=out)
    checked = "" if cascade is not None else " (sanity flags: run with --sanity)"
    removal = "" if replacement_kind(report.replacement) == "blur" else f", {PAINTED}"
    print(f"\nWhich method to trust for {agent.name}: ranked by (deletion + insertion AOPC) / 2 of the {report.output}"
          f"{removal}{checked}")
    print(ranking_table(rows))


def _replot_faithfulness(args: argparse.Namespace) -> int:
    """--replot: redraw OUT/faithfulness.png from OUT/faithfulness.json, measuring nothing."""
    from rlviz.present.faithfulness_figures import replot_flipping

    if not args.out:
        raise RlvizError("--replot redraws OUT/faithfulness.png from OUT/faithfulness.json; give the folder with --out")
    print(f"wrote {replot_flipping(args.out)} (from {Path(args.out) / 'faithfulness.json'}, nothing measured)")
    return 0


def cmd_attribute(args: argparse.Namespace) -> int:
    import numpy as np

    from rlviz.explain.registry import attribute, method_names
    from rlviz.play.rollout import env_for, play
    from rlviz.present.faithfulness_figures import save_png
    from rlviz.present.method_gallery import draw_gallery, gallery_maps

    agent = _load(args)
    methods = method_names() if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    target = int(args.target) if args.target.lstrip("-").isdigit() else args.target
    env = env_for(agent, render_mode=None)
    try:
        obs = next((s.obs for s in play(agent, env, seed=args.seed, max_steps=args.step + 1) if s.step == args.step), None)
    finally:
        env.close()
    if obs is None:
        raise RlvizError(f"the episode ended before step {args.step}; choose a smaller --step")
    if args.npz:
        arrays = {m: attribute(agent, obs, m, target) for m in methods}
        with atomic_path(args.npz) as tmp:
            np.savez_compressed(tmp, obs=obs, **arrays)
        print(f"wrote {args.npz} ({', '.join(f'{m} {a.shape}' for m, a in arrays.items())})")
    maps = gallery_maps(agent, obs, methods, target)
    title = f"{agent.name}, step {args.step} (seed {args.seed}): what each method says (target: {target})"
    path = save_png(args.out, draw_gallery(obs, maps, title=title))
    print(f"wrote {path} ({len(maps)} methods)")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from rlviz.explain.registry import methods_table

    print(methods_table())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from rlviz.agents.evaluate import evaluate

    agent = _load(args)
    if args.write_card:
        from rlviz.agents.model_card import write_model_card

        if not Path(args.agent).is_dir():
            raise RlvizError("--write-card needs an rlviz agent folder; save the agent first (agent.save(folder))")
        ev, baseline = write_model_card(agent, args.agent, episodes=args.episodes, seed=args.seed, progress=not args.quiet,
                                        sampled=args.policy == "sampled")
        print(f"random policy: {baseline.mean:+.2f} ± {baseline.std:.2f}; wrote {Path(args.agent) / 'README.md'}")
    else:
        ev = evaluate(agent, episodes=args.episodes, seed=args.seed, max_steps=args.max_steps, progress=not args.quiet,
                      policy=args.policy)
    print(f"{printable(agent.name)} on {agent.env_spec.game}: {ev.mean:+.2f} ± {ev.std:.2f} over {len(ev.returns)} {ev.policy} episodes (seed {args.seed})")
    if args.json:
        write_text_atomic(args.json, json.dumps({"agent": str(args.agent), "game": agent.env_spec.game, **ev.to_dict()}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rlviz.train.ppo import PPOConfig, train

    cfg = PPOConfig(
        game=args.game or "Pong",
        total_steps=args.steps,
        seed=args.seed,
        device=args.device,
        num_envs=args.envs,
        checkpoint_every_s=args.checkpoint_every,
        snapshots=list(args.snapshots),
        init_from=args.init_from,
        hints=args.hints,
        threads=args.threads,
        life_loss_terminal=not args.full_game_returns,
    )
    _check_train_out(Path(args.out), resume=args.resume, force=args.force, init_from=args.init_from)
    try:
        out = train(cfg, args.out)  # Ctrl-C or `kill` saves a checkpoint (see _interrupt_on_signals)
    except KeyboardInterrupt:
        checkpoint = Path(args.out) / "checkpoint"
        if checkpoint.is_dir():
            print(f"rlviz: interrupted; checkpoint saved in {checkpoint} and the agent so far in {args.out}; "
                  "run the same command to resume", file=sys.stderr)
        else:
            print("rlviz: interrupted before training began; no checkpoint was written", file=sys.stderr)
        return 130
    print(f"wrote agent {out}; to train it further, run the same command with a larger --steps (it resumes)")
    return 0


def cmd_hints(args: argparse.Namespace) -> int:
    from rlviz.agents.loading import load_agent
    from rlviz.assess.overfit import hint_experiment

    overfit = load_agent(args.overfit, device=args.device)
    control = load_agent(args.control, device=args.device)
    if args.video:  # check the path before the long measurement
        from rlviz.present.writer import check_output_path

        check_output_path(args.video)
    result = hint_experiment(overfit, control, frames=args.frames, seed=args.seed, json_path=args.json)
    print(f"Share of each agent's explanation on the hint strip over {result.overfit.frames} frames (95% CI):")
    print(result.table())
    if args.json:
        print(f"wrote {args.json}")
    if args.video:
        from rlviz.present.video import make_comparison_video

        labels = [
            f"'{result.overfit.agent}': strip shows the expert's move; {result.overfit.saliency_mass:.0%} of its attention there",
            f"'{result.control.agent}': strip shows random moves; {result.control.saliency_mass:.0%} of its attention there",
        ]
        video = make_comparison_video(
            [overfit, control], args.video, frames=args.video_frames, seed=args.seed, labels=labels,
            title="The strip at the bottom shows a move to copy. Left: the expert's move. Right: a random one.",
            title_cards=not args.no_cards,
        )
        print(f"wrote {video.path} ({video.frames} frames)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from rlviz.agents.loading import load_agent
    from rlviz.present.report import make_report

    agent = _load(args)
    other = load_agent(args.compare, game=args.game, device=args.device) if args.compare else None
    agent_path = args.agent if Path(args.agent).is_dir() else None
    if args.out:
        out = Path(args.out)
    else:  # made from agent metadata: one safe folder name inside runs/, checked before the work
        out = Path("runs") / safe_name(f"report-{agent.name}" + (f"-vs-{other.name}" if other else ""))
        _claim_output(args, out, "dir")
    result = make_report(
        agent, out, compare=other, frames=args.frames, episodes=args.episodes, seed=args.seed, methods=args.explain,
        all_actions=args.all_actions, key_moments=args.moments, agent_path=agent_path, figures=tuple(args.figures),
        interactions=not args.no_interactions, objects=not args.no_objects, batch=args.batch, progress=not args.quiet,
        summary=None if args.no_summary else (args.summary or "auto"),
    )
    for n, m in enumerate(result.moments, 1):
        print(f"key moment {n}: step {m.step}: {m.text}")
    if other is not None:
        print(f"'{other.name}' would have chosen another move at {len(result.disagreements)} of {result.steps} steps")
    if result.summary is not None:
        print(f"Summary tab: {result.summary}/summary.json ({result.linked_examples} of its dataset examples are steps of this rollout)")
    note = " (interrupted: the steps so far were written)" if result.interrupted else ""
    print(f"wrote {result.path} ({result.steps} steps, score {result.score:+g}, {result.size_bytes / 1e6:.1f} MB, "
          f"{result.seconds:.0f} s){note}; open it in a browser")
    return 130 if result.interrupted else 0


def cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from rlviz.bench import run_bench, to_json

    if args.threads:
        torch.set_num_threads(args.threads)
    agent = _load(args)
    memory = tuple(args.memory)
    if args.memory_only:
        from rlviz.bench import video_memory

        if not memory:
            raise RlvizError("--memory-only needs --memory, e.g. --memory 1000,10000")
        peaks = video_memory(args.agent, memory, device=args.device, game=args.game)
        for frames, mb in peaks.items():
            print(f"peak memory of a {frames}-frame saliency+LRP video: {mb:,.0f} MB")
        if args.json:
            write_text_atomic(args.json, json.dumps({"agent": args.agent, "video_peak_rss_mb": peaks}, indent=2) + "\n")
            print(f"wrote {args.json}")
        return 0
    result = run_bench(agent, agent_path=args.agent, frames=args.frames, repeats=args.repeats,
                       video_frames=args.video_frames, memory_frames=memory, game=args.game)
    print(result.table())
    if args.json:
        write_text_atomic(args.json, to_json(result) + "\n")
        print(f"wrote {args.json}")
    return 0


def cmd_objects(args: argparse.Namespace) -> int:
    from rlviz.assess.faithfulness import collect_frames
    from rlviz.assess.objects import METHODS, object_report
    from rlviz.explain.objects import background, find_objects
    from rlviz.present.faithfulness_figures import save_png
    from rlviz.present.object_figures import (
        draw_background,
        draw_object_shares,
        draw_objects,
    )

    agent = _load(args)
    bg = background(agent, steps=args.steps, refresh=args.refresh, cache_dir=args.cache_dir, progress=not args.quiet)
    if args.background:
        if not args.out:
            raise RlvizError("--background writes a PNG: give its path with --out, e.g. --out runs/background.png")
        save_png(args.out, draw_background(bg, title=f"{agent.env_spec.game} background ({agent.env_spec.pipeline} pipeline, agent {agent.name})"))
        print(f"wrote {args.out}")
        return 0
    if args.frames < 1:
        raise RlvizError(f"--frames must be at least 1, got {args.frames}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else list(METHODS)
    obs = collect_frames(agent, frames=args.frames, seed=args.seed, spacing=args.spacing)
    report = object_report(agent, obs=obs, methods=methods, aopc=not args.no_aopc, bg=bg, progress=not args.quiet,
                           seed=args.seed, spacing=args.spacing)
    print(f"{report['game']}: share of each map's |mass| on objects over {report['frames']} frames "
          f"(object area {100 * report['object_area']:.1f}%)")
    for m, d in report["methods"].items():
        top = sorted(d["by_object"].items(), key=lambda kv: -kv[1])[:3]
        aopc = f"  AOPC del {d['aopc_deletion']:.3g} ins {d['aopc_insertion']:.3g}" if "aopc_deletion" in d else ""
        print(f"  {m:30s} {100 * d['share_on_objects']:5.1f}%  " + ", ".join(f"{n} {100 * v:.0f}%" for n, v in top) + aopc)
    print("object saliency (policy / value): " + ", ".join(
        f"{n} {s['policy']:.3g} / {s['value']:.3g}" for n, s in report["object_saliency"].items()))
    print(f"video default: {report['video_default']}")
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    figure = args.figure or (str(Path(args.json).with_suffix(".png")) if args.json else None)
    if figure:
        save_png(figure, draw_object_shares(report))
        print(f"wrote {figure}")
    if args.boxes:  # the frame with the most objects, labelled with the video method's shares
        k = max(range(len(obs)), key=lambda i: len(report["per_frame"][i]["objects"]))
        method = report["video_default"] if report["video_default"] in methods else methods[0]
        shares = report["per_frame"][k]["methods"][method]["by_object"]
        save_png(args.boxes, draw_objects(obs[k][-1], find_objects(obs[k], bg, agent.env_spec.game), shares=shares))
        print(f"wrote {args.boxes} (frame {k} of the rollout sample, shares of {method})")
def cmd_whatif(args: argparse.Namespace) -> int:
    from rlviz.play.edits import all_edits_text

    if args.list:
        print(all_edits_text())
        return 0
    if args.edit and args.view_edit:
        raise RlvizError("give one edit at a time: --edit or --view-edit")
    if args.view_edit:
        if not args.view_edit.startswith(("blank:", "hint:", "remove:")):
            raise RlvizError(f"--view-edit takes blank:x0,y0,x1,y1[=V], remove:OBJECT or hint:off|random|constant=ACTION, got {args.view_edit!r}")
        args.edit = args.view_edit
    if not args.edit:
        raise RlvizError("--edit is required; run 'rlviz whatif --list' for the edits of each game")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from rlviz.assess.whatif import what_if
    from rlviz.assess.whatif_objects import parse_whatif_edit

    agent = _load(args)
    edit = parse_whatif_edit(args.edit, agent)  # refused here, before any episode is played
    result = what_if(agent, edit, episodes=args.episodes, seed=args.seed, max_steps=args.max_steps,
                     saliency_frames=args.saliency_frames, objects=not args.no_objects, progress=not args.quiet,
                     json_path=args.json)
    print(result.summary())
    if args.json:
        print(f"wrote {args.json}")
    if args.video:
        from rlviz.present.whatif_video import make_whatif_video

        video = make_whatif_video(agent, edit, args.video, result=result, frames=args.video_frames, start=args.video_start, seed=args.seed,
                                  size=_size(args.size), progress=not args.quiet)
        print(f"wrote {video.path} ({video.frames} frames)")
    return 0


def cmd_summarize(args: argparse.Namespace) -> int:
    from rlviz.assess.summary_run import summarize
    from rlviz.present.summary_report import write_summary

    agent = _load(args)
    result = summarize(agent, args.episodes, frames_per_episode=args.frames_per_episode, seed=args.seed,
                       ray=args.ray, examples_per_channel=args.examples, progress=not args.quiet)
    paths = write_summary(result, args.out, per_layer=args.per_layer)
    frames = int(result.accumulator.frames().sum())
    print(f"summarised {frames} frames of {result.episodes} episode(s) in {result.seconds:.1f} s ({result.workers}); "
          f"wrote {len(paths)} files to {args.out} (summary.json, aggregates.npz, graph_<MOVE>.png)")
    return 0


BATCH_COMMANDS = ("video", "faithfulness", "summarize", "evaluate", "objects", "interactions", "frame", "hints")


def _batch_jobs(path: str) -> list[dict]:
    """The [[job]] tables of a batch file: command, args (a list of strings), out (what it writes)."""
    import tomllib

    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RlvizError(f"cannot read the batch file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RlvizError(f"{path} is not valid TOML: {exc}") from None
    jobs = doc.get("job")
    if not isinstance(jobs, list) or not jobs:
        raise RlvizError(f"{path} lists no jobs; add [[job]] tables with command, args and out")
    for n, job in enumerate(jobs, 1):
        if job.get("command") not in BATCH_COMMANDS:
            raise RlvizError(f"job {n}: command must be one of {', '.join(BATCH_COMMANDS)}, got {job.get('command')!r}")
        if not isinstance(job.get("out"), str) or not all(isinstance(a, str) for a in job.get("args", [])):
            raise RlvizError(f"job {n}: give out = \"PATH\" (what the job writes) and args = [\"--flag\", \"value\", ...]")
    return jobs


def _run_job(argv: list[str]) -> int:
    """One job, as `rlviz ARGV` would run it (exit status), without touching signal handlers:
    it may run as a Ray task in a Ray worker."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except RlvizError as exc:
        print(f"rlviz: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse refused the arguments
        return int(exc.code or 0)


def cmd_batch(args: argparse.Namespace) -> int:
    jobs = _batch_jobs(args.jobs)
    todo = [j for j in jobs if args.force or not Path(j["out"]).exists()]
    for j in jobs:
        if j not in todo:
            print(f"skip {j['command']} -> {j['out']} (exists; --force reruns it)")
    argvs = [[j["command"], *j.get("args", [])] for j in todo]
    for n, argv in enumerate(argvs, 1):  # refuse a typo before anything runs
        try:
            build_parser().parse_args(argv)
        except SystemExit:
            raise RlvizError(f"job {n} ({argv[0]} -> {todo[n - 1]['out']}): its args are refused (see above)") from None
    if args.ray is None:
        codes = [_run_job(a) for a in argvs]
    else:
        from rlviz.assess.summary_run import init_ray

        ray = init_ray(args.ray)
        task = ray.remote(num_cpus=1, max_retries=3)(_run_job)
        codes = ray.get([task.remote(a) for a in argvs])
    failed = [(j, c) for j, c in zip(todo, codes) if c != 0]
    for j, c in failed:
        print(f"failed ({c}): {j['command']} -> {j['out']}", file=sys.stderr)
    print(f"batch: {len(todo) - len(failed)} of {len(todo)} jobs done, {len(jobs) - len(todo)} skipped")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlviz",
        description="See what Atari reinforcement-learning agents look at and why they act.",
        epilog="Run 'rlviz COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("video", help="render an annotated explanation video of an agent playing",
                       description="Play the agent greedily from a seeded reset, explain every frame and write an mp4 or GIF.")
    _add_agent_args(p)
    p.add_argument("--frames", type=cli_types.int_range(1), default=300, help="number of agent steps to play and explain (default 300)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed (default 0)")
    p.add_argument("--episodes", type=cli_types.int_range(1), default=1, help="play up to this many episodes in a row, seeds SEED, SEED+1, ... (default 1)")
    p.add_argument("--explain", default="saliency", help="comma-separated panels: saliency, lrp, interactions, or any method of 'rlviz methods' with options as METHOD:OPTION=VALUE (e.g. deeplift:target=contrast; METHOD@contrast for short) (default saliency)")
    p.add_argument("--out", default=None, help="output .mp4 or .gif (default runs/<agent>-<explain>.mp4)")
    p.add_argument("--normalize", choices=("video", "frame"), default="video", help="saliency brightness scale: whole video (default) or per frame")
    p.add_argument("--saliency-frames", choices=("all", "newest"), default="all", help="perturb all stacked frames (default) or only the newest")
    p.add_argument("--fps", type=cli_types.fps, default=30.0, help="video frame rate (default 30)")
    p.add_argument("--size", type=cli_types.size, default="1280x720", help="video size WIDTHxHEIGHT, even numbers (default 1280x720)")
    p.add_argument("--highlights", type=cli_types.int_range(0), default=0, metavar="K", help="keep only clips around the K key moments (lost lives, rewards, value drops and rises, changes of mind)")
    p.add_argument("--compare", default=None, metavar="AGENT", help="a second agent (or checkpoint) played side by side from the same start")
    p.add_argument("--same-frames", action="store_true", help="with --compare: only the first agent plays; the second is explained on its frames (both maps describe the same situation; its would-be move is shown)")
    p.add_argument("--no-captions", action="store_true", help="no plain-language captions at rewards and sharp value changes")
    p.add_argument("--no-cards", action="store_true", help="no title card and end card")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the video's timeline (per step: score, reward, lives, value, move, caption; key moments; cards) to this JSON file")
    p.add_argument("--batch", type=cli_types.int_range(1), default=None, help="frames explained together (default 8 on CPU, 64 on a GPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_video)

    p = sub.add_parser("frame", help="write one annotated still (PNG) of a given step",
                       description="Play the agent from a seeded reset to step T and draw that frame with its explanations (scaled per frame).")
    _add_agent_args(p)
    p.add_argument("--step", type=cli_types.int_range(0), default=0, help="which agent step to draw (default 0)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed (default 0)")
    p.add_argument("--explain", default="saliency", help="comma-separated panels: saliency, lrp, interactions, or any method of 'rlviz methods' with options as METHOD:OPTION=VALUE (e.g. deeplift:target=contrast; METHOD@contrast for short) (default saliency)")
    p.add_argument("--size", type=cli_types.size, default="1280x720", help="image size WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--out", required=True, help="output .png file")
    p.set_defaults(func=cmd_frame)

    p = sub.add_parser("interactions", help="which screen regions the policy combines (neural interaction detection)",
                       description="Read the policy's weights for interacting features (NID, Tsang et al. 2018), per action, mapped onto the screen; writes interactions.json and PNG figures.")
    _add_agent_args(p)
    p.add_argument("--out", required=True, help="output folder for interactions.json and the figures")
    p.add_argument("--action", default=None, help="one action (index or name, e.g. RIGHT) or 'value'; default: overall, every action and the value")
    p.add_argument("--group", choices=("cell", "channel"), default="cell", help="features grouped by screen cell (49, default) or by channel (64)")
    p.add_argument("--top-k", type=cli_types.int_range(1), default=10, help="pairs listed per analysis (default 10)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed of the backdrop frame (default 0)")
    p.add_argument("--frame-step", type=cli_types.int_range(0, 100_000), default=60, help="steps played before taking the backdrop frame (default 60)")
    p.set_defaults(func=cmd_interactions)

    p = sub.add_parser("faithfulness", help="do the maps point at what the agent uses? (pixel flipping, sanity checks)",
                       description="Delete screen regions in the order each method ranks them and track the agent's output (AOPC, with a random-order baseline); --sanity adds the randomisation and input-invariance checks.")
    _add_agent_args(p)
    p.add_argument("--frames", type=cli_types.int_range(1), default=20, help="frames of a seeded rollout to test (default 20)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="rollout seed (default 0)")
    p.add_argument("--methods", default=None, help="comma-separated methods (default: all; see docs/faithfulness.md)")
    p.add_argument("--region", type=cli_types.int_range(1, 84), default=7, help="side of the square regions removed per step, a divisor of 84 (default 7)")
    p.add_argument("--replace", choices=("blur", "background"), default="blur",
                   help="what a removed region becomes: 'blur' (default, sigma 3) or 'background', the agent's empty "
                        "playfield (removes objects and keeps the static scene; computed once and cached, see docs/objects.md)")
    p.add_argument("--json", default=None, help="write the results (with 'aopc': {method: value, ..., 'random': value}) to this file")
    p.add_argument("--out", default=None, help="folder for faithfulness.json/png (and sanity.json/png)")
    p.add_argument("--sanity", action="store_true", help="also run the cascading-randomisation and input-invariance checks")
    p.add_argument("--sanity-frames", type=cli_types.int_range(1), default=None, help="frames the sanity checks use (default: --frames, at most 4)")
    p.add_argument("--rank-output", choices=("logit", "prob", "value"), default="logit",
                   help="the explained output the final ranking and table use: the chosen action's logit (default), "
                        "its probability (fairer to contrastive METHOD@contrast maps), or the value")
    p.add_argument("--replot", action="store_true", help="only redraw OUT/faithfulness.png from OUT/faithfulness.json (no measuring)")
    p.set_defaults(func=cmd_faithfulness)

    p = sub.add_parser("attribute", help="every explanation method on one frame, side by side (PNG; raw maps with --npz)",
                       description="Play the agent from a seeded reset to step T and draw each method's map over the frame the network sees.")
    _add_agent_args(p)
    p.add_argument("--step", type=cli_types.int_range(0), default=60, help="which agent step to explain (default 60)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed (default 0)")
    p.add_argument("--methods", default="all", help="comma-separated methods (see 'rlviz methods'; default all)")
    p.add_argument("--target", default="action", help="action (default), value, contrast, or an action index")
    p.add_argument("--out", required=True, help="output .png file")
    p.add_argument("--npz", default=None, help="also save the raw maps, one array per method, to this .npz file")
    p.set_defaults(func=cmd_attribute)

    p = sub.add_parser("methods", help="list the explanation methods, their outputs, targets and options",
                       description="Every per-pixel method reached by rlviz.attribute(agent, obs, method=NAME, target=..., **options) and by --methods of 'rlviz faithfulness'.")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("hints", help="the overfit-agent experiment: does saliency find the hint pixels an agent copies?",
                       description="Measure how much of each agent's saliency and LRP mass lies on the hint strip, "
                                   "and how often it plays the hinted move; optionally render both side by side.")
    p.add_argument("--overfit", required=True, help="agent trained with expert hints (rlviz train --hints EXPERT)")
    p.add_argument("--control", required=True, help="agent trained with random hints (rlviz train --hints random)")
    p.add_argument("--frames", type=cli_types.int_range(1), default=200, help="greedy steps to measure per agent (default 200)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="first episode's reset seed (default 0)")
    p.add_argument("--json", default=None, help="write both agents' figures to this JSON file")
    p.add_argument("--video", default=None, help="also render the side-by-side video (.mp4 or .gif)")
    p.add_argument("--video-frames", type=cli_types.int_range(1), default=600, help="steps in the video (default 600)")
    p.add_argument("--no-cards", action="store_true", help="no title card and end card in the video")
    p.add_argument("--device", default="cpu", type=cli_types.device, help="cpu (default) or cuda")
    p.set_defaults(func=cmd_hints)

    p = sub.add_parser("whatif", help="change the game (or what the agent sees) and measure what changes",
                       description="Play the same seeds with and without an edit of the game (RAM) or of the agent's view; "
                                   "report returns with a paired 95%% interval, changed moves and where the saliency moves.")
    _add_agent_args(p)
    p.add_argument("--edit", default=None, help="a game edit (see --list), blank:x0,y0,x1,y1[=V], remove:OBJECT or hint:off|random|constant=ACTION")
    p.add_argument("--view-edit", default=None, help="the same for view edits only (blank:..., remove:OBJECT or hint:...): the game is not changed; "
                                                      "remove:OBJECT paints that object with the background, e.g. remove:ball")
    p.add_argument("--list", action="store_true", help="list the edits of each game and exit")
    p.add_argument("--episodes", type=cli_types.int_range(1), default=3, help="episodes with and without the edit, seeds SEED, SEED+1, ... (default 3)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="first episode's reset seed (default 0)")
    p.add_argument("--max-steps", type=cli_types.int_range(1), default=None, help="cut each episode after this many steps")
    p.add_argument("--saliency-frames", type=cli_types.int_range(0), default=16, help="frames per run for the saliency comparison (0: skip; default 16)")
    p.add_argument("--no-objects", action="store_true", help="skip each method's object shares with and without the edit "
                                                             "(they need the agent's background, computed once and cached)")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    p.add_argument("--video", default=None, help="also render the unedited and the edited game side by side (.mp4 or .gif)")
    p.add_argument("--video-frames", type=cli_types.int_range(1), default=300, help="steps in the video (default 300)")
    p.add_argument("--video-start", type=cli_types.int_range(0), default=0, help="play this many steps unseen before the video's first frame (default 0)")
    p.add_argument("--size", default="1280x720", help="video size WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--threads", type=cli_types.int_range(0), default=0, help="torch threads (default: PyTorch's choice; 1 on a busy small machine)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_whatif)

    p = sub.add_parser("evaluate", help="score an agent over seeded episodes", description="Play seeded episodes (greedy by default) and print mean ± std of the returns.")
    _add_agent_args(p)
    p.add_argument("--episodes", type=cli_types.int_range(1), default=10, help="number of episodes (default 10)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="episode k resets with seed+k (default 0)")
    p.add_argument("--max-steps", type=cli_types.int_range(1), default=None, help="cut episodes after this many steps")
    p.add_argument("--json", default=None, help="also write the returns to this JSON file")
    p.add_argument("--policy", choices=("greedy", "sampled"), default="greedy",
                   help="greedy: the likeliest move (as videos play; default); sampled: each move drawn from the policy, "
                        "seeded per episode (RL Zoo's default for Atari). With --write-card, sampled adds its score to the card")
    p.add_argument("--write-card", action="store_true", help="store the result in the agent folder and write its model card (README.md) with a random-policy baseline")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("import", help="turn an agent file from another package into an rlviz agent folder",
                       description="Read SRC (SB3 .zip, CleanRL file, any torch checkpoint whose shapes rlviz knows; "
                                   "gzip and wrapper keys are fine), record the pipeline, save to --out.")
    p.add_argument("src", help="the agent file")
    p.add_argument("--out", required=True, help="the agent folder to write, e.g. agents/NAME")
    p.add_argument("--game", default=None, help="the game it was trained on (e.g. SpaceInvaders, ALE/Pong-v5)")
    p.add_argument("--name", default=None, help="the agent's name (default: the folder name)")
    p.add_argument("--force", action="store_true", help="replace the agent already in --out")
    p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    _add_pipeline_args(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("train", help="train a PPO agent (resumes from its last checkpoint)",
                       description="PPO with the standard Atari settings; checkpoints every few minutes and resumes when run again.")
    p.add_argument("--game", default="Pong", help="game to train on (default Pong)")
    p.add_argument("--steps", type=cli_types.int_range(1), required=True,
                   help="total agent steps to train to, counting steps already trained (e.g. 4096 to try it; "
                        "the bundled Pong agent took 6M, about 6 h on 2 CPU cores)")
    p.add_argument("--out", required=True, help="output agent folder, e.g. agents/pong")
    p.add_argument("--seed", type=cli_types.int_range(0), default=1, help="random seed (default 1)")
    p.add_argument("--envs", type=cli_types.int_range(1, 1024), default=8, help="parallel envs (default 8)")
    p.add_argument("--device", default="cpu", type=cli_types.device, help="cpu (default) or cuda")
    p.add_argument("--checkpoint-every", type=cli_types.positive_float(), default=300.0, help="seconds between checkpoints (default 300)")
    p.add_argument("--snapshots", type=cli_types.int_list, default=[], help="comma-separated steps at which to keep a copy of the agent")
    p.add_argument("--init-from", default=None, metavar="AGENT", help="when --out has no checkpoint, continue from this exported agent (its weights and step count)")
    p.add_argument("--threads", type=cli_types.int_range(0), default=0, help="torch threads (default: PyTorch's choice; 1 when two runs share a small machine)")
    p.add_argument("--hints", default=None, metavar="EXPERT|random",
                   help="write hint pixels into the bottom strip of every frame: an expert agent's move "
                        "(its folder) or, for a control, random moves (the overfit-agent experiment)")
    p.add_argument("--full-game-returns", action="store_true",
                   help="do not end the return estimate when a life is lost (by default a lost life counts as "
                        "terminal for learning, as in the standard Atari setup; the game itself goes on)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint (running the same command again does too)")
    p.add_argument("--force", action="store_true", help="replace the agent already in --out (its checkpoint, agent files and model card) with a new run")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("report", help="write an interactive page (open it from disk) for debugging an agent",
                       description="Play the agent greedily from a seeded reset, explain every step and write a folder whose "
                                   "index.html shows the timeline, each frame with its maps, a compared agent and the model card.")
    _add_agent_args(p)
    p.add_argument("--compare", default=None, metavar="AGENT", help="a second agent of the same game, explained on the same observations")
    p.add_argument("--episodes", type=cli_types.int_range(1), default=1, help="whole games to play, seeds SEED, SEED+1, ... (default 1)")
    p.add_argument("--frames", type=cli_types.int_range(1), default=None, help="stop after this many steps (default: play the games to the end)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed (default 0)")
    p.add_argument("--methods", "--explain", dest="explain", default="saliency,lrp", metavar="M1,M2",
                   help="comma-separated map layers: saliency (actor and critic), lrp (move and value), any method of "
                        "'rlviz methods' for the chosen move (e.g. integrated-gradients,gradcam), or all (slow: "
                        "meaningful-perturbation optimises a mask per frame); default saliency,lrp")
    p.add_argument("--all-actions", action="store_true", help="also an LRP map for every action, not only the chosen one and the value")
    p.add_argument("--moments", type=cli_types.int_range(0), default=8, help="key moments marked on the timeline (default 8)")
    p.add_argument("--figures", action="append", default=[], metavar="DIR",
                   help="add the PNG figures in DIR (e.g. from rlviz faithfulness --out) to the Summary tab; repeatable")
    p.add_argument("--no-interactions", action="store_true", help="no region-pair figures on the Summary tab")
    p.add_argument("--summary", default=None, metavar="DIR",
                   help="an rlviz summarize folder to show on the Summary tab: each move's attribution graph, its channels' "
                        "dataset examples (click one in the rollout to jump to its step) and captions (default: this agent's "
                        "summary in AGENT/summary, runs/summary-NAME or docs/summaries/NAME, if there is one)")
    p.add_argument("--no-summary", action="store_true", help="no summary on the Summary tab, even if one is found")
    p.add_argument("--no-objects", action="store_true", help="no objects layer (boxes, names and each map's top object shares; "
                                                            "they need the agent's background, computed once and cached)")
    p.add_argument("--batch", type=cli_types.int_range(1), default=8, help="frames explained together (default 8)")
    p.add_argument("--out", default=None, help="output folder (default runs/report-<agent>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bench", help="measure explanation speed against the plain-PyTorch ceiling",
                       description="Print (a) the batched forward ceiling, (b) saliency frames/s, (c) the original loop, (d) LRP frames/s, (e) end-to-end video frames/s and peak memory.")
    _add_agent_args(p)
    p.add_argument("--frames", type=cli_types.int_range(1), default=8, help="frames per saliency batch (default 8)")
    p.add_argument("--repeats", type=cli_types.int_range(1), default=3, help="timed runs per figure; the median is reported (default 3)")
    p.add_argument("--video-frames", type=cli_types.int_range(0), default=0, help="also time an end-to-end saliency+LRP video of this many frames")
    p.add_argument("--memory", type=cli_types.int_list, default=[], help="comma-separated video lengths whose peak memory to measure, e.g. 1000,10000")
    p.add_argument("--memory-only", action="store_true", help="measure only the --memory videos (skip the speed figures)")
    p.add_argument("--threads", type=cli_types.int_range(0), default=0, help="torch threads (default: PyTorch's choice)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("objects", help="explanations in terms of the game's objects: shares of each map, object saliency",
                       description="Find the objects of each frame (pixels that differ from the game's background, named for Pong, Breakout and SpaceInvaders), measure each map's share on every object and each object's saliency, and pick the video's relevance method. --background writes the background image instead.")
    _add_agent_args(p)
    p.add_argument("--background", action="store_true", help="write the background (per-pixel median of greedy play) as a PNG to --out")
    p.add_argument("--out", default=None, help="PNG path for --background")
    p.add_argument("--frames", type=cli_types.int_range(1), default=10, help="frames of a greedy rollout to measure (default 10)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=1, help="rollout seed (default 1)")
    p.add_argument("--spacing", type=cli_types.int_range(1), default=8, help="take every N-th step of the rollout (default 8)")
    p.add_argument("--methods", default=None, help="comma-separated methods (default: the LRP composites, gradient-x-input, saliency)")
    p.add_argument("--json", default=None, help="write shares, object saliency and the video default to this JSON file")
    p.add_argument("--figure", default=None, help="figure PNG (default: the --json path with .png)")
    p.add_argument("--boxes", default=None, help="also write the rollout's first frame with its objects boxed and named (PNG)")
    p.add_argument("--no-aopc", action="store_true", help="skip the deletion/insertion AOPC (faster; the video default is then not measured)")
    p.add_argument("--steps", type=cli_types.int_range(1), default=1000, help="steps of greedy play for a new background (default 1000)")
    p.add_argument("--refresh", action="store_true", help="recompute the background even if it is cached")
    p.add_argument("--cache-dir", default="runs/cache/backgrounds", help="where backgrounds are cached (default runs/cache/backgrounds)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_objects)
    p = sub.add_parser("summarize", help="what the agent has learned over many frames (Summit for agents), per move",
                       description="Play greedy episodes and aggregate, per chosen move, which conv channels fire, how they feed each other and which push the move (Summit, Hohman et al. 2019); writes summary.json, aggregates.npz and an attribution-graph figure per move. Episodes run in this process, or as Ray tasks with --ray.")
    _add_agent_args(p)
    p.add_argument("--episodes", type=cli_types.int_range(1), default=1, help="episodes to play (default 1); episode e starts from reset(seed=SEED + e)")
    p.add_argument("--frames-per-episode", type=cli_types.int_range(1), default=None, help="stop each episode after N steps (default: play it to the end)")
    p.add_argument("--seed", type=cli_types.int_range(0), default=0, help="reset seed of the first episode (default 0)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run episodes as Ray tasks: --ray starts a local Ray, --ray ADDRESS joins a cluster (needs pip install 'rlviz[ray]')")
    p.add_argument("--examples", type=cli_types.int_range(1), default=4, help="dataset examples kept per channel (default 4)")
    p.add_argument("--per-layer", type=cli_types.int_range(1), default=3, help="channels per layer in each attribution graph (default 3)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_summarize)
    p = sub.add_parser("batch", help="run many video/faithfulness/summarize/... jobs from a TOML file, here or on Ray",
                       description="Run the [[job]] tables of a TOML file (command = \"video\", args = [\"--agent\", \"agents/pong\", ...], out = \"what it writes\"), one after another or as Ray tasks with --ray. A job whose out exists is skipped, so a batch can be run again after a failure.")
    p.add_argument("jobs", help="the TOML file of jobs")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run the jobs as Ray tasks: --ray starts a local Ray, --ray ADDRESS joins a cluster (needs pip install 'rlviz[ray]')")
    p.add_argument("--force", action="store_true", help="rerun jobs whose output exists")
    p.set_defaults(func=cmd_batch)
    _add_thread_options(sub)
    _add_version_option(parser)
    return parser


def _add_thread_options(sub: argparse._SubParsersAction) -> None:
    """Give every command that computes a --threads option (train and bench define their own)."""
    for p in sub.choices.values():
        if not any("--threads" in a.option_strings for a in p._actions):
            p.add_argument("--threads", type=cli_types.int_range(0), default=0,
                           help="torch threads (default: PyTorch's choice, or OMP_NUM_THREADS when set)")


def _apply_threads(args: argparse.Namespace) -> None:
    threads = getattr(args, "threads", 0) or 0
    if threads < 0:
        raise RlvizError(f"--threads must be at least 1 (or 0 for PyTorch's choice), got {threads}")
    if threads:
        import torch

        torch.set_num_threads(threads)


def _add_version_option(parser: argparse.ArgumentParser) -> None:
    from rlviz import __version__

    parser.add_argument("--version", action="version", version=f"rlviz {__version__}")


def _interrupt_on_signals() -> None:
    """Make `kill` (SIGTERM) and SIGINT stop a command the way Ctrl-C does: a video is
    finalised and playable, training saves a checkpoint. Also in background jobs, where the
    shell starts us with SIGINT ignored."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    except ValueError:  # called from another thread: leave the handlers alone
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _interrupt_on_signals()
    try:
        _apply_threads(args)
        with contextlib.ExitStack() as locks:
            args.locks = locks
            for name, kind in OUTPUTS.get(args.command, {}).items():
                if getattr(args, name, None):
                    _claim_output(args, Path(getattr(args, name)), kind, f"--{name}")
            return int(args.func(args) or 0)
    except RlvizError as exc:
        print(f"rlviz: error: {printable(exc, 2000)}", file=sys.stderr)  # one line, no escape sequences
        return 2
    except KeyboardInterrupt:
        print("rlviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
