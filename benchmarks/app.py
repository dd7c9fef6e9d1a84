"""The Gradio app through its API (gradio_client), as users' browsers drive it.

    python benchmarks/app.py [--url http://127.0.0.1:7860/] [--fit full|fast|none] [--repeats 5]
                             [--clients 16] [--rounds 3]

Without --url it starts ``app.py`` itself (with ``--fit``) on a free port and reports its
start-up time and memory. Two parts:

1. one user (``--repeats`` times, example photo): upload -> first preview (decode, landmarks,
   network, fit, previews; the 3D view follows separately), a light-slider change and an
   expression-slider change (round trip and the server's own render time at 512 px), and a
   light-slider change with the photo texture on (the server's render time);
2. a load test: ``--clients`` users, each with a different photo (single faces and groups),
   each uploading, relighting, editing an expression and exporting. Every user first does
   this alone (its serial twin), then all users do it at once, ``--rounds`` times. Reports
   errors, results that differ from their serial twin (face count, recovered controls,
   exported parameters within 1e-5), p50 / p95 round trips per action, and the server's
   resident memory after the warm-up, after the twins and after every round.

The twin check needs a reproducible pipeline: every fit mode is bit-exact run to run since the
fit's vertex normals sum their gradient in order (2026-12-05, ``render/raster_torch.py``; before,
the full fit's parameters differed by up to 1e-2 between runs on 2 threads).

Prints tables and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from inversefacenet import FaceModel, FaceParameters  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.params import EXPRESSION_CONTROLS  # noqa: E402
from inversefacenet.render.renderer import render, to_uint8  # noqa: E402

PHOTO = str(ROOT / "assets/examples/astronaut.jpg")
JAW = EXPRESSION_CONTROLS.index("jawOpen")
N_CONTROLS = len(EXPRESSION_CONTROLS) + 3  # expression sliders, then pitch, yaw, roll
ACTIONS = ("upload -> first preview", "light slider", "expression slider", "export")


def start_server(fit: str) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--fit", fit], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
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


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def timed(call, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def server_ms(status: str) -> float:
    return float(re.search(r"preview (\d+) ms", status).group(1))


def synthetic_face(model: FaceModel, seed: int, size: int) -> np.ndarray:
    """A rendered face with seeded pose, shape, albedo, mouth and light on grey."""
    rng = np.random.default_rng(seed)
    params = FaceParameters.neutral(model.layout)
    params.rotation[:] = np.radians(rng.uniform(-20, 20, (1, 3)))
    params.shape[:] = rng.normal(size=(1, model.n_shape)) * 0.7
    params.albedo[:] = rng.normal(size=(1, model.n_albedo)) * 0.7
    params.expression[0, model.expression_names.index("jawOpen")] = rng.uniform(0, 0.4)
    params.sh[0, 0] = rng.uniform(0.7, 1.1)
    params.sh[0, 1:4] = rng.uniform(-0.2, 0.2, (3, 1))
    out = render(model, params, size)
    return to_uint8(out.image[0] + (~out.raster.mask[0])[..., None] * 0.55)


def astronaut_variant(photo: np.ndarray, seed: int, size: int) -> np.ndarray:
    """The example photo flipped or not, cropped, resized and tinted by the seed."""
    rng = np.random.default_rng(seed)
    x0, y0 = rng.integers(0, 80, 2)
    crop = photo[y0 : y0 + 430, x0 : x0 + 430]
    crop = crop[:, ::-1] if seed % 2 else crop
    tint = rng.uniform(0.85, 1.1, 3)
    return np.clip(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA) * tint, 0, 255).astype(np.uint8)


def side_by_side(*images: np.ndarray) -> np.ndarray:
    height = max(image.shape[0] for image in images)
    padded = [np.pad(image, ((0, height - image.shape[0]), (0, 0), (0, 0)), constant_values=128) for image in images]
    return np.concatenate(padded, axis=1)


def make_photos(count: int, folder: Path) -> list[str]:
    """``count`` different JPEGs in turn: the example varied, a synthetic face, a pair, a trio."""
    model, astronaut = FaceModel.load(), load_image(PHOTO)
    paths = []
    for i in range(count):
        seed = 100 + i
        if i % 4 == 0:
            photo = astronaut_variant(astronaut, seed, 300 + 40 * (i % 5))
        elif i % 4 == 1:
            photo = synthetic_face(model, seed, 256 + 32 * (i % 3))
        elif i % 4 == 2:
            photo = side_by_side(astronaut_variant(astronaut, seed, 384), synthetic_face(model, seed, 300))
        else:
            photo = side_by_side(synthetic_face(model, seed, 300), astronaut_variant(astronaut, seed, 256),
                                 synthetic_face(model, seed + 1000, 200))  # fmt: skip
        path = folder / f"photo{i:02d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(str(path))
    return paths


def user_round(client: Client, photo: str, index: int) -> tuple[dict[str, float], dict[str, Any]]:
    """One user: upload, move the light, open the mouth, export. Round trips in ms, and what came back."""
    upload, outputs = timed(client.predict, handle_file(photo), True, api_name="/reconstruct")
    table, edits = outputs[7], list(outputs[9 : 9 + N_CONTROLS])
    recovered = [*np.ravel(table["data"] if isinstance(table, dict) else table), *edits]
    light, lit = timed(client.predict, -150 + 20 * index, 10, 1.4, 0.3, "#ffd0a0", *edits, True, api_name="/relight")
    edits[JAW] = 0.8
    expression, _ = timed(client.predict, lit[0], *edits, True, api_name="/edit")
    export, files = timed(client.predict, lit[0], *edits, api_name="/export")
    if len(files) != 5:  # <photo>_face1_obj.zip, .ply, .glb, _relit_photo.jpg, _params.json (the animatable GLB: off)
        raise RuntimeError(f"export gave {len(files)} files, not 5")
    params = json.loads(Path(files[-1] if isinstance(files[-1], str) else files[-1]["path"]).read_text())
    faces = int(re.search(r"of (\d+)", outputs[-1]).group(1))
    result = {"faces": faces, "recovered": np.asarray(recovered, float), "params": flatten(params)}
    return dict(zip(ACTIONS, (upload, light, expression, export), strict=True)), result


def flatten(params: dict) -> np.ndarray:
    """params.json's numbers in a fixed order."""
    values = []
    for key in ("rotation_deg", "shape", "expression", "albedo", "sh"):
        group = params[key]
        values.extend(np.ravel([group[k] for k in sorted(group)] if isinstance(group, dict) else group))
    return np.asarray(values, float)


