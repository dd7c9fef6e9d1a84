"""Where the page's main thread spends a photo search's longest task: a JavaScript sampling profile in Chromium.

    python benchmarks/page_profile.py [--photo assets/examples/astronaut.jpg] [--backend wasm] [--top 8]

Opens the built page (``make web-build``) in headless Chromium, waits for it to be ready and for the landmark
graphs' warm-up, then records Chrome's sampling profiler (DevTools protocol, 0.2 ms interval) over one
``window.inverseFaceNet.detect`` of the photo. Prints the main thread's long tasks (over 50 ms) and, for the longest
run of samples without idle, the functions that take most of it: self time, and time including callees.
"""

from __future__ import annotations

import argparse
import base64
import collections
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.webpage import start  # noqa: E402

FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader"]  # fmt: skip
LONG_TASKS = """() => { window.longTasks = []; new PerformanceObserver((list) => list.getEntries().forEach(
    (task) => window.longTasks.push(Math.round(task.duration)))).observe({type: "longtask"}); }"""


def busiest(profile: dict) -> tuple[float, list[int]]:
    """The longest run of samples that are not idle: its length (ms) and its samples' node ids."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    runs, current, time = [], [], profile["startTime"]
    for node, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        time += delta
        if nodes[node]["callFrame"]["functionName"] == "(idle)":
            runs, current = runs + [current] if current else runs, []
        else:
            current.append((time, node))
    runs += [current] if current else []
    longest = max(runs, key=lambda run: run[-1][0] - run[0][0])
    return (longest[-1][0] - longest[0][0]) / 1000, [node for _, node in longest]


def shares(profile: dict, samples: list[int]) -> tuple[collections.Counter, collections.Counter]:
    """Samples per function: where each sample stopped (self), and each function on its stack (inclusive)."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}

    def name(node: int) -> str:
        frame = nodes[node]["callFrame"]
        return f"{frame['functionName'] or '(anonymous)'} ({frame['url'].rsplit('/', 1)[-1] or 'native'})"

    own, inclusive = collections.Counter(), collections.Counter()
    for sample in samples:
        own[name(sample)] += 1
        stack, node = set(), sample
        while node is not None:
            stack.add(name(node))
            node = parent.get(node)
        inclusive.update(stack)
    return own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, default=ROOT / "assets" / "examples" / "astronaut.jpg")
    parser.add_argument("--backend", default="wasm", choices=["wasm", "webgpu"])
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    url = "data:image/jpeg;base64," + base64.b64encode(args.photo.read_bytes()).decode()
    server = start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/?backend={args.backend}")
            page.evaluate("window.inverseFaceNet.ready")
            page.evaluate("window.inverseFaceNet.warmed")
            devtools = page.context.new_cdp_session(page)
            devtools.send("Profiler.enable")
            devtools.send("Profiler.setSamplingInterval", {"interval": 200})
            page.evaluate(LONG_TASKS)
            devtools.send("Profiler.start")
            faces = page.evaluate("u => window.inverseFaceNet.detect(u)", url)
            profile = devtools.send("Profiler.stop")["profile"]
            tasks = page.evaluate("window.longTasks")
            browser.close()
    finally:
        server.shutdown()
    length, samples = busiest(profile)
    own, inclusive = shares(profile, samples)
    print(f"{len(faces)} face(s); long tasks (ms): {tasks}; the longest busy run: {length:.0f} ms")
    for title, counts in (("self", own), ("including callees", inclusive)):
        print(f"{title}:")
        for name, count in counts.most_common(args.top):
            print(f"  {100 * count / len(samples):5.1f} %  {name}")


if __name__ == "__main__":
    main()
