"""PPO for Atari, in the order the algorithm runs (after CleanRL's ppo_atari).

The well-known Atari settings: 8 envs x 128 steps, 4 epochs of 4 minibatches (256),
lr 2.5e-4 annealed linearly to 0, clip 0.1, entropy 0.01, value 0.5, gamma 0.99, GAE 0.95,
Nature-CNN actor-critic. Envs are stepped by ale-py's ``AtariVectorEnv`` (C++ threads), whose
observations match rlviz's gymnasium pipeline, so the trained agent replays through
:func:`rlviz.make_env` with the same :class:`~rlviz.play.envs.EnvSpec`.

Training checkpoints (weights, optimizer, counters) go to ``<out>/checkpoint`` every few
minutes; running the same command again resumes from there. Episode returns are appended
to ``<out>/episodes.csv``; the agent itself is exported to ``<out>`` as a native folder.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from rlviz.agents.agent import Agent
from rlviz.agents.networks import NatureActorCritic
from rlviz.play.envs import EnvSpec, _snake, action_names, canonical_game, make_env
from rlviz.play.hints import write_hints
from rlviz.util.errors import RlvizError
from rlviz.util.safe_io import write_text_atomic
from rlviz.util.signals import shield_interrupts

LOG_HEADER = ["global_step", "wall_time_s", "episode_return", "episode_length"]


@dataclass
class PPOConfig:
    """Hyperparameters; defaults are the standard Atari PPO settings."""

    game: str = "Pong"
    total_steps: int = 10_000_000  # agent steps (each is 4 emulator frames)
    seed: int = 1
    num_envs: int = 8
    num_steps: int = 128
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.1
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    device: str = "cpu"
    threads: int = 0  # torch threads; 0 = leave PyTorch's default
    checkpoint_every_s: float = 300.0
    report_every_s: float = 30.0  # a line with losses and returns at least this often (and at the end)
    snapshots: list[int] = field(default_factory=list)  # extra agent copies at these steps
    init_from: str | None = None  # an agent folder to continue from when there is no checkpoint
    hints: str | None = None  # hint pixels (rlviz.play.hints): an expert agent's path, or "random"
    # A lost life ends the return estimate (the game goes on), as the standard Atari setup's
    # EpisodicLifeEnv does; it speeds up learning in games with lives (Breakout, SpaceInvaders).
    life_loss_terminal: bool = True

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_steps // self.batch_size)


def env_spec_for(game: str) -> EnvSpec:
    """The playback spec that matches the vector env used in training."""
    return EnvSpec(game=canonical_game(game), pipeline="gymnasium", noop_max=30, sticky_action_prob=0.0)


def make_vector_env(cfg: PPOConfig, spec: EnvSpec):
    from ale_py.vector_env import AtariVectorEnv

    env = AtariVectorEnv(
        _snake(spec.game),
        cfg.num_envs,
        num_threads=min(cfg.num_envs, os.cpu_count() or 1),
        repeat_action_probability=spec.sticky_action_prob,
        noop_max=spec.noop_max,
        frameskip=spec.frame_skip,
        stack_num=spec.frame_stack,
        img_height=spec.screen_size,
        img_width=spec.screen_size,
        grayscale=True,
        maxpool=True,
        reward_clipping=False,  # clipped below, so episode returns stay the game's score
        episodic_life=False,
        use_fire_reset=False,
        autoreset_mode="SameStep",
    )
    return env


def _hardware(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPU cores"


def life_lost(lives_before: np.ndarray, lives_after: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Where the return estimate ends: the game ended, or a life was lost (the game goes on)."""
    return np.logical_or(done, lives_after < lives_before)


