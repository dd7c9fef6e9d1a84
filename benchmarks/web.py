"""The browser page in headless Chromium: download size, time to first result, ms per inference, live fps.

    python benchmarks/web.py [--repeats 20] [--live 10] [--away]        # after `make web-build`

For each backend (wasm; WebGPU on Chromium's software adapter, flag --enable-unsafe-webgpu):
time from navigation to ready (face model, landmark detector and network loaded), the first
reconstruction of the example photo (landmarks, preprocessing, network), and the network alone
at batch 1 on the example's own input (median of --repeats). Then live mode: Chromium's fake camera plays a face video
(benchmarks/live_video.py, 640 x 480 at 30 fps), Live is pressed, and once the first frames are
through (the detector's cold start excluded), frames processed per second over --live seconds (and, before,
the seconds from the click on Live to the first frame with a face),
with the page's mean ms per stage over its last 30 frames. ``--away`` adds live mode (wasm) on a video whose
face leaves the frame for the second half of each 5 s loop (a plain background meanwhile): the page then looks for
a face on every frame. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.live_video import FPS, moving_frames, write_y4m  # noqa: E402
from demo.webpage import DIST, start  # noqa: E402

PHOTO = ROOT / "assets/examples/astronaut.jpg"
FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]  # fmt: skip


def megabytes(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def measure(browser, url: str, backend: str, repeats: int, model: str | None = None) -> dict[str, float]:
    page = browser.new_page()
    transferred = []
    page.on("response", lambda response: transferred.append(int(response.headers.get("content-length", 0))))
    start_time = time.perf_counter()
    page.goto(f"{url}?backend={backend}" + (f"&model={model}" if model else ""))
    page.evaluate("window.inverseFaceNet.ready")
    ready_s = time.perf_counter() - start_time
    variant = page.evaluate("window.inverseFaceNet.variant")  # the network file the page chose or was given
    photo = "data:image/jpeg;base64," + base64.b64encode(PHOTO.read_bytes()).decode()
    result = page.evaluate("u => window.inverseFaceNet.reconstruct(u)", photo)
    first_s = time.perf_counter() - start_time
    times = page.evaluate(  # the network on the example's own input (its channels follow the input rule)
        """async ([n, url]) => {
            const [points] = await window.inverseFaceNet.detect(url);
            const input = await window.inverseFaceNet.preprocess(url, points);
            const times = [];
            for (let i = 0; i < n; i++) {
                const t = performance.now();
                await window.inverseFaceNet.runNetwork(input);
                times.push(performance.now() - t);
            }
            return times;
        }""",
        [repeats, photo],
    )
    page.close()
    return {
        "network": variant, "ready_s": round(ready_s, 2), "first_result_s": round(first_s, 2),
        "first_landmarks_ms": round(result["timings"]["landmarks_ms"], 1),
        "first_network_ms": round(result["timings"]["network_ms"], 1),
        "network_ms_median": round(statistics.median(times), 2), "network_ms_min": round(min(times), 2),
        "downloaded_mb": round(sum(transferred) / 1e6, 1),
    }  # fmt: skip


def measure_live(browser, url: str, backend: str, seconds: float, model: str | None = None) -> dict[str, float]:
    """Live mode on the fake camera: fps over ``seconds`` after the first 3 frames, the page's ms per stage, and
    how often the page got to draw meanwhile (animation frames per second: at most that many processed frames
    reach the screen)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}?backend={backend}" + (f"&model={model}" if model else ""))
    page.evaluate("window.inverseFaceNet.ready")
    page.click("#live")
    clicked = time.perf_counter()
    stats = "window.inverseFaceNet.liveStats()"
    page.wait_for_function(f"{stats}.frames - {stats}.faceless >= 1", timeout=300_000, polling=50)
    first_face_s = time.perf_counter() - clicked  # the camera's start, the detector's cold start, the first reading
    page.wait_for_function(f"{stats}.frames >= 3", timeout=300_000)
    count_draws = "window.draws = 0; (function count() { window.draws++; requestAnimationFrame(count); })()"
    first, _, start_time = page.evaluate(stats), page.evaluate(count_draws), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    last, draws, elapsed = page.evaluate(stats), page.evaluate("window.draws"), time.perf_counter() - start_time
    page.click("#stop")
    page.close()
    frames = last["frames"] - first["frames"]
    return {
        "first_face_s": round(first_face_s, 2),
        "live_fps": round(frames / elapsed, 1), "frames": frames, "draws_per_s": round(draws / elapsed, 1),
        "detector_runs": last["detections"] - first["detections"],
        "dropped": last["dropped"] - first["dropped"],
        **{f"{stage}_ms": round(ms, 1) for stage, ms in last["ms"].items() if stage != "detector"},
    }  # fmt: skip


