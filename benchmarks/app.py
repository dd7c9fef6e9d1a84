"""The Gradio app through its API (gradio_client), as a user's browser drives it.

    python benchmarks/app.py [--url http://127.0.0.1:7860/] [--repeats 5] [--clients 8]

Without --url it starts ``app.py`` itself on a free port and reports its start-up time. Measures
upload -> first preview (decode, landmarks, network, fit, previews; the 3D view follows
separately), a light-slider change and an expression-slider change (round trip and the
server's own render time at 512 px), then a load test: ``--clients`` users at once, each
uploading, relighting and exporting. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from demo.session import EXPRESSION_CONTROLS  # noqa: E402

PHOTO = str(ROOT / "assets/examples/astronaut.jpg")
JAW = EXPRESSION_CONTROLS.index("jawOpen")


def start_server() -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for line in server.stdout:
        if "Running on" in line:
            break
    while server.poll() is None:  # the server binds just after it says so
        try:
            urllib.request.urlopen(url, timeout=1)
            return server, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("app.py exited before serving")


def timed(call, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def server_ms(status: str) -> float:
    return float(re.search(r"preview (\d+) ms", status).group(1))


def user_session(url: str) -> dict[str, float]:
    """One user: upload, move the light, open the mouth, export. Returns round trips in ms."""
    client = Client(url, verbose=False)
    upload, outputs = timed(client.predict, handle_file(PHOTO), True, api_name="/reconstruct")
    table, edits = outputs[7], list(outputs[9 : 9 + len(EXPRESSION_CONTROLS) + 3])
    light, _ = timed(client.predict, 60, 10, 1.4, 0.3, "#ffd0a0", *edits, True, api_name="/relight")
    edits[JAW] = 0.8
    export, files = timed(client.predict, table, *edits, api_name="/export")
    assert len(files) == 4, files
    return {"upload": upload, "light": light, "export": export}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    server, startup = None, None
    url = args.url
    if url is None:
        server, url, startup = start_server()
    try:
        client = Client(url, verbose=False)
        client.predict(handle_file(PHOTO), True, api_name="/reconstruct")  # warm-up (numba, torch)
        rows: dict[str, list[float]] = {"upload -> first preview": [], "light slider (round trip)": [],
                                        "light slider (server render)": [], "expression slider (round trip)": [],
                                        "expression slider (server render)": []}  # fmt: skip
        for i in range(args.repeats):
            ms, outputs = timed(client.predict, handle_file(PHOTO), True, api_name="/reconstruct")
            rows["upload -> first preview"].append(ms)
            edits = list(outputs[9 : 9 + len(EXPRESSION_CONTROLS) + 3])
            ms, lit = timed(client.predict, -90 + 30 * i, 20, 1.3, 0.4, "#ffffff", *edits, True, api_name="/relight")
            rows["light slider (round trip)"].append(ms)
            rows["light slider (server render)"].append(server_ms(lit[-1]))
            edits[JAW] = (i + 1) / (args.repeats + 1)  # a new jaw opening each time, within [0, 1]
            ms, edited = timed(client.predict, lit[0], *edits, True, api_name="/edit")
            rows["expression slider (round trip)"].append(ms)
            rows["expression slider (server render)"].append(server_ms(edited[-1]))

        start = time.perf_counter()
        errors, users = 0, []
        with ThreadPoolExecutor(args.clients) as pool:
            for future in [pool.submit(user_session, url) for _ in range(args.clients)]:
                try:
                    users.append(future.result())
                except Exception as error:  # noqa: BLE001 - count every failure, whatever its kind
                    errors += 1
                    print(f"client failed: {error}", file=sys.stderr)
        load_wall = time.perf_counter() - start
    finally:
        if server is not None:
            server.terminate()

    print(f"{'measurement (ms, 512 px previews)':<36} | {'median':>8} | {'min':>8} | {'max':>8}")
    print("-" * 70)
    summary = {}
    for name, values in rows.items():
        summary[name] = round(statistics.median(values), 1)
        print(f"{name:<36} | {statistics.median(values):8.0f} | {min(values):8.0f} | {max(values):8.0f}")
    uploads = sorted(u["upload"] for u in users)
    print(f"\nload test: {args.clients} clients at once (upload + relight + export each): {errors} errors, "
          f"{load_wall:.1f} s wall; upload round trip median {statistics.median(uploads) if uploads else 0:.0f} ms, "
          f"max {max(uploads) if uploads else 0:.0f} ms")  # fmt: skip
    if startup is not None:
        print(f"start-up (process start -> serving): {startup:.1f} s")
    print(json.dumps({**summary, "startup_s": startup and round(startup, 1), "load_clients": args.clients,
                      "load_errors": errors, "load_wall_s": round(load_wall, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
