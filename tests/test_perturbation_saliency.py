"""Perturbation saliency follows DESIGN.md §4 exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from rlviz.agents.agent import Agent
from rlviz.explain.perturbation import (
    gaussian_blur,
    gaussian_mask,
    grid_centres,
    grid_to_map,
    interpolation_matrix,
    passes_per_frame,
    perturb,
    perturbation_saliency,
)


@pytest.fixture(autouse=True)
def cold_caches():
    """Masks and interpolation matrices are cached per process; every test builds its own, so
    that no test passes on what an earlier one cached (mutation testing forks workers from a
    process whose caches the clean run has filled)."""
    from rlviz.explain import perturbation

    for cached in (perturbation._masks, perturbation._mask_profiles, perturbation._cached_interpolation):
        cached.cache_clear()


class BoxReader(nn.Module):
    """A policy whose logits and value depend only on the pixels of one screen box."""

    def __init__(self, rows: slice, cols: slice, frames: slice = slice(None)) -> None:
        super().__init__()
        self.rows, self.cols, self.frames = rows, cols, frames
        self.w = nn.Parameter(torch.linspace(-1, 1, 3 * 4 * 10 * 10).reshape(3, 4, 10, 10))

    def forward(self, x):
        box = x[:, self.frames, self.rows, self.cols]
        patch = nn.functional.interpolate(box, size=(10, 10), mode="bilinear", align_corners=False)
        w = self.w[:, : patch.shape[1]]
        logits = torch.einsum("nchw,achw->na", patch**2, w)
        return logits, (patch**2).mean(dim=(1, 2, 3)) * 10


class Ignorer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([0.5, -0.5, 1.0]))

    def forward(self, x):
        n = x.shape[0]
        return self.bias.expand(n, 3), torch.zeros(n)


class PixelReader(nn.Module):
    """Value = the newest frame's pixel (row, col); logits constant: a probe of the mask there."""

    def __init__(self, row: int, col: int) -> None:
        super().__init__()
        self.row, self.col = row, col

    def forward(self, x):
        n = x.shape[0]
        return torch.zeros(n, 3), x[:, -1, self.row, self.col]


def test_mask_profile_in_production_saliency_matches_design(random_obs):
    """The mask the product uses, read back through perturbation_saliency: for a value that
    is one pixel p, S_V(centre c) = 1/2 (M_c(p) * (A(I) - I)(p))^2, so M_c(p) is recovered
    from the critic score of the centre (40, 40) with p at 0/2/4/6/10 px along the row."""
    x = random_obs[0].astype(np.float64) / 255.0
    blurred = cv2.GaussianBlur(x[3], (25, 25), 3.0, borderType=cv2.BORDER_REFLECT_101)  # independent blur
    profile = []
    for d in (0, 2, 4, 6, 10):
        agent = Agent(PixelReader(40, 40 + d), action_names=["a", "b", "c"])
        grid = perturbation_saliency(agent, random_obs[0]).critic_grid
        profile.append(np.sqrt(2.0 * grid[8, 8]) / abs(blurred[40, 40 + d] - x[3, 40, 40 + d]))
    assert profile == pytest.approx([1.00, 0.92, 0.73, 0.49, 0.14], abs=0.01)
    assert profile == pytest.approx([np.exp(-(d**2) / 50.0) for d in (0, 2, 4, 6, 10)], rel=1e-4)


