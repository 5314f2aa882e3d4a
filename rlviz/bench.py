"""Measuring how fast rlviz explains frames, against the plain-PyTorch ceiling.

The paths are timed in turn, round after round, after a warm-up, all in one process; every
figure is the median over rounds with its range, every ratio is taken within a round, and a
warning says when the rounds spread so much that the machine must be busy.
``rlviz bench`` and ``scripts/bench.py`` print the table.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import (
    BLUR_SIGMA,
    MASK_SIGMA,
    _incremental_split,
    gaussian_blur,
    gaussian_mask,
    grid_centres,
    passes_per_frame,
    perturbation_saliency,
)
from rlviz.util.errors import RlvizError
from rlviz.util.timing import Spread, busy_warning, load_average, time_in_rounds


def _synchronize() -> None:
    """Wait for queued GPU work, so that wall times cover it."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        _synchronize()
        start = time.perf_counter()
        fn()
        _synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ceiling_input(agent: Agent, batch: int, layout: str) -> torch.Tensor:
    x = torch.rand(batch, *agent.env_spec.obs_shape, device=agent.device)
    return x.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else x


def forward_ceiling(agent: Agent, batch_sizes: tuple[int, ...], repeats: int) -> tuple[float, int, str]:
    """Best batched forward throughput (samples/s) of the bare net, over batch sizes and
    memory layouts: the most any batched saliency loop could get from this network."""
    best = (0.0, 0, "")
    for layout in ("contiguous", "channels_last"):
        for bs in batch_sizes:
            x = _ceiling_input(agent, bs, layout)

            def run() -> None:
                with torch.inference_mode():
                    agent.forward(x)

            rate = bs / timed(run, repeats)
            best = max(best, (rate, bs, layout))
    return best


def _forward_with_rlviz_kernels(agent: Agent) -> Callable[[torch.Tensor], object] | None:
    """The net's forward through the kernels rlviz's saliency uses (None for other nets), so
    the table can say how much of rlviz's lead over the ceiling is the kernels alone."""
    split = _incremental_split(agent)
    if split is None:
        return None
    conv, rest = split
    return lambda x: rest(conv(x))


def original_loop(agent: Agent, obs: np.ndarray) -> None:
    """The original implementation's shape: one unbatched pass per mask, the mask and the blur
    recomputed for every perturbation, and the actor and critic maps in two separate loops,
    as the original code scores a frame once per mode."""
    x = torch.from_numpy(obs).float().to(agent.device)[None] / 255.0
    with torch.no_grad():
        for mode in (0, 1):  # 0: actor (logits), 1: critic (value)
            clean = agent.forward(x)[mode]
            for i in grid_centres():
                for j in grid_centres():
                    mask = torch.from_numpy(gaussian_mask((i, j), sigma=MASK_SIGMA)).float().to(agent.device)
                    blurred = gaussian_blur(x, BLUR_SIGMA)
                    out = agent.forward(x * (1 - mask) + blurred * mask)[mode]
                    float(0.5 * ((out - clean) ** 2).sum())


