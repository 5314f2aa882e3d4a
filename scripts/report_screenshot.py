"""Open an rlviz report in headless Chromium, print its time to first paint, and save a
screenshot: ``python scripts/report_screenshot.py runs/report/index.html docs/report.png
[--step 1234] [--map lrp-action] [--stack] [--objects] [--summary [--move RIGHT]] [--width 1400]``.

Times are measured by the browser itself: first-contentful-paint (the Paint Timing API) and
the moment the page has drawn its first complete frame with its map (``window.rlvizFirstDraw``),
both from the start of navigation, on a fresh profile (no cache)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from headless_chromium import Browser


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("index", help="the report's index.html")
    p.add_argument("out", help="screenshot PNG")
    p.add_argument("--step", type=int, default=None)
    p.add_argument("--map", default=None, help="layer to show, e.g. sal-actor, lrp-action")
    p.add_argument("--stack", action="store_true", help="show the 4 stacked frames")
    p.add_argument("--objects", action="store_true", help="turn on the objects layer (boxes, names, top shares)")
    p.add_argument("--summary", action="store_true", help="the Summary tab")
    p.add_argument("--move", default=None, help="with --summary: the move whose attribution graph is shown (default the first)")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--full", action="store_true", help="the whole page, not only the window")
    args = p.parse_args()
    fragment = "&".join(f"{k}={v}" for k, v in (("step", args.step), ("map", args.map)) if v is not None)
    url = Path(args.index).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    with Browser(args.width, args.height, timeout=120) as b:
        t = time.time()
        b.open(url)
        b.wait("window.rlvizFirstDraw !== undefined", timeout=120)
        wall = time.time() - t
        fcp = b.eval("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
        print(f"first contentful paint {fcp:.0f} ms; first frame with its map drawn {b.eval('window.rlvizFirstDraw'):.0f} ms "
              f"(navigation start = 0; {wall:.2f} s as seen from the driver)")
        if args.stack:
            b.eval("document.getElementById('show-stack').click()")
        if args.objects:
            b.eval("document.getElementById('show-objects').click()")
        if args.summary:
            b.eval("document.getElementById('tab-summary').click()")
            if args.move:
                b.eval(f"[...document.querySelectorAll('#summit-moves button')].find(b => b.textContent.split(' ')[0] === {args.move!r}).click()")
        b.pump(0.5)
        if args.step is not None and not args.summary:
            b.wait(f"document.body.dataset.drawn === '{args.step}'", timeout=60)
        Path(args.out).write_bytes(b.screenshot(full_page=args.full))
        errors = b.console_errors()
        print(f"wrote {args.out}; console errors: {errors or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