def test_mask_profile_of_the_masks_both_saliency_paths_build():
    """The plain path's masks and the incremental path's separable profiles are the same
    Gaussian, sigma 5, maximum 1 at the centre; gaussian_mask (the oracle of naive_saliency
    below and of the benchmark) is that mask too."""
    from rlviz.explain.perturbation import _mask_profiles, _masks

    masks = _masks(84, 5, 5.0, "cpu")[:, 0].double().numpy()  # [289, 84, 84]
    centre = 8 * 17 + 8  # the grid point (40, 40)
    want = [1.00, 0.92, 0.73, 0.49, 0.14]
    assert [masks[centre, 40, 40 + d] for d in (0, 2, 4, 6, 10)] == pytest.approx(want, abs=0.01)
    assert masks.max() == pytest.approx(1.0) and masks[centre].max() == masks[centre, 40, 40]
    np.testing.assert_allclose(masks[centre], gaussian_mask((40, 40)), atol=1e-7)
    profiles = _mask_profiles(84, 5, 5.0, 8, 4, "cpu").double().numpy()  # [17, 20, 8]: g_a(4i + d)
    assert profiles[8, 10, 0] == pytest.approx(1.0) and profiles[8, 10, 2] == pytest.approx(0.92, abs=0.01)
    assert profiles[8, 11, 2] == pytest.approx(0.49, abs=0.01)  # pixel 46: 6 px from centre 40


def test_grid_is_stride_5_and_costs_290_passes():
    assert list(grid_centres()) == list(range(0, 84, 5))
    assert passes_per_frame() == 290


def test_zero_mask_gives_frame_and_unit_mask_gives_blur():
    x = torch.rand(2, 4, 84, 84)
    blurred = gaussian_blur(x)
    assert torch.equal(perturb(x, blurred, torch.zeros(84, 84)), x)
    assert torch.allclose(perturb(x, blurred, torch.ones(84, 84)), blurred)


def test_blur_is_spatial_per_frame_and_matches_opencv():
    x = torch.zeros(1, 4, 84, 84, dtype=torch.float64)
    x[0, 2, 40, 40] = 1.0
    ours = gaussian_blur(x.float())[0].double().numpy()
    assert ours[[0, 1, 3]].max() == 0.0  # never across the stack
    ref = cv2.GaussianBlur(x[0, 2].numpy(), (25, 25), 3.0, borderType=cv2.BORDER_REFLECT_101)
    assert np.abs(ours[2] - ref).max() < 1e-6


def test_constant_frame_has_zero_saliency(pong_agent):
    obs = np.full((4, 84, 84), 87, np.uint8)
    sal = perturbation_saliency(pong_agent, obs)
    assert np.abs(sal.actor).max() < 1e-10 and np.abs(sal.critic).max() < 1e-10


def test_net_that_ignores_input_gives_zeros_not_nan(random_obs):
    agent = Agent(Ignorer(), action_names=["a", "b", "c"])
    sal = perturbation_saliency(agent, random_obs)
    assert np.isfinite(sal.actor).all() and np.isfinite(sal.critic).all()
    assert sal.actor.max() == 0.0 and sal.critic.max() == 0.0


def test_single_observation_gives_2d_maps_and_batch_gives_3d(pong_agent, random_obs):
    assert perturbation_saliency(pong_agent, random_obs[0]).actor.shape == (84, 84)
    batch = perturbation_saliency(pong_agent, random_obs)
    assert batch.actor.shape == (3, 84, 84) and batch.critic.dtype == np.float32