def progress_line(step: int, total: int, recent: list[float], episodes: int, policy_loss: float,
                  value_loss: float, entropy: float) -> str:
    """One line of training feedback: where the run is, how it plays, how the last update went."""
    plays = (f"return {np.mean(recent):+.1f} (mean of the last {len(recent)} of {episodes} games)" if recent
             else "no game finished yet")
    return (f"step {step:,}/{total:,}: {plays}; policy loss {policy_loss:+.4f}, value loss {value_loss:.4f}, "
            f"entropy {entropy:.3f}")


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    next_value: torch.Tensor,
    next_done: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimates [T, N]; ``dones[t]`` marks that obs t starts a new episode."""
    t_max = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    lastgaelam = torch.zeros_like(next_value)
    for t in reversed(range(t_max)):
        if t == t_max - 1:
            nonterminal, nextvalues = 1.0 - next_done, next_value
        else:
            nonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nonterminal - values[t]
        lastgaelam = delta + gamma * lam * nonterminal * lastgaelam
        advantages[t] = lastgaelam
    return advantages


def ppo_loss_terms(
    cfg: PPOConfig,
    logits: torch.Tensor,
    newvalue: torch.Tensor,
    actions: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(clipped surrogate, value loss, mean entropy) of one minibatch; :func:`ppo_loss` combines them.

    Minimising the surrogate raises the probability of actions with positive (normalised)
    advantage, within a ratio of 1 +- clip_coef to the policy that collected them; the value
    loss is clipped like the policy when ``clip_vloss``.
    """
    dist = torch.distributions.Categorical(logits=logits)
    ratio = (dist.log_prob(actions) - old_logprobs).exp()
    adv = advantages
    if cfg.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
    if cfg.clip_vloss:  # value clipping, as in the original PPO Atari code
        v_clipped = old_values + (newvalue - old_values).clamp(-cfg.clip_coef, cfg.clip_coef)
        v_loss = 0.5 * torch.max((newvalue - returns) ** 2, (v_clipped - returns) ** 2).mean()
    else:
        v_loss = 0.5 * ((newvalue - returns) ** 2).mean()
    return pg_loss, v_loss, dist.entropy().mean()


def combine_losses(cfg: PPOConfig, pg_loss: torch.Tensor, v_loss: torch.Tensor, entropy: torch.Tensor) -> torch.Tensor:
    """clipped surrogate - ent_coef * entropy + vf_coef * value loss: the entropy bonus keeps the
    policy from collapsing early."""
    return pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss


def ppo_loss(cfg: PPOConfig, *args: torch.Tensor) -> torch.Tensor:
    """The PPO loss of one minibatch (arguments as :func:`ppo_loss_terms`)."""
    return combine_losses(cfg, *ppo_loss_terms(cfg, *args))