def differences(found: dict[str, Any], twin: dict[str, Any]) -> str | None:
    """What differs from the serial twin, or None. Controls come rounded, so they must be equal."""
    if found["faces"] != twin["faces"]:
        return f"{found['faces']} faces, serially {twin['faces']}"
    controls = np.abs(found["recovered"] - twin["recovered"]).max()
    params = np.abs(found["params"] - twin["params"]).max()
    if controls > 0 or params > 1e-5:
        return f"recovered controls differ by up to {controls:.2g}, exported parameters by {params:.2g}"
    return None


def single_user(url: str, repeats: int) -> dict[str, list[float]]:
    """Part 1: one user's round trips and server render times, example photo."""
    client = new_client(url)
    rows: dict[str, list[float]] = {"upload -> first preview": [], "light slider (round trip)": [],
                                    "light slider (server render)": [], "expression slider (round trip)": [],
                                    "expression slider (server render)": [],
                                    "light slider, photo texture (server render)": []}  # fmt: skip
    for i in range(repeats):
        ms, outputs = timed(client.predict, handle_file(PHOTO), True, api_name="/reconstruct")
        rows["upload -> first preview"].append(ms)
        edits = list(outputs[9 : 9 + N_CONTROLS])
        ms, lit = timed(client.predict, -90 + 30 * i, 20, 1.3, 0.4, "#ffffff", *edits, True, api_name="/relight")
        rows["light slider (round trip)"].append(ms)
        rows["light slider (server render)"].append(server_ms(lit[-1]))
        # the person's own skin: the composite relights the photo's own pixels (the recovered expression)
        client.predict(True, lit[0], *edits, True, api_name="/photo_texture")
        _, own = timed(client.predict, -60 + 30 * i, 20, 1.3, 0.4, "#ffffff", *edits, True, api_name="/relight")
        rows["light slider, photo texture (server render)"].append(server_ms(own[-1]))
        client.predict(False, lit[0], *edits, True, api_name="/photo_texture")
        edits[JAW] = (i + 1) / (repeats + 1)  # a new jaw opening each time, within [0, 1]
        ms, edited = timed(client.predict, lit[0], *edits, True, api_name="/edit")
        rows["expression slider (round trip)"].append(ms)
        rows["expression slider (server render)"].append(server_ms(edited[-1]))
    return rows


def load_test(url: str, photos: list[str], rounds: int, memory: Callable[[], float] | None) -> dict[str, Any]:
    """Part 2: every user alone (serial twins), then all at once ``rounds`` times.

    ``memory`` (the server's RSS, MB) is read after the twins and after every round.
    """
    clients = [new_client(url) for _ in photos]
    errors: list[str] = []
    twins: list[dict[str, Any] | None] = []
    for i, (client, photo) in enumerate(zip(clients, photos, strict=True)):
        try:
            twins.append(user_round(client, photo, i)[1])
        except Exception as error:  # noqa: BLE001 - count every failure, whatever its kind
            errors.append(f"alone, {Path(photo).name}: {error}")
            twins.append(None)
    rss: list[float] = []
    times: dict[str, list[float]] = {action: [] for action in ACTIONS}
    differing: list[str] = []
    # every round starts at the same moment for all users, once the previous one (or the twins) has ended
    together = threading.Barrier(len(photos), action=lambda: rss.append(memory()) if memory else None)

    def user(i: int) -> None:
        for r in range(rounds):
            together.wait()
            try:
                ms, result = user_round(clients[i], photos[i], i)
            except Exception as error:  # noqa: BLE001 - count every failure, whatever its kind
                errors.append(f"round {r + 1}, {Path(photos[i]).name}: {error}")
                continue
            for action, value in ms.items():
                times[action].append(value)
            difference = twins[i] and differences(result, twins[i])
            if difference:
                differing.append(f"round {r + 1}, {Path(photos[i]).name}: {difference}")

    start = time.perf_counter()
    with ThreadPoolExecutor(len(photos)) as pool:
        list(pool.map(user, range(len(photos))))
    wall = time.perf_counter() - start
    if memory:
        rss.append(memory())
    faces = [twin["faces"] for twin in twins if twin]
    return {"times": times, "errors": errors, "differing": differing, "wall_s": wall, "faces": faces, "rss": rss}