@dataclass
class BenchResult:
    """Every figure is the median over rounds; ``spreads`` holds its median and range
    (frames/s, passes/s for the ceilings, % and x for the ratios), ``warning`` a busy machine."""

    device: str
    machine: str
    torch: str
    threads: int
    passes_per_frame: int
    ceiling_samples_per_s: float
    ceiling_batch: int
    ceiling_layout: str
    saliency_fps: float
    kernel_ceiling_samples_per_s: float | None  # the same net with rlviz's kernels (None: not an rlviz Nature CNN)
    plain_saliency_fps: float
    original_fps: float
    lrp_fps: dict[str, float] = field(default_factory=dict)
    video_fps: float | None = None
    video_peak_rss_mb: dict[str, float] = field(default_factory=dict)
    spreads: dict[str, Spread] = field(default_factory=dict)
    load_average: tuple[float | None, float | None] = (None, None)  # 1-minute load before and after
    warning: str | None = None

    @property
    def ceiling_fps(self) -> float:
        return self.ceiling_samples_per_s / self.passes_per_frame

    @property
    def kernel_ceiling_fps(self) -> float | None:
        if self.kernel_ceiling_samples_per_s is None:
            return None
        return self.kernel_ceiling_samples_per_s / self.passes_per_frame

    def _spread(self, name: str, fmt: str, unit: str = "") -> str:
        s = self.spreads.get(name)
        if s is None or s.rounds < 2:
            return ""
        return f" (range {s.low:{fmt}}-{s.high:{fmt}}{unit})"

    def table(self) -> str:
        rounds = self.spreads["saliency"].rounds if "saliency" in self.spreads else 0
        load = ", ".join("?" if v is None else f"{v:.1f}" for v in self.load_average)
        rows = [
            ("device", self.device),
            ("machine", f"{self.machine}; load average {load} (before, after)"),
            ("torch / threads", f"{self.torch} / {self.threads}"),
            ("rounds", f"{rounds}: each figure is the median of its rounds (range: slowest-fastest round); "
                       + "the paths are timed in turn in every round"),
            ("(a) plain ceiling", f"{self.ceiling_samples_per_s:,.0f} passes/s (batch {self.ceiling_batch}, {self.ceiling_layout}) = "
                                  f"{self.ceiling_fps:.2f} frames/s" + self._spread("ceiling", ".2f")),
        ]
        if self.kernel_ceiling_fps is not None:
            rows.append(("    with rlviz's kernels", f"{self.kernel_ceiling_fps:.2f} frames/s" + self._spread("kernel ceiling", ".2f")
                         + " (fc1 through oneDNN; what a batched loop could get with them)"))
        rows += [
            ("(b) rlviz saliency", f"{self.saliency_fps:.2f} frames/s" + self._spread("saliency", ".2f")),
            ("    share of the ceiling", f"{self.spreads['saliency / ceiling'].median:.0f}%" + self._spread("saliency / ceiling", ".0f", "%")
             + (f"; of the one with rlviz's kernels {self.spreads['saliency / kernel ceiling'].median:.0f}%"
                + self._spread("saliency / kernel ceiling", ".0f", "%") if "saliency / kernel ceiling" in self.spreads else "")),
            ("    plain batched path", f"{self.plain_saliency_fps:.2f} frames/s" + self._spread("plain", ".2f")
             + f" = {self.spreads['plain / ceiling'].median:.0f}%" + self._spread("plain / ceiling", ".0f", "%")
             + " of the ceiling (method='plain', without the incremental first layer)"),
            ("(c) original loop", f"{self.original_fps:.3f} frames/s" + self._spread("original", ".3f")
             + f"; rlviz is {self.spreads['saliency / original'].median:.1f}x faster" + self._spread("saliency / original", ".1f", "x")),
        ]
        for name, fps in self.lrp_fps.items():
            rows.append((f"(d) LRP {name}", f"{fps:,.0f} frames/s" + self._spread(f"lrp {name}", ",.0f")))
        if self.video_fps is not None:
            rows.append(("(e) video, saliency+LRP", f"{self.video_fps:.2f} frames/s end to end" + self._spread("video", ".2f")))
        else:
            rows.append(("(e) video, saliency+LRP", "not measured (--video-frames N times an N-frame video, 3 runs)"))
        for frames, mb in self.video_peak_rss_mb.items():
            rows.append((f"(e) peak memory, {frames} frames", f"{mb:,.0f} MB"))
        if not self.video_peak_rss_mb:
            rows.append(("(e) peak memory", "not measured (--memory 1000,10000 measures videos of those lengths)"))
        width = max(len(r[0]) for r in rows)
        table = "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
        return f"{self.warning}\n{table}" if self.warning else table