class Trainer:
    """Runs PPO; ``run()`` resumes from ``<out>/checkpoint`` when it exists."""

    def __init__(self, cfg: PPOConfig, out: str | Path) -> None:
        self.cfg = cfg
        self.out = Path(out)
        self.ckpt_dir = self.out / "checkpoint"
        self.spec = env_spec_for(cfg.game)
        probe = make_env(self.spec, render_mode=None)
        self.action_names = action_names(probe)
        probe.close()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.device = torch.device(cfg.device)
        self.net = NatureActorCritic(len(self.action_names)).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.learning_rate, eps=1e-5)
        self.iteration = 0
        self.wall_time = 0.0
        self.episodes = 0
        self.hint_expert = self._load_hint_expert(cfg.hints)
        self.hint_rng = np.random.default_rng([cfg.seed, 7])

    # ---- hint pixels (the overfit-agent experiment) ------------------------------------
    def _load_hint_expert(self, hints: str | None) -> Agent | None:
        if hints is None or hints == "random":
            return None
        from rlviz.agents.loading import load_agent

        expert = load_agent(hints, game=self.spec.game)
        if expert.env_spec.game != self.spec.game or expert.env_spec.pipeline != self.spec.pipeline \
                or expert.n_actions != len(self.action_names):
            raise RlvizError(f"the hint expert {hints} does not play {self.spec.game} with rlviz's own pipeline; "
                             "use an agent trained by rlviz train on this game")
        return expert

    def _with_hints(self, obs_np: np.ndarray) -> np.ndarray:
        """The vector env's observations with the hint strip written in (unchanged without hints)."""
        if self.cfg.hints is None:
            return obs_np
        n = len(self.action_names)
        if self.hint_expert is not None:
            hinted = self.hint_expert.act(obs_np)  # the expert sees the clean frames
        else:
            hinted = self.hint_rng.integers(n, size=len(obs_np))
        return write_hints(obs_np, hinted, n)

    # ---- checkpoints -------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        tmp = self.out / "checkpoint.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}, str(tmp / "model.safetensors"))
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        state = {
            "iteration": self.iteration,
            "global_step": self.global_step,
            "wall_time_s": self.wall_time,
            "episodes": self.episodes,
            "config": dataclasses.asdict(self.cfg),
        }
        write_text_atomic(tmp / "state.json", json.dumps(state, indent=2))  # last: its presence marks a complete copy
        old = self.out / "checkpoint.old"
        shutil.rmtree(old, ignore_errors=True)
        if self.ckpt_dir.exists():
            self.ckpt_dir.rename(old)
        tmp.rename(self.ckpt_dir)
        shutil.rmtree(old, ignore_errors=True)

    def init_from_agent(self, folder: str | Path) -> None:
        """Continue from an exported agent (weights and step count; the optimizer starts fresh),
        for when the run's checkpoint folder is gone but the agent was kept."""
        from rlviz.agents.formats.native import load_native

        agent = load_native(folder)
        if agent.env_spec.game != self.spec.game or not isinstance(agent.net, NatureActorCritic):
            raise RlvizError(f"{folder} is not a {self.spec.game} Nature-CNN actor-critic; it cannot seed this run")
        self.net.load_state_dict(agent.net.state_dict())
        prov = agent.metadata.get("provenance", {})
        self.iteration = int(prov.get("steps", 0)) // self.cfg.batch_size
        self.wall_time = float(prov.get("wall_time_s", 0.0))

    def _recover_checkpoint(self) -> None:
        """After a crash inside :meth:`save_checkpoint` the newest complete copy may sit in
        ``checkpoint.tmp`` (complete once its state.json exists) or ``checkpoint.old``."""
        if (self.ckpt_dir / "state.json").exists():
            return
        for name in ("checkpoint.tmp", "checkpoint.old"):
            candidate = self.out / name
            if (candidate / "state.json").exists():
                shutil.rmtree(self.ckpt_dir, ignore_errors=True)
                candidate.rename(self.ckpt_dir)
                return

    def load_checkpoint(self) -> bool:
        self._recover_checkpoint()
        if not (self.ckpt_dir / "state.json").exists():
            if self.cfg.init_from:
                self.init_from_agent(self.cfg.init_from)
                return True
            return False
        state = json.loads((self.ckpt_dir / "state.json").read_text())
        if state["config"]["game"] != self.cfg.game:
            raise RlvizError(f"{self.ckpt_dir} is a {state['config']['game']} run; use another --out")
        if state["config"].get("hints") != self.cfg.hints:
            raise RlvizError(f"{self.ckpt_dir} was trained with hints={state['config'].get('hints')}; "
                             "resume with the same --hints or use another --out")
        # the step count and LR schedule depend on the batch shape; the returns on life_loss_terminal
        # (runs from before that setting have no entry: on Pong, which has no lives, it makes no difference)
        for key in ("num_envs", "num_steps", "life_loss_terminal"):
            if state["config"].get(key, getattr(self.cfg, key)) != getattr(self.cfg, key):
                raise RlvizError(
                    f"{self.ckpt_dir} was trained with {key}={state['config'][key]}; resume with the same value "
                    "or use another --out"
                )
        self.net.load_state_dict(load_file(str(self.ckpt_dir / "model.safetensors"), device=str(self.device)))
        # Our own file, still loaded without unpickling arbitrary objects.
        self.optimizer.load_state_dict(torch.load(self.ckpt_dir / "optimizer.pt", weights_only=True, map_location=self.device))
        self.iteration = int(state["iteration"])
        self.wall_time = float(state["wall_time_s"])
        self.episodes = self._trim_log(self.global_step)
        return True

    def _trim_log(self, global_step: int) -> int:
        """Drop logged episodes that ended after the checkpoint (their iteration runs again),
        and whatever a crash left half-written (an empty file, a missing header, a cut line);
        returns how many episodes remain. The log is rewritten through a temporary file."""
        path = self.out / "episodes.csv"
        if not path.exists():
            return 0
        with open(path, newline="", errors="replace") as f:
            rows = list(csv.reader(f))
        kept = [r for r in rows if _log_row(r) is not None and _log_row(r) <= global_step]
        buffer = io.StringIO()
        csv.writer(buffer).writerows([LOG_HEADER, *kept])
        write_text_atomic(path, buffer.getvalue())
        return len(kept)

    @property
    def global_step(self) -> int:
        return self.iteration * self.cfg.batch_size

    def export_agent(self, folder: Path, evaluation: dict | None = None) -> Agent:
        net = NatureActorCritic(len(self.action_names))  # a CPU copy: the live net keeps training
        net.load_state_dict({k: v.detach().cpu() for k, v in self.net.state_dict().items()})
        agent = Agent(
            net,
            env_spec=self.spec,
            action_names=self.action_names,
            kind="actor-critic",
            architecture={"name": "nature-actor-critic", "n_actions": len(self.action_names), "in_channels": 4},
            metadata={
                "name": folder.name,
                "provenance": {
                    "algorithm": "PPO (rlviz.train.ppo)",
                    "steps": self.global_step,
                    "frames": self.global_step * self.spec.frame_skip,
                    "wall_time_s": round(self.wall_time, 1),
                    "hardware": _hardware(self.cfg.device),
                    "torch": torch.__version__,
                    "config": self._public_config(),
                },
                **({"evaluation": evaluation} if evaluation else {}),
                **({"hints": self._hint_metadata()} if self.cfg.hints else {}),
            },
        )
        agent.hint_expert = self.hint_expert
        agent.save(folder)
        return agent

    def _public_config(self) -> dict:
        """The config for an exported agent: the expert is named, not its path on this machine
        (it travels in the agent's expert/ folder)."""
        config = dataclasses.asdict(self.cfg)
        if self.hint_expert is not None:
            config["hints"] = f"expert/ ({self.hint_expert.name})"
        return config

    def _hint_metadata(self) -> dict:
        if self.hint_expert is not None:
            return {"source": "expert"}
        return {"source": "random", "seed": self.cfg.seed}

    # ---- the algorithm -----------------------------------------------------------------
    def run(self) -> Path:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        resumed = self.load_checkpoint()
        if not resumed:  # a run killed before its first checkpoint left episodes that will be played again
            self.episodes = self._trim_log(self.global_step)
        if self.iteration >= cfg.num_iterations:
            print(f"{self.out}: already trained for {self.global_step} steps (--steps {cfg.total_steps} asks for no more); "
                  f"to continue, run again with a larger --steps (e.g. --steps {2 * cfg.total_steps})")
            self.export_agent(self.out)
            return self.out
        envs = make_vector_env(cfg, self.spec)
        obs_np, info = envs.reset(seed=cfg.seed + self.iteration)
        obs_np = self._with_hints(obs_np)
        lives = np.asarray(info["lives"])
        n, t = cfg.num_envs, cfg.num_steps
        obs = torch.zeros((t, n, 4, 84, 84), dtype=torch.uint8, device=self.device)
        actions = torch.zeros((t, n), dtype=torch.long, device=self.device)
        logprobs = torch.zeros((t, n), device=self.device)
        rewards = torch.zeros((t, n), device=self.device)
        dones = torch.zeros((t, n), device=self.device)
        values = torch.zeros((t, n), device=self.device)
        next_obs = torch.as_tensor(obs_np, device=self.device)
        next_done = torch.zeros(n, device=self.device)
        ep_return = np.zeros(n)
        ep_length = np.zeros(n, dtype=np.int64)
        recent: list[float] = []
        csv_path = self.out / "episodes.csv"
        if not csv_path.exists() or csv_path.stat().st_size == 0:  # the header is on disk before any row
            write_text_atomic(csv_path, ",".join(LOG_HEADER) + "\r\n")
        log = open(csv_path, "a", newline="")  # noqa: SIM115 - closed in the finally below
        writer = csv.writer(log)
        pending_snapshots = sorted(s for s in cfg.snapshots if s > self.global_step)
        bar = tqdm(total=cfg.num_iterations * cfg.batch_size, initial=self.global_step, unit="step",
                   desc=f"PPO {self.spec.game}" + (" (resumed)" if resumed else ""), smoothing=0.05)
        last_ckpt = time.time()
        last_report = 0.0  # the first iteration always reports
        start = time.time() - self.wall_time
        try:
            while self.iteration < cfg.num_iterations:
                if cfg.anneal_lr:  # linear decay to zero over the whole run
                    frac = 1.0 - self.iteration / cfg.num_iterations
                    self.optimizer.param_groups[0]["lr"] = frac * cfg.learning_rate
                # 1. Roll out num_steps in every env with the current policy.
                for step in range(t):
                    obs[step] = next_obs
                    dones[step] = next_done
                    with torch.no_grad():
                        logits, value = self.net(next_obs.float() / 255.0)
                        dist = torch.distributions.Categorical(logits=logits)
                        action = dist.sample()
                    actions[step], logprobs[step], values[step] = action, dist.log_prob(action), value
                    obs_np, reward, term, trunc, info = envs.step(action.cpu().numpy())
                    obs_np = self._with_hints(obs_np)
                    done = np.logical_or(term, trunc)
                    new_lives = np.asarray(info["lives"])
                    cut = life_lost(lives, new_lives, done) if cfg.life_loss_terminal else done
                    lives = new_lives
                    rewards[step] = torch.as_tensor(np.sign(reward), dtype=torch.float32, device=self.device)  # clip rewards
                    next_obs = torch.as_tensor(obs_np, device=self.device)
                    next_done = torch.as_tensor(cut, dtype=torch.float32, device=self.device)
                    ep_return += reward
                    ep_length += 1
                    for i in np.nonzero(done)[0]:
                        self.episodes += 1
                        recent = (recent + [float(ep_return[i])])[-20:]
                        writer.writerow([self.global_step + (step + 1) * n, round(time.time() - start, 1), float(ep_return[i]), int(ep_length[i])])
                        log.flush()  # whole lines reach the file; a crash cuts at most the last one
                        ep_return[i], ep_length[i] = 0.0, 0
                # 2. Generalised advantage estimation, bootstrapped from the last value.
                with torch.no_grad():
                    _, next_value = self.net(next_obs.float() / 255.0)
                advantages = gae(rewards, values, dones, next_value, next_done, cfg.gamma, cfg.gae_lambda)
                returns = advantages + values
                # 3. Several epochs of clipped-surrogate updates on shuffled minibatches.
                b_obs = obs.reshape(-1, 4, 84, 84)
                b_actions, b_logprobs = actions.reshape(-1), logprobs.reshape(-1)
                b_adv, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
                for _ in range(cfg.update_epochs):
                    order = torch.randperm(cfg.batch_size, device=self.device)
                    for lo in range(0, cfg.batch_size, cfg.minibatch_size):
                        mb = order[lo : lo + cfg.minibatch_size]
                        logits, newvalue = self.net(b_obs[mb].float() / 255.0)
                        pg_loss, v_loss, entropy = ppo_loss_terms(cfg, logits, newvalue, b_actions[mb], b_logprobs[mb],
                                                                  b_adv[mb], b_returns[mb], b_values[mb])
                        loss = combine_losses(cfg, pg_loss, v_loss, entropy)
                        self.optimizer.zero_grad()
                        loss.backward()
                        nn.utils.clip_grad_norm_(self.net.parameters(), cfg.max_grad_norm)
                        self.optimizer.step()
                self.iteration += 1
                self.wall_time = time.time() - start
                bar.update(cfg.batch_size)
                if recent:
                    bar.set_postfix(ret=f"{np.mean(recent):.1f}", eps=self.episodes)
                if time.time() - last_report >= cfg.report_every_s or self.iteration == cfg.num_iterations:
                    bar.write(progress_line(self.global_step, cfg.total_steps, recent, self.episodes,
                                            pg_loss.item(), v_loss.item(), entropy.item()))
                    last_report = time.time()
                while pending_snapshots and self.global_step >= pending_snapshots[0]:
                    self.export_agent(self.out / "snapshots" / f"step-{pending_snapshots.pop(0)}")
                if time.time() - last_ckpt >= cfg.checkpoint_every_s:
                    log.flush()
                    with shield_interrupts("saving a checkpoint; wait a moment (Ctrl-C is held off until it is written)"):
                        self.save_checkpoint()
                        self.export_agent(self.out)
                    last_ckpt = time.time()
        finally:
            bar.close()
            log.close()
            envs.close()
            # a second Ctrl-C (a terminal sends it to the whole process group) must not cut this short
            with shield_interrupts(f"saving a checkpoint at step {self.global_step:,}; wait a moment (a second Ctrl-C is ignored)"):
                self.save_checkpoint()
                self.export_agent(self.out)
        return self.out


def _log_row(row: list[str]) -> int | None:
    """The step of a complete episode-log row, or None for a header, blank or cut line."""
    if len(row) != len(LOG_HEADER):
        return None
    try:
        step = int(row[0])
        float(row[1]), float(row[2]), int(row[3])
    except ValueError:
        return None
    return step


def train(cfg: PPOConfig, out: str | Path) -> Path:
    """Train (or resume) a PPO agent and export it to ``out`` as a native agent folder."""
    return Trainer(cfg, out).run()
