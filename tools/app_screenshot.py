"""The README's app screenshot, taken by Playwright in Debian's Chromium from a live app.

    python -m tools.app_screenshot [--out assets/app_screenshot.jpg]   # from the repo root (it imports demo/)

Uploads the example photo, picks the "sunset" preset and opens the jaw, waits for the
previews and the 3D view, and saves the page's upper part as JPEG.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from demo.ui import STYLE, build_app
from inversefacenet import Reconstructor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "assets" / "examples" / "astronaut.jpg"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-sync"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshot(url: str, out: Path, chromium: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.locator("#photo input[type=file]").set_input_files(str(EXAMPLE))
        page.wait_for_function("document.querySelector('#status').innerText.includes('Face 1 of 1')", timeout=120_000)
        before = page.locator("#relit img").get_attribute("src")
        page.locator("#preset label", has_text="sunset").click()
        page.wait_for_function(f"document.querySelector('#relit img').src !== {before!r}", timeout=60_000)
        before = page.locator("#relit img").get_attribute("src")
        page.locator("#expr-jawOpen input[type=range]").fill("0.6")
        page.wait_for_function(f"document.querySelector('#relit img').src !== {before!r}", timeout=60_000)
        page.locator("#model3d canvas").wait_for(timeout=60_000)
        page.wait_for_timeout(3000)  # the 3D view's model loads after the previews
        png = page.screenshot(clip={"x": 0, "y": 0, "width": 1400, "height": 1000})
        browser.close()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "app_screenshot.jpg")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    port = free_port()
    app = build_app(Reconstructor.load())
    app.queue(default_concurrency_limit=2)
    app.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
        **STYLE,
    )
    try:
        screenshot(f"http://127.0.0.1:{port}/", args.out, chromium)
    finally:
        app.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
