"""Screenshot app pages in headless Chromium, to look at them as a learner would.

    .venv/bin/python tests/screenshot.py tensors autograd --out /tmp/shots [--dark]

Starts its own server, opens each url_path, waits for the run, saves a full-page PNG.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import wait_for_run  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, chromium_executable, start_server  # noqa: E402


def main() -> None:
    """Parse paths and write one PNG per page."""
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=[""], help="url paths; '' or home for the home page")
    parser.add_argument("--out", default="/tmp/shots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400,
                        help="Streamlit scrolls inside its own container, so a tall viewport shows more")
    parser.add_argument("--wait-ms", type=int, default=1500, help="after the run, for charts to finish drawing")
    parser.add_argument("--dark", action="store_true", help="as a browser set to a dark theme sees the pages")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proc, url, _ = start_server(Path(tempfile.mkdtemp()))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height},
                                    color_scheme="dark" if args.dark else "light")
            for path in args.paths:
                path = "" if path == "home" else path
                page.goto(f"{url}/{path}")
                wait_for_run(page)
                # The status widget ("Running...", Stop) is shown until every run, reruns included, is over.
                page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
                page.wait_for_timeout(args.wait_ms)  # charts and graphs finish drawing after the run
                target = out / f"{path or 'home'}{'-dark' if args.dark else ''}.png"
                page.screenshot(path=str(target), full_page=True)
                print(target)
            browser.close()
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