def new_client(url: str) -> Client:
    """A gradio_client Client whose downloads land in the temporary directory, which ``main`` makes a folder of its
    own, removed at the end: by default they pile up in /tmp/gradio, and each leaves an empty folder in /tmp."""
    return Client(url, verbose=False, analytics_enabled=False, download_files=tempfile.gettempdir())


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url")
    parser.add_argument("--fit", choices=["full", "fast", "none"], default="full", help="server's fit (no --url)")
    parser.add_argument("--repeats", type=int, default=5, help="single-user measurements (0: skip)")
    parser.add_argument("--clients", type=int, default=16, help="users in the load test (0: skip)")
    parser.add_argument("--rounds", type=int, default=3, help="times all users act at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benchmark-app-") as scratch:
        tempfile.tempdir = scratch  # gradio_client's downloads and the folders it leaves (new_client)
        try:
            measure(args)
        finally:
            tempfile.tempdir = None


def measure(args: argparse.Namespace) -> None:
    """Starts the server (unless ``--url``), measures, prints and writes the summary."""
    server, startup, url = None, None, args.url
    if url is None:
        server, url, startup = start_server(args.fit)
    try:
        user_round(new_client(url), PHOTO, 0)  # warm-up: every action once
        warm_rss = rss_mb(server.pid) if server else None
        rows = single_user(url, args.repeats)
        load = None
        if args.clients:
            with tempfile.TemporaryDirectory() as folder:
                photos = make_photos(args.clients, Path(folder))
                load = load_test(url, photos, args.rounds, (lambda: rss_mb(server.pid)) if server else None)
    finally:
        if server is not None:
            server.terminate()

    summary: dict[str, Any] = {"fit": args.fit if server else "?", "startup_s": startup and round(startup, 1)}
    if args.repeats:
        print(f"{'measurement (ms, 512 px previews)':<36} | {'median':>8} | {'min':>8} | {'max':>8}")
        print("-" * 70)
        for name, values in rows.items():
            summary[name] = round(statistics.median(values), 1)
            print(f"{name:<36} | {statistics.median(values):8.0f} | {min(values):8.0f} | {max(values):8.0f}")
    if load is not None:
        faces = load["faces"]
        print(f"\nload test: {args.clients} users, each with its own photo ({faces.count(1)} single, "
              f"{len(faces) - faces.count(1)} groups, {sum(faces)} faces), each alone once, then all at once "
              f"{args.rounds} times (upload, relight, expression edit, export); fit: {summary['fit']}")  # fmt: skip
        print(f"{'action (round trip, ms)':<28} | {'p50':>7} | {'p95':>7} | {'max':>7} | {'n':>4}")
        print("-" * 64)
        for action, values in load["times"].items():
            summary[f"load {action} p50"] = round(percentile(values, 50), 1)
            summary[f"load {action} p95"] = round(percentile(values, 95), 1)
            print(f"{action:<28} | {percentile(values, 50):7.0f} | {percentile(values, 95):7.0f} | "
                  f"{max(values, default=float('nan')):7.0f} | {len(values):4d}")  # fmt: skip
        other_faces = sum("faces, serially" in line for line in load["differing"])
        print(f"errors: {len(load['errors'])}; results differing from their serial twin: {len(load['differing'])} "
              f"({other_faces} in face count); {load['wall_s']:.1f} s wall for the concurrent rounds")  # fmt: skip
        for line in load["errors"] + load["differing"]:
            print(f"  {line}")
        summary.update(clients=args.clients, rounds=args.rounds, errors=len(load["errors"]),
                       differing=len(load["differing"]))  # fmt: skip
        rss = load["rss"]
        if rss:
            per_round = 4 * args.clients
            steady = 100 * (rss[-1] / rss[1] - 1)
            print(f"server RSS (MB): {warm_rss:.0f} after the warm-up (1 user), {rss[0]:.0f} after the serial twins "
                  f"({args.clients} more sessions held), after each concurrent round "
                  f"{', '.join(f'{v:.0f}' for v in rss[1:])}: {steady:+.1f} % over the "
                  f"{per_round * (args.rounds - 1)} requests after round 1, "
                  f"{100 * (rss[-1] / warm_rss - 1):+.1f} % over all {per_round * (args.rounds + 1)}")  # fmt: skip
            summary.update(rss_mb=[round(warm_rss), *map(round, rss)], rss_growth_after_round1_pct=round(steady, 1))
    if startup is not None:
        print(f"start-up (process start -> serving): {startup:.1f} s")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
