"""The time the page's photo texture adds per face: in headless Chromium, and its de-lighting alone in Node.

    python benchmarks/photo_texture_page.py [--repeats 21] [--node 20]      # after `make web-build`

Browser: the example photo is reconstructed --repeats times with the Skin switch on; each reconstruction makes
the texture anew (crop and face mask at the photo's resolution, then de-lighting at 512 px, as the status line
reports it) and window.inverseFaceNet.photoTextureTimings() gives its ms. In idle time after loading, once per page,
the page builds the texel map and rehearses the photo texture on a stand-in photo so that V8 has compiled it; the
run waits for that (a user takes longer to pick a photo) and reports its times, and the first face apart. Node: the
page's delight() on a golden from export/goldens.py at the app's sizes (a 144 px crop, as the example photo's face,
and the 512 px texture), --node times, wall and CPU, with its difference from Python's texture of the same input.
The load average is printed beside the times (the machine may be shared). Writes reports/photo_texture/page_timing.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from demo.webpage import DIST, start  # noqa: E402

PHOTO = ROOT / "assets" / "examples" / "astronaut.jpg"
FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]  # fmt: skip
SIZES = (144, 512)
"""Crop side and texture side of the Node golden: the example photo's face and the app's texture."""
REPORT = ROOT / "reports" / "photo_texture" / "page_timing.json"


def browser_times(repeats: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    server = start()
    url = f"http://127.0.0.1:{server.server_address[1]}/?backend=wasm"
    photo = "data:image/jpeg;base64," + base64.b64encode(PHOTO.read_bytes()).decode()
    times, loads = [], []
    try:
        with sync_playwright() as playwright:
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.evaluate("window.inverseFaceNet.ready")
            # the texel map and the rehearsals, in idle time after loading (a user takes longer to pick a photo)
            page.wait_for_function("window.inverseFaceNet.photoTextureTimings().prepared", timeout=60_000)
            prepared = page.evaluate("window.inverseFaceNet.photoTextureTimings()")
            page.check("#skin-photo")
            for _ in range(repeats):
                page.evaluate("u => window.inverseFaceNet.reconstruct(u)", photo)
                page.wait_for_function("window.inverseFaceNet.photoTextureTimings().ms !== null", timeout=60_000)
                timings = page.evaluate("window.inverseFaceNet.photoTextureTimings()")
                times.append(timings["ms"])
                loads.append(os.getloadavg()[0])
            browser.close()
    finally:
        server.shutdown()
    rest = times[1:]
    return {"repeats": repeats, "first_ms": times[0], "median_ms": statistics.median(rest), "min_ms": min(rest),
            "max_ms": max(rest), "texel_map_ms": prepared["texel_map_ms"], "rehearsal_ms": prepared["rehearsal_ms"],
            "load_average": [min(loads), max(loads)], "ms": times}  # fmt: skip


def node_times(repeats: int) -> dict[str, object]:
    from export.goldens import SEED, photo_texture_golden
    from inversefacenet import FaceModel

    model = FaceModel.load()
    with tempfile.TemporaryDirectory() as folder:
        golden = Path(folder) / "golden.json"
        texture = photo_texture_golden(model, np.random.default_rng(SEED), SIZES)
        golden.write_text(json.dumps({"photo_texture": texture}))
        load = os.getloadavg()[0]
        command = ["npm", "run", "--silent", "bench-phototexture", "--", str(golden), str(repeats)]
        result = subprocess.run(command, cwd=ROOT / "webassets", capture_output=True, text=True, check=True)
    return {**json.loads(result.stdout), "load_average": [load, os.getloadavg()[0]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=21, help="reconstructions in the browser (0: none)")
    parser.add_argument("--node", type=int, default=20, help="timed delight() calls in Node (0: none)")
    args = parser.parse_args()
    report: dict[str, object] = {"command": " ".join(["python benchmarks/photo_texture_page.py", *sys.argv[1:]]),
                                 "cpu_count": os.cpu_count()}  # fmt: skip
    if args.repeats:
        if not (DIST / "index.html").is_file():
            sys.exit("the page is not built: make web-build")
        report["browser"] = browser_times(args.repeats)
        print("browser", json.dumps({k: v for k, v in report["browser"].items() if k != "ms"}))
    if args.node:
        report["node"] = node_times(args.node)
        print("node", json.dumps(report["node"]))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