def naive_saliency(agent: Agent, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The original algorithm, one pass per mask, with OpenCV's blur as an independent oracle."""
    x = obs.astype(np.float64) / 255.0
    blurred = np.stack([cv2.GaussianBlur(f, (25, 25), 3.0, borderType=cv2.BORDER_REFLECT_101) for f in x])
    clean_logits, clean_value = agent(obs)
    centres = grid_centres()
    actor = np.zeros((len(centres), len(centres)))
    critic = np.zeros_like(actor)
    for a, i in enumerate(centres):
        for b, j in enumerate(centres):
            m = gaussian_mask((i, j))
            perturbed = x * (1 - m) + blurred * m
            with torch.no_grad():
                logits, value = agent.forward(torch.tensor(perturbed[None], dtype=torch.float32))
            actor[a, b] = 0.5 * float(((logits - clean_logits) ** 2).sum())
            critic[a, b] = 0.5 * float((value - clean_value) ** 2)
    return actor, critic


def test_batched_equals_plain_per_mask_loop(pong_agent, random_obs):
    fast = perturbation_saliency(pong_agent, random_obs[:2], batch_size=200)
    for k in range(2):
        actor, critic = naive_saliency(pong_agent, random_obs[k])
        scale_a, scale_c = max(actor.max(), 1e-30), max(critic.max(), 1e-30)
        assert np.abs(fast.actor_grid[k] - actor).max() / scale_a < 1e-4
        assert np.abs(fast.critic_grid[k] - critic).max() / scale_c < 1e-4


def test_batched_equals_plain_loop_within_1e5_on_linear_policy(random_obs):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4 * 84 * 84, 4))

    class AC(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            out = self.net(x)
            return out[:, :3], out[:, 3]

    agent = Agent(AC(), action_names=["a", "b", "c"])
    fast = perturbation_saliency(agent, random_obs[0])
    actor, critic = naive_saliency(agent, random_obs[0])
    assert np.abs(fast.actor_grid - actor).max() < 1e-5
    assert np.abs(fast.critic_grid - critic).max() < 1e-5


def test_score_uses_logits_not_probabilities(random_obs):
    """Adding an input-dependent constant to every logit leaves the softmax unchanged but
    changes a logit-based score; adding it to one logit changes it too."""
    base = BoxReader(slice(20, 40), slice(20, 40))

    class Shifted(nn.Module):
        def __init__(self, all_logits: bool):
            super().__init__()
            self.base, self.all = base, all_logits

        def forward(self, x):
            logits, value = self.base(x)
            shift = 5.0 * x[:, :, 20:40, 20:40].mean(dim=(1, 2, 3))
            if self.all:
                return logits + shift[:, None], value
            return torch.cat([logits[:, :1] + shift[:, None], logits[:, 1:]], 1), value

    plain = perturbation_saliency(Agent(base, action_names=["a", "b", "c"]), random_obs[0])
    for all_logits in (True, False):
        shifted = perturbation_saliency(Agent(Shifted(all_logits), action_names=["a", "b", "c"]), random_obs[0])
        assert not np.allclose(plain.actor_grid, shifted.actor_grid, rtol=1e-3)
        np.testing.assert_allclose(plain.critic_grid, shifted.critic_grid, rtol=1e-5)


@pytest.mark.parametrize("rows,cols", [(slice(10, 22), slice(55, 67)), (slice(60, 72), slice(8, 20))])
def test_policy_reading_one_box_gets_its_saliency_peak_in_the_box(random_obs, rows, cols):
    agent = Agent(BoxReader(rows, cols), action_names=["a", "b", "c"])
    sal = perturbation_saliency(agent, random_obs[0])
    for name in ("actor", "critic"):
        i, j = np.unravel_index(np.argmax(getattr(sal, name)), (84, 84))
        assert rows.start - 2 <= i < rows.stop + 2 and cols.start - 2 <= j < cols.stop + 2, (name, i, j)


def test_newest_frame_option_perturbs_only_the_newest_frame(random_obs):
    old_only = Agent(BoxReader(slice(30, 50), slice(30, 50), frames=slice(0, 3)), action_names=["a", "b", "c"])
    newest = perturbation_saliency(old_only, random_obs[0], frames="newest").actor.max()
    every = perturbation_saliency(old_only, random_obs[0], frames="all").actor.max()
    assert every > 0.0 and newest < 1e-9 * every  # only float round-off between batch sizes


def test_score_of_centre_lands_on_its_pixel():
    centres = grid_centres()
    for a, b in [(0, 0), (3, 7), (16, 16), (8, 1)]:
        grid = np.zeros((17, 17))
        grid[a, b] = 1.0
        m = grid_to_map(grid, 84, centres)
        assert m[centres[a], centres[b]] == pytest.approx(1.0)
        assert np.unravel_index(np.argmax(m), m.shape) == (centres[a], centres[b])


def test_grid_to_map_equals_explicit_interpolation_sum():
    """U grid U^T written out as the double sum over grid points, for a batch of random grids."""
    centres = grid_centres()
    u = interpolation_matrix(84, centres)
    grids = np.random.default_rng(0).random((3, 17, 17))
    expected = np.zeros((3, 84, 84))
    for i in range(17):
        for j in range(17):
            expected += grids[:, i, j, None, None] * np.outer(u[:, i], u[:, j])
    np.testing.assert_allclose(grid_to_map(grids, 84, centres), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grid_to_map(grids[1], 84, centres), expected[1], rtol=1e-6, atol=1e-7)


def test_map_edges_do_not_fade():
    m = grid_to_map(np.ones((17, 17)), 84, grid_centres())
    np.testing.assert_allclose(m, 1.0, atol=1e-6)


def test_grid_to_map_reproduces_a_linear_ramp_between_centres():
    """Linear interpolation is exact on linear data: scores equal to each centre's row give the
    pixel's row up to the last centre, then hold it (closed form; kills a wrong denominator in
    the interpolation weight, which centres-only and constant checks cannot see)."""
    centres = grid_centres()
    rows = np.repeat(centres[:, None].astype(np.float64), 17, axis=1)
    m = grid_to_map(rows, 84, centres)
    want = np.minimum(np.arange(84), centres[-1]).astype(np.float64)
    np.testing.assert_allclose(m, np.repeat(want[:, None], 84, axis=1), atol=1e-4)
    np.testing.assert_allclose(grid_to_map(rows.T, 84, centres), np.repeat(want[None, :], 84, axis=0), atol=1e-4)


@pytest.mark.parametrize("which", ["all", "newest"])
def test_incremental_path_equals_plain_path_within_1e4(pong_agent, which):
    from rlviz.play.envs import make_env

    env = make_env("Pong", render_mode=None)
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(2)
    frames = []
    for t in range(40):
        obs, *_ = env.step(int(rng.integers(6)))
        if t % 10 == 9:
            frames.append(np.asarray(obs))
    env.close()
    frames = np.stack(frames)
    plain = perturbation_saliency(pong_agent, frames, method="plain", frames=which)
    fast = perturbation_saliency(pong_agent, frames, method="incremental", batch_size=300, frames=which)
    for name in ("actor", "critic"):
        a, b = getattr(plain, name), getattr(fast, name)
        assert (np.abs(a - b).max(axis=(1, 2)) / a.max(axis=(1, 2))).max() < 1e-4


def test_incremental_path_is_refused_for_unknown_nets(random_obs):
    from rlviz.util.errors import RlvizError

    agent = Agent(BoxReader(slice(0, 10), slice(0, 10)), action_names=["a", "b", "c"])
    with pytest.raises(RlvizError, match="plain"):
        perturbation_saliency(agent, random_obs[0], method="incremental")


def test_first_layer_changes_equal_the_convolution_of_every_masked_difference():
    from rlviz.explain.perturbation import _first_layer_changes, _mask_profiles, _masks

    torch.manual_seed(3)
    conv = torch.nn.Conv2d(4, 32, 8, stride=4)
    delta = torch.randn(2, 4, 84, 84)
    masks = _masks(84, 5, 5.0, "cpu")  # [289, 1, 84, 84], built independently of the profiles
    with torch.no_grad():
        fast = _first_layer_changes(conv, delta, _mask_profiles(84, 5, 5.0, 8, 4, "cpu"))  # [N, 17, 17, 20, 20, 32]
        direct = torch.nn.functional.conv2d((masks[None] * delta[:, None]).reshape(-1, 4, 84, 84), conv.weight, stride=4)
    torch.testing.assert_close(fast.permute(0, 1, 2, 5, 3, 4).reshape(direct.shape), direct, rtol=1e-4, atol=1e-4)


def test_a_batch_size_below_one_is_refused(pong_agent, random_obs):
    from rlviz.util.errors import RlvizError

    with pytest.raises(RlvizError, match="batch_size"):
        perturbation_saliency(pong_agent, random_obs[0], batch_size=0)


def test_bad_requests_get_the_whole_one_line_message(pong_agent, random_obs):
    from rlviz.util.errors import RlvizError

    def message(obs=None, **kwargs) -> str:
        with pytest.raises(RlvizError) as info:
            perturbation_saliency(pong_agent, random_obs[0] if obs is None else obs, **kwargs)
        return str(info.value)

    assert message(frames="oldest") == "frames must be 'all' or 'newest', got 'oldest'"
    assert message(method="fast") == "method must be 'auto', 'plain' or 'incremental', got 'fast'"
    assert message(batch_size=0) == "batch_size must be at least 1, got 0"
    assert message(np.zeros((4, 84, 80), np.uint8)) == (
        "this agent takes observations of shape (4, 84, 84) (or a batch of them), got (1, 4, 84, 80)")
    agent = Agent(BoxReader(slice(0, 10), slice(0, 10)), action_names=["a", "b", "c"])
    with pytest.raises(RlvizError) as info:
        perturbation_saliency(agent, random_obs[0], method="incremental")
    assert str(info.value) == "incremental saliency needs a Nature-CNN net from rlviz.agents.networks; use method='plain'"


def test_infinite_scores_become_zero_not_inf():
    class Exploding(nn.Module):
        def forward(self, x):  # finite on the clean frame, infinite once a pixel changes
            s = (x - x.detach().round()).abs().sum((1, 2, 3))
            out = torch.where(s > 0, torch.full_like(s, float("inf")), torch.zeros_like(s))
            return torch.stack([out, out, out], 1), out

    obs = np.full((4, 84, 84), 255, np.uint8)
    obs[:, 40:44, 40:44] = 0  # the blur changes pixels near this square only
    sal = perturbation_saliency(Agent(Exploding(), action_names=["a", "b", "c"]), obs, method="plain")
    assert np.isfinite(sal.actor_grid).all() and np.isfinite(sal.critic_grid).all()
    assert sal.actor.max() == 0.0 and sal.critic.max() == 0.0


@pytest.fixture
def one_thread():
    """Tiny nets run several times faster on one thread than on two busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_nature_agent(kind: str = "actor-critic", size: int = 44, seed: int = 0, **first_conv) -> Agent:
    """One of rlviz's Nature-CNN nets (the nets the incremental path knows) on small square
    frames: the same layers, with fc1 resized to what the trunk gives at ``size``; ``first_conv``
    replaces the first convolution's options (padding, dilation, groups, kernel, stride)."""
    from rlviz.agents.networks import NatureActorCritic, NatureQNetwork
    from rlviz.play.spec import EnvSpec

    torch.manual_seed(seed)
    net = NatureActorCritic(3) if kind == "actor-critic" else NatureQNetwork(3)
    if first_conv:
        options = {"kernel_size": 8, "stride": 4} | first_conv
        net.features[0] = nn.Conv2d(4, 32, **options)
    with torch.no_grad():
        flat = net.features[:7](torch.zeros(1, 4, size, size)).shape[1]
    net.features[7] = nn.Linear(flat, 512)
    return Agent(net, env_spec=EnvSpec(screen_size=size), action_names=["a", "b", "c"])


def small_frames(size: int = 44, n: int = 3) -> np.ndarray:
    """Frames with structure at several scales (a bright box, a gradient, noise), not a constant."""
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, size=(n, 4, size, size)).astype(np.float64) * 0.3
    frames += np.linspace(0, 120, size)[None, None, None, :]
    frames[:, :, 10:20, 25:35] += 60
    return frames.clip(0, 255).astype(np.uint8)


def relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(a).max())


@pytest.mark.parametrize("kind", ["actor-critic", "q"])
@pytest.mark.parametrize("which", ["all", "newest"])
@pytest.mark.parametrize("batch_size", [50, 250, 1000])
def test_incremental_path_equals_plain_path_on_a_small_nature_net(kind, which, batch_size, one_thread):
    """The plain path (every perturbed frame through the whole net) is the oracle of the
    incremental one, for both Nature nets, both frame options, and batch sizes below the 81
    masks of a frame (50: one frame per chunk, batches cutting a frame's masks), just above
    three frames' masks (250: the 5 frames in chunks of 3 and 2, a chunk of several frames that
    does not start at frame 0) and above all of them (1000: one chunk)."""
    agent = small_nature_agent(kind)
    frames = small_frames(n=5)
    plain = perturbation_saliency(agent, frames, method="plain", frames=which)
    fast = perturbation_saliency(agent, frames, method="incremental", frames=which, batch_size=batch_size)
    assert plain.actor_grid.shape == (5, 9, 9)
    for name in ("actor_grid", "critic_grid"):
        a, b = getattr(plain, name), getattr(fast, name)
        assert a.min() >= 0.0 and (a.max(axis=(1, 2)) > 0.0).all()
        assert relative_gap(a, b) < 1e-4, name