def _with_camera(playwright, chromium: str, video: Path):  # noqa: ANN001, ANN202
    """Chromium whose fake camera plays ``video`` in a loop."""
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    return playwright.chromium.launch(executable_path=chromium, args=[*FLAGS, *camera])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["wasm", "webgpu"])
    parser.add_argument("--live", type=float, default=10, help="seconds of live mode per backend (0: skip)")
    parser.add_argument("--away", action="store_true", help="also live mode with the face away half the time")
    parser.add_argument("--model", help="the page's network (?model=): fp32, fp16, int8w or int8 (default: the "
                        "page's own choice, int8 on wasm and fp32 on WebGPU)")  # fmt: skip
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None or not (DIST / "index.html").is_file():
        sys.exit("needs Debian chromium and the built page (make web-build)")
    server = start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    sizes = {
        "network fp32 (MB)": megabytes(DIST / "models/inversefacenet_fp32.onnx"),
        "network fp16 (MB)": megabytes(DIST / "models/inversefacenet_fp16.onnx"),
        "network int8w (MB)": megabytes(DIST / "models/inversefacenet_int8w.onnx"),
        "network int8 (MB)": megabytes(DIST / "models/inversefacenet_int8.onnx"),
        "face model (MB)": megabytes(DIST / "models/facemodel.bin"),
        "page scripts (MB)": megabytes(DIST / "assets"),
    }
    rows, live = {}, {}
    folder = tempfile.TemporaryDirectory()
    frames = moving_frames(5 * FPS)
    with sync_playwright() as playwright:
        browser = _with_camera(playwright, chromium, write_y4m(Path(folder.name) / "face.y4m", frames))
        for backend in args.backends:
            rows[backend] = measure(browser, url, backend, args.repeats, args.model)
            if args.live > 0:
                live[backend] = measure_live(browser, url, backend, args.live, args.model)
        browser.close()
        if args.away:
            half = len(frames) // 2
            away = frames[:half] + [np.full_like(frame, frame.mean(axis=(0, 1))) for frame in frames[half:]]
            browser = _with_camera(playwright, chromium, write_y4m(Path(folder.name) / "away.y4m", away))
            live["wasm, face away half the time"] = measure_live(browser, url, "wasm", args.live, args.model)
            browser.close()
    server.shutdown()
    folder.cleanup()
    for name, value in sizes.items():
        print(f"{name:<22} {value:>8}")
    columns = list(next(iter(rows.values())))
    print("\n" + " | ".join(["backend", *columns]))
    for backend, row in rows.items():
        print(" | ".join([backend, *(str(row[c]) for c in columns)]))
    if live:
        columns = list(next(iter(live.values())))
        print("\nlive (fake camera, 640 x 480 at 30 fps)\n" + " | ".join(["backend", *columns]))
        for backend, row in live.items():
            print(" | ".join([backend, *(str(row[c]) for c in columns)]))
    print(json.dumps({"sizes": sizes, **rows, "live": live}))


if __name__ == "__main__":
    main()
