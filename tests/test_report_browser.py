"""The report page in a real headless Chromium (Debian's ``chromium`` package), driven over
the DevTools protocol by ``headless_chromium.py``: it loads from file:// without console
errors, draws the timeline and the frame, shows step k after k presses of the right arrow and
after loading ``#step=k``, its method toggle changes the map, and compare mode lists the
disagreements. Skipped, saying why, only where no Chromium is installed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from headless_chromium import Browser, find_browser
from PIL import Image
from report_case import STEPS, small_report

from rlviz.present import colormaps

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="no Chromium: install it (apt-get install chromium; .ci/run and scripts/setup.sh test do) to run the browser tests",
)


@pytest.fixture(scope="module")
def page():
    case = small_report()
    with Browser(1400, 1000) as browser:
        yield case, browser


def load(browser: Browser, case, fragment: str = "") -> None:
    browser.open(case.result.path.resolve().as_uri() + fragment)
    browser.wait("document.body.dataset.drawn !== undefined")


def shot(browser: Browser, selector: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(browser.screenshot(selector))).convert("RGB")).astype(int)


def wait_drawn(browser: Browser, step: int) -> None:
    browser.wait(f"document.body.dataset.drawn === '{step}'")


def shows_frame(browser: Browser, case, k: int) -> float:
    """Share of the frame canvas's pixels that differ from step k's frame (drawn at 2x)."""
    got = shot(browser, "#frame")
    want = np.repeat(np.repeat(case.rgb[k], 2, axis=0), 2, axis=1).astype(int)
    assert got.shape == want.shape
    return float((np.abs(got - want).max(axis=-1) > 8).mean())


def test_page_loads_from_file_without_console_errors_and_draws(page):
    case, browser = page
    load(browser, case)
    assert browser.console_errors() == []
    for selector in ("#timeline", "#frame", "#map", "#map-b"):
        pixels = shot(browser, selector)
        assert pixels.std() > 10, f"{selector} looks blank"
    assert browser.eval("document.querySelectorAll('#methods input').length") == 7  # saliency 2, LRP 2, 3 registered


def test_right_arrow_k_times_shows_step_k_of_the_rollout(page):
    case, browser = page
    k = 10  # the untrained agent plays NOOP: from seed 3 the frames begin to change at step 9
    assert np.abs(case.rgb[k].astype(int) - case.rgb[k - 1]).max() > 8, "steps k and k-1 must look different"
    load(browser, case, "#step=0")
    for _ in range(k):
        browser.key("ArrowRight", key_code=39)
    wait_drawn(browser, k)
    assert shows_frame(browser, case, k) < 0.001
    assert shows_frame(browser, case, k - 1) > 0.001  # the comparison can tell neighbouring steps apart
    assert browser.eval("location.hash").startswith(f"#step={k}")


def test_loading_step_k_from_the_url_shows_step_k(page):
    case, browser = page
    k = STEPS - 3
    assert np.abs(case.rgb[k].astype(int) - case.rgb[k - 1]).max() > 8
    load(browser, case, f"#step={k}")
    wait_drawn(browser, k)
    assert shows_frame(browser, case, k) < 0.001 < shows_frame(browser, case, k - 1)
    assert browser.eval("document.getElementById('step-label').textContent").startswith(f"step {k} ")
    assert browser.console_errors() == []


def test_method_toggle_changes_the_map(page):
    case, browser = page
    load(browser, case, "#step=4")
    wait_drawn(browser, 4)
    before = shot(browser, "#map")
    box = browser.rect("#method-lrp-action")
    browser.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    browser.wait("window.rlviz.state.layer === 'lrp-action'")
    browser.pump(0.3)
    wait_drawn(browser, 4)
    after = shot(browser, "#map")
    assert np.abs(after - before).max(axis=-1).mean() > 5
    assert "LRP" in browser.eval("document.getElementById('map-caption').textContent")


def test_compare_mode_lists_the_disagreements(page):
    case, browser = page
    load(browser, case)
    listed = browser.eval("[...document.querySelectorAll('#disagreements li')].map(li => Number(li.dataset.step))")
    assert listed == case.result.disagreements and listed
    browser.eval("document.querySelectorAll('#disagreements li')[0].click()")
    wait_drawn(browser, listed[0])
    assert browser.console_errors() == []


def test_objects_layer_shows_the_names_of_the_objects_found_at_that_step(page):
    from rlviz.explain.objects import find_objects

    case, browser = page
    k = STEPS - 1
    want = [o.name for o in find_objects(case.obs[k], case.background, "Pong") if o.masks[-1].any()]
    assert {"agent's paddle", "opponent's paddle"} <= set(want)  # found independently of the report's code
    load(browser, case, f"#step={k}")
    wait_drawn(browser, k)
    before = shot(browser, "#frame")
    assert browser.eval("document.getElementById('object-names').hidden")
    box = browser.rect("#show-objects")
    browser.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    browser.wait("document.getElementById('show-objects').checked")
    browser.pump(0.3)
    wait_drawn(browser, k)
    names = browser.eval("[...document.querySelectorAll('#object-names li')].map(li => li.textContent)")
    assert names == want
    shares = browser.eval("[...document.querySelectorAll('#object-shares li:not(.label)')].map(li => li.textContent)")
    objects = case.data["objects"]
    assert shares == [f"{objects['names'][i]} {round(100 * s)}%" for i, s in objects["shares"]["sal-actor"][k]] and shares
    assert np.abs(shot(browser, "#frame") - before).max(axis=-1).mean() > 0.5  # the boxes and names are drawn
    assert browser.console_errors() == []


def shows_map(browser, case, key: str, k: int) -> np.ndarray:
    """Screenshot of the map canvas with layer ``key`` at step ``k``."""
    load(browser, case, f"#step={k}&map={key}")
    wait_drawn(browser, k)
    browser.pump(0.2)
    return shot(browser, "#map")


@pytest.mark.parametrize("key", ["sal-actor", "lrp-action"])
def test_map_panel_is_drawn_like_the_video(page, key):
    """The map canvas equals the video's own overlay function (colormaps.saliency_overlay /
    relevance_overlay: dimmed gray backdrop, sky-blue fill, red/violet) of the same frame and map.
    (Pixel-level noise maps, such as an untrained net's integrated gradients, differ more: the
    browser interpolates the colours of the 84x84 map, the video its values.)"""
    from rlviz.explain.lrp import lrp
    from rlviz.explain.perturbation import perturbation_saliency

    case, browser = page
    k = 6
    layer = next(ly for ly in case.data["layers"] if ly["key"] == key)
    rgb = np.repeat(np.repeat(case.rgb[k], 2, axis=0), 2, axis=1)  # the canvas shows the screen at 2x
    obs = case.obs[k][None]
    if key == "sal-actor":
        video = colormaps.saliency_overlay(rgb, perturbation_saliency(case.agent, obs).actor[0], None, layer["scale"], 1.0)
        old = rgb  # the page's former style: saliency over the colour frame
    else:
        maps = lrp(case.agent, obs, target="action")
        video = colormaps.relevance_overlay(rgb, maps.sum(axis=1)[0], layer["scale"])
        old = (rgb.mean(axis=-1, keepdims=True) * 0.5).repeat(3, axis=-1)  # former: grayscale(1) brightness(0.5)
    got = shows_map(browser, case, key, k)
    assert got.shape == video.shape
    diff = np.abs(got - video.astype(int)).max(axis=-1)
    # the browser smooths the 84x84 map's colours, the video its values: they differ at sharp LRP detail only
    assert np.median(diff) <= 3 and diff.mean() < 10, (np.median(diff), diff.mean())
    assert np.abs(got - old.astype(int)).max(axis=-1).mean() > 2 * diff.mean()  # the test can tell the old look apart
    legend = browser.eval("[...document.querySelectorAll('#legend-bar .ends span')].map(s => s.textContent)")
    words = colormaps.LEGEND_WORDS
    assert legend == ([words["actor"], ""] if key == "sal-actor" else [words["against"], words["for"]])
    assert browser.console_errors() == []


def test_a_registered_method_is_a_selectable_layer(page):
    case, browser = page
    load(browser, case, "#step=3&map=sal-actor")
    wait_drawn(browser, 3)
    before = shot(browser, "#map")
    box = browser.rect("#method-integrated-gradients")
    browser.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    browser.wait("window.rlviz.state.layer === 'integrated-gradients'")
    browser.pump(0.3)
    wait_drawn(browser, 3)
    assert np.abs(shot(browser, "#map") - before).max(axis=-1).mean() > 5
    assert "integrated-gradients" in browser.eval("document.getElementById('map-caption').textContent")
    assert "integrated-gradients" in browser.eval("document.getElementById('map-b-caption').textContent")  # the compared agent's too
    assert browser.eval("location.hash").endswith("map=integrated-gradients")
    assert browser.console_errors() == []


def test_summary_tab_shows_each_move_and_a_click_on_an_example_jumps_to_its_step(page):
    case, browser = page
    tab = case.data["summary"]["summit"]
    browser.open("about:blank")  # a fresh page: a same-file navigation would keep the earlier tests' toggles
    load(browser, case, "#step=0")
    wait_drawn(browser, 0)
    browser.eval("document.getElementById('tab-summary').click()")
    browser.pump(0.2)
    assert not browser.eval("document.getElementById('summit').hidden")
    moves = browser.eval("[...document.querySelectorAll('#summit-moves button')].map(b => b.textContent)")
    assert moves == [f"{m['move']} = {m['label']} ({m['frames']})" for m in tab["moves"]]  # Pong's NOOP = stay
    assert browser.eval("document.getElementById('summit-caption').textContent") == tab["moves"][0]["caption"]
    shown = browser.eval("[...document.querySelectorAll('#summit-graph .vertex h4')].map(h => h.textContent)")
    assert shown == [f"{v['layer']} #{v['channel']}" for layer in tab["layers"] for v in tab["moves"][0]["vertices"]
                     if v["layer"] == layer] + [tab["moves"][0]["move"]]
    extra = browser.eval("[...document.querySelectorAll('dl.extra dt')].map(d => d.textContent)")
    assert "fc1_groups" in extra and "saliency_where" in extra  # fields of a newer summary, shown as they are
    linked = browser.eval("[...document.querySelectorAll('#summit-graph figure.linked')].map(f => Number(f.dataset.step))")
    assert linked and set(linked) <= set(range(STEPS))
    k = max(linked)  # a later step: the page starts at 0
    assert k > 0
    browser.eval(f"document.querySelector('#summit-graph figure.linked[data-step=\"{k}\"]').click()")
    wait_drawn(browser, k)
    assert not browser.eval("document.getElementById('explore').hidden")
    assert shows_frame(browser, case, k) < 0.001
    assert browser.console_errors() == []