def test_auto_takes_the_incremental_path_for_nature_nets_and_agrees_with_plain(one_thread):
    """``method="auto"`` on a Nature net equals the incremental path bit for bit (the same
    arithmetic in the same order) and the plain path within float round-off."""
    agent = small_nature_agent()
    frames = small_frames()
    auto = perturbation_saliency(agent, frames)
    fast = perturbation_saliency(agent, frames, method="incremental")
    plain = perturbation_saliency(agent, frames, method="plain")
    np.testing.assert_array_equal(auto.actor_grid, fast.actor_grid)
    assert relative_gap(plain.actor_grid, auto.actor_grid) < 1e-4


@pytest.mark.parametrize("first_conv", [
    {"padding": 1}, {"padding": (0, 1)}, {"dilation": 2}, {"dilation": (1, 2)}, {"groups": 2},
    {"kernel_size": (8, 6)}, {"stride": (4, 3)},
], ids=["padding", "padding-cols", "dilation", "dilation-cols", "groups", "kernel-8x6", "stride-4x3"])
def test_a_first_conv_the_masks_cannot_be_folded_into_takes_the_plain_path(first_conv, one_thread):
    """The incremental path builds conv1's output from unpadded, undilated, ungrouped square
    patches: a Nature net whose first conv differs is refused by ``method="incremental"`` with
    the same message as an unknown net, and ``"auto"`` gives the plain path's maps exactly."""
    from rlviz.util.errors import RlvizError

    agent = small_nature_agent(**first_conv)
    frames = small_frames(n=1)
    with pytest.raises(RlvizError) as info:
        perturbation_saliency(agent, frames, method="incremental")
    assert str(info.value) == "incremental saliency needs a Nature-CNN net from rlviz.agents.networks; use method='plain'"
    auto = perturbation_saliency(agent, frames)
    plain = perturbation_saliency(agent, frames, method="plain")
    np.testing.assert_array_equal(auto.actor_grid, plain.actor_grid)
    np.testing.assert_array_equal(auto.critic_grid, plain.critic_grid)


@pytest.mark.parametrize("method", ["plain", "incremental"])
def test_a_scorer_that_returns_another_number_of_scores_than_asked_is_an_error(method, one_thread):
    """``perturbed_scores`` fills n_scores grids from what the scorer returns: one score too
    few would leave a grid of uninitialised memory, one too many would be dropped silently;
    both are refused."""
    from rlviz.explain.perturbation import perturbed_scores

    def scorer_of(count):
        def make(clean_logits, clean_values):
            return lambda logits, values, idx: tuple((values - clean_values[idx]) ** 2 for _ in range(count))
        return make

    agent, frames = small_nature_agent(), small_frames(n=1)
    grids, _ = perturbed_scores(agent, frames, scorer_of(2), 2, method=method)
    assert len(grids) == 2 and np.array_equal(grids[0], grids[1])
    for count in (1, 3):
        with pytest.raises(ValueError, match="zip"):
            perturbed_scores(agent, frames, scorer_of(count), 2, method=method)