def _video_subprocess(agent_path: str, frames: int, explain: str, device: str, game: str | None = None) -> tuple[float, float, int]:
    """Run one video in a fresh process; returns (frames/s, peak RSS in MB, frames written)."""
    code = (
        "import json, resource, sys, time\n"
        "from rlviz import load_agent\nfrom rlviz.present.video import make_video\n"
        f"agent = load_agent({agent_path!r}, game={game!r}, device={device!r})\n"
        # as many episodes as it takes: a long video must not stop at the first game's end
        f"r = make_video(agent, sys.argv[1], frames={frames}, episodes={frames}, explain={explain!r}, title_cards=False, progress=False)\n"
        "print(json.dumps({'fps': r.frames / r.seconds, 'frames': r.frames, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code, str(Path(tmp) / "bench.mp4")], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["fps"], data["rss"], data["frames"]


def video_memory(agent_path: str, lengths: tuple[int, ...], *, explain: str = "saliency,lrp", device: str = "cpu",
                 game: str | None = None) -> dict[str, float]:
    """Peak resident memory (MB) of end-to-end videos of the given lengths, each in a fresh
    process, keyed by the number of frames written; flat in length when nothing accumulates."""
    peaks: dict[str, float] = {}
    for n in lengths:
        _, rss, written = _video_subprocess(agent_path, n, explain, device, game)
        peaks[str(written)] = rss
    return peaks


def run_bench(
    agent: Agent,
    *,
    agent_path: str | None = None,
    frames: int = 8,
    repeats: int = 3,
    batch_sizes: tuple[int, ...] = (256, 512, 1024, 2048),
    lrp_batch: int = 128,
    video_frames: int = 0,
    video_runs: int = 3,
    memory_frames: tuple[int, ...] = (),
    seed: int = 0,
    game: str | None = None,
) -> BenchResult:
    """Measure (a)-(e) for ``agent`` on its device; see :class:`BenchResult`.

    The best ceiling configuration is chosen first; then the ceiling, rlviz's saliency, the
    plain path, the original loop, the kernel ceiling and each LRP composite are timed in turn,
    ``repeats`` rounds, and every figure and ratio is reported as median and range over rounds
    (a ratio from the same round, so that a slow moment hits both of its sides)."""
    if repeats < 1:
        raise RlvizError(f"--repeats must be at least 1, got {repeats}")
    load_before = load_average()
    rng = np.random.default_rng(seed)
    from rlviz.play.envs import make_env

    env = make_env(agent.env_spec, render_mode=None)
    obs, _ = env.reset(seed=seed)
    frames_list = []
    for _ in range(max(frames, 64)):
        obs, *_ = env.step(int(rng.integers(env.action_space.n)))
        frames_list.append(np.asarray(obs))
    env.close()
    batch = np.stack(frames_list[:frames])
    _, bs, layout = forward_ceiling(agent, batch_sizes, repeats)
    x = _ceiling_input(agent, bs, layout)

    def ceiling() -> None:
        with torch.inference_mode():
            agent.forward(x)

    runs: dict[str, Callable[[], object]] = {
        "ceiling": ceiling,
        "saliency": lambda: perturbation_saliency(agent, batch),
        "plain": lambda: perturbation_saliency(agent, batch, method="plain"),
        "original": lambda: original_loop(agent, batch[0]),
    }
    with_kernels = _forward_with_rlviz_kernels(agent)
    if with_kernels is not None:

        def kernel_ceiling() -> None:
            with torch.inference_mode():
                with_kernels(x)

        runs["kernel ceiling"] = kernel_ceiling
    try:
        from rlviz.explain.lrp import lrp
    except ImportError:
        lrp = None
    composites = ("epsilon-gamma-box", "epsilon-plus-flat", "epsilon-alpha2-beta1", "epsilon")
    if lrp is not None:
        lrp_obs = np.stack([frames_list[k % len(frames_list)] for k in range(lrp_batch)])
        for composite in composites:
            runs[f"lrp {composite}"] = lambda c=composite: lrp(agent, lrp_obs, composite=c)
    times = time_in_rounds(runs, repeats, sync=_synchronize)
    work = {"ceiling": bs / passes_per_frame(), "kernel ceiling": bs / passes_per_frame(), "saliency": frames,
            "plain": frames, "original": 1, **{f"lrp {c}": lrp_batch for c in composites}}
    fps = {name: [work[name] / t for t in ts] for name, ts in times.items()}  # frames/s per round
    spreads = {name: Spread.of(v) for name, v in fps.items()}
    ratios = {"saliency / ceiling": ("saliency", "ceiling", 100.0), "plain / ceiling": ("plain", "ceiling", 100.0),
              "saliency / kernel ceiling": ("saliency", "kernel ceiling", 100.0), "saliency / original": ("saliency", "original", 1.0)}
    for name, (num, den, scale) in ratios.items():
        if num in fps and den in fps:
            spreads[name] = Spread.of([scale * a / b for a, b in zip(fps[num], fps[den])])
    timing_spreads = {name: spreads[name] for name in fps}
    result = BenchResult(
        device=str(agent.device),
        machine=f"{platform.machine()}, {os.cpu_count()} cores" + (f", {torch.cuda.get_device_name(0)}" if agent.device.type == "cuda" else ""),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        passes_per_frame=passes_per_frame(),
        ceiling_samples_per_s=spreads["ceiling"].median * passes_per_frame(),
        ceiling_batch=bs,
        ceiling_layout=layout,
        saliency_fps=spreads["saliency"].median,
        kernel_ceiling_samples_per_s=spreads["kernel ceiling"].median * passes_per_frame() if "kernel ceiling" in spreads else None,
        plain_saliency_fps=spreads["plain"].median,
        original_fps=spreads["original"].median,
        lrp_fps={c: spreads[f"lrp {c}"].median for c in composites if f"lrp {c}" in spreads},
        spreads=spreads,
    )
    if agent_path and video_frames:
        explain = "saliency,lrp" if lrp else "saliency"  # each video in a fresh process
        video = Spread.of([_video_subprocess(agent_path, video_frames, explain, str(agent.device), game)[0] for _ in range(video_runs)])
        result.video_fps = video.median
        result.spreads["video"] = timing_spreads["video"] = video
    if agent_path and memory_frames:
        result.video_peak_rss_mb = video_memory(agent_path, memory_frames, explain="saliency,lrp" if lrp else "saliency",
                                                device=str(agent.device), game=game)
    result.load_average = (load_before, load_average())
    result.warning = busy_warning(timing_spreads, max((v for v in result.load_average if v is not None), default=None))
    return result


def to_json(result: BenchResult) -> str:
    return json.dumps({**asdict(result), "ceiling_fps": result.ceiling_fps, "kernel_ceiling_fps": result.kernel_ceiling_fps,
                       "spreads": {name: {**asdict(s), "relative_range": s.relative_range} for name, s in result.spreads.items()}},
                      indent=2)
