"""Evaluate a checkpoint on a fixed held-out synthetic set (paper section 8 metrics).

    python -m training.evaluate CHECKPOINT [--count 300] [--fit-count 100] [--realistic 40] [--realistic-head]
        [--mirror-reading] [--report FILE.json]

Two settings, labelled in every row:
- oracle crops: the network's crop and mask, and the fit's landmarks, come from the true
  landmark vertices (a perfect detector); clean renders on black.
- real path (``--realistic N``, gates shipping): the first N held-out faces are rendered as
  photos (face in a 256 px frame, photo-like background, white balance, blur, noise, JPEG:
  ``training.realism.photo_of_face``) and go through what users run: MediaPipe detection
  and mesh, crop, mask, network, fit. Faces the detector misses are counted, not scored.
  One diagnostic row feeds the network the same photos cropped and masked from the true
  points instead (what MediaPipe's scatter costs the network). ``--realistic-head`` draws hair,
  ears, a neck and clothes around each face (the corpus's ``add_head``), for networks that see the
  whole crop: on a cut-out render the plain background gives the face's true outline away.
Rows: the mean face (baseline), the network, and the network refined by the fit (fast and
full), and on the real path the full fit from the mean face (what the network saves).
Metrics: model-space loss, rotation error (deg, mean over the three angles), geometric RMSE
(mm, face vertices, unposed), photometric RMSE (0-255, inside the face mask), IoU of the face
masks, and the yaw's own mean error (deg); on the real path also the placement error: where the
face lands in the photo, the mean distance of its 468 projected mesh landmarks from the true points
over the true outer-eye-corner distance, with MediaPipe's own points (as detected, and moved by the
measured offset) as rows of their own (NaN where a row has no such measure). Prints a table and a
JSON line. ``--mirror-reading`` scores every row's network reading each crop flipped too, whatever its checkpoint
says (``NetworkConfig.mirror_reading``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from inversefacenet.checkpoint import Predictor, to_parameters
from inversefacenet.detection import DetectedFace
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.fitting import NETWORK_START_FIT, fit
from inversefacenet.landmark_offsets import measured_offsets
from inversefacenet.metrics import EVAL_SIZE, outcomes
from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import Crop, crop_for_landmarks, eye_distance, face_input, face_mask
from inversefacenet.render.camera import Camera
from inversefacenet.render.renderer import project_face, render
from training.corpus import held_out_set, render_inputs
from training.losses import ParameterLoss
from training.realism import PHOTO, PHOTO_WITH_HEAD, Realism, photo_of_face

REAL_PATH_SEED = 68_478
REALISTIC_OF = 300
"""The held-out set whose first faces the realistic row renders (``--count 300``, this CLI's default)."""


def metrics(model: FaceModel, truth: FaceParameters, predicted: FaceParameters) -> dict[str, float]:
    """The model-space loss, the user-facing outcomes (:func:`inversefacenet.metrics.outcomes`) of a batch and the
    yaw's own mean error (deg: the angle a network trained on a range of yaws is held to)."""
    loss = ParameterLoss(model, "model")
    model_loss = float(loss(torch.tensor(predicted.pack()), torch.tensor(truth.pack())))
    yaw = float(np.degrees(np.abs(predicted.rotation[:, 1] - truth.rotation[:, 1])).mean())
    return {"model_space_loss": model_loss, **outcomes(model, truth, predicted), "yaw_error_deg": yaw}


def placement_error(found: np.ndarray, points: np.ndarray) -> float:
    """Mean distance of (>=468, 2+) points found in the photo from the (478, 2) true ones, over the true
    outer-eye-corner distance."""
    distance = np.linalg.norm(found[:MESH_POINTS, :2] - points[:MESH_POINTS], axis=1)
    return float(distance.mean() / eye_distance(points))


def projected(model: FaceModel, params: FaceParameters, crop: Crop, camera: Camera) -> np.ndarray:
    """(468, 2) the face's mesh landmarks in photo pixels, placed by the crop its parameters are framed by."""
    pixels = project_face(model, params, crop.size, camera).pixels[0, model.landmarks_mediapipe[:MESH_POINTS]]
    return crop.to_photo(pixels)


def predict(predictor: Predictor, model: FaceModel, truth: FaceParameters) -> FaceParameters:
    """Network predictions for the held-out renders, in batches, cropped and masked from the true landmark vertices.

    A network that reads both ways reads each render and the render of its mirror image, which the oracle also masks
    from that face's own landmark vertices, and answers the mean (flipping the first render's mask instead would
    move the face model's asymmetries, e.g. its point 58 inside the jaw, to the wrong side)."""
    config, mirror = predictor.config, predictor.mirror
    once = predictor if mirror is None else Predictor(predictor.network, replace(config, mirror_reading=False))
    outputs = []
    for start in range(0, truth.batch_size, 64):
        faces = truth.select(slice(start, start + 64))
        read = once.outputs(render_inputs(model, faces, config.input_size, mask=config.input_mask)[0])
        if mirror is not None:
            mirrored = FaceParameters.unpack(model.layout, mirror(faces.pack()).astype(np.float32))
            flipped = once.outputs(render_inputs(model, mirrored, config.input_size, mask=config.input_mask)[0])
            read = (read + mirror(flipped)) / 2
        outputs.append(to_parameters(read, config))
    return FaceParameters.concatenate(outputs)


def refine(model: FaceModel, truth: FaceParameters, start: FaceParameters, mode: str) -> FaceParameters:
    """The fit from the network's prediction (with the iterations the pipeline gives it), on full-mesh renders of
    the ground truth."""
    results = []
    for k in tqdm(range(truth.batch_size), desc=f"fit ({mode})", leave=False):
        out = render(model, truth.select(slice(k, k + 1)), EVAL_SIZE)
        image = (np.clip(out.image[0], 0, 1) * 255 + 0.5).astype(np.uint8)
        landmarks = out.pixels[0, model.landmarks_mediapipe]
        mask, initial = face_mask(landmarks, EVAL_SIZE), start.select(slice(k, k + 1))
        fitted = fit(model, image, mask, landmarks, initial, mode, NETWORK_START_FIT)
        results.append(fitted.params)
    return FaceParameters.concatenate(results)


def turned_faces(model: FaceModel, count: int, axis: int, degrees: tuple[float, float] | None,
                 seed: int) -> FaceParameters:  # fmt: skip
    """The realistic row's first ``count`` faces (of the REALISTIC_OF held-out ones) with the angle ``axis`` (0 pitch,
    1 yaw, 2 roll) redrawn from U(lo, hi) degrees either way (None: as they are): the real path on heads turned
    beyond the corpus's range."""
    truth = held_out_set(model, REALISTIC_OF).select(slice(0, count))
    if degrees is None:
        return truth
    rng = np.random.default_rng(seed)
    angle = rng.uniform(*degrees, count) * rng.choice([-1, 1], count)
    truth.rotation[:, axis] = np.radians(angle).astype(np.float32)
    return truth


EXACT = "network, crops from the true points"
"""A perfect detector on the same photos: what MediaPipe's crops cost the network."""
PLACEMENT = "placement_error_iod"
"""Where the face lands in the photo (real path only, :func:`placement_error`)."""


def realistic_photos(model: FaceModel, truth: FaceParameters,
                     realism: Realism = PHOTO) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Each face of ``truth`` as the real path's photo: (H, W, 3) uint8 and its (478, 2) true points (px), drawn
    in order from one fixed seed, so every caller sees the same photos."""
    rng = np.random.default_rng(REAL_PATH_SEED)
    for k in range(truth.batch_size):
        yield photo_of_face(model, truth.select(slice(k, k + 1)), rng, realism=realism)


def nearest_face(faces: list[np.ndarray], points: np.ndarray) -> int | None:
    """Of the (>=468, 2+) point sets found in a photo, the index of the one whose centre is nearest the true face's
    (478, 2) points' centre; None if none was found."""
    centre = points[:MESH_POINTS].mean(axis=0)
    distances = [np.linalg.norm(face[:MESH_POINTS, :2].mean(axis=0) - centre) for face in faces]
    return int(np.argmin(distances)) if distances else None


def real_path(model: FaceModel, predictor: Predictor, truth: FaceParameters, fit: bool,
              correct: bool = True, realism: Realism = PHOTO, upright: bool = True) -> dict[str, dict]:  # fmt: skip
    """Metrics of the photo path on photo-like renders of ``truth`` (see the module docstring).

    correct: the fit's landmark correction (``Reconstructor.correct_landmarks``), for its ablation.
    realism: what the photos add to the render (PHOTO; PHOTO_WITH_HEAD draws a head around each face).
    upright: tilted faces read upright (``Reconstructor.upright``), for its ablation (``benchmarks/tilted.py``).
    """
    options = {"correct_landmarks": correct, "upright": upright}
    network_only = Reconstructor(model, predictor=predictor, fit_mode=None, **options)
    starts = {"network + full fit": predictor, "full fit from the mean face": None} if fit else {}
    rows = {"network": network_only} | {
        row: Reconstructor(model, network_only.detector, start, fit_mode="full", **options)
        for row, start in starts.items()
    }
    found, outputs, placements = [], {}, {}
    photos = realistic_photos(model, truth, realism)
    for k, (photo, points) in enumerate(tqdm(photos, total=truth.batch_size, desc="real path", leave=False)):
        faces = network_only.detector(photo)
        nearest = nearest_face([face.landmarks for face in faces], points)
        if nearest is None:
            continue
        face = faces[nearest]
        found.append(k)
        for name, (params, placed) in read_face(model, predictor, rows, photo, points, face).items():
            if params is not None:
                outputs.setdefault(name, []).append(params)
            placements.setdefault(name, []).append(placement_error(placed, points))
    if not found:
        raise ValueError(f"the detector found none of the {truth.batch_size} faces: nothing to score")
    truth_found = truth.select(np.array(found, dtype=int))
    scores = {name: metrics(model, truth_found, FaceParameters.concatenate(params)) for name, params in outputs.items()}
    unscored = dict.fromkeys(scores["network"], np.nan)  # MediaPipe's points have no parameters to score
    rate = {"detected": len(found) / truth.batch_size}
    return {f"{name} (real path)": {**scores.get(name, unscored), PLACEMENT: float(np.mean(placed)), **rate}
            for name, placed in placements.items()}  # fmt: skip


Placed = tuple[FaceParameters | None, np.ndarray]
"""A row's parameters for a face (None for MediaPipe's points, which have none) and its (468+, 2+) points in the
photo."""


def read_face(model: FaceModel, predictor: Predictor, rows: dict[str, Reconstructor], photo: np.ndarray,
              points: np.ndarray, face: DetectedFace) -> dict[str, Placed]:  # fmt: skip
    """Each row's parameters for one photo's face and where the row puts its 468 mesh landmarks in the photo."""
    config = predictor.config
    out: dict[str, Placed] = {}
    for name, reconstructor in rows.items():
        result = reconstructor.reconstruct_faces(photo, [face])[0]
        out[name] = result.params, projected(model, result.params, result.crop, result.camera)
    exact = crop_for_landmarks(points, config.input_size, config.camera)
    params = predictor(face_input(photo, points, config.input_size, config.camera, config.input_mask)[None])
    out[EXACT] = params, projected(model, params, exact, config.camera)
    mean = FaceParameters.neutral(model.layout, ambient=0.9)
    detected = crop_for_landmarks(face.landmarks, config.input_size, config.camera)  # the rule on MediaPipe's points
    out["mean face"] = mean, projected(model, mean, detected, config.camera)
    pose = np.degrees(out["network"][0].rotation[0, :2])  # the correction's pose, as the pipeline takes it
    out["MediaPipe's points, as detected"] = None, face.landmarks
    out["MediaPipe's points, moved by the measured offset"] = None, measured_offsets().correct(face.landmarks, pose)
    return out


def evaluate(checkpoint: Path, count: int, fit_count: int, realistic: int = 0, real_fit: bool = True,
             correct: bool = True, realism: Realism = PHOTO,
             mirror_reading: bool = False) -> dict[str, dict[str, float]]:  # fmt: skip
    """The rows of the module docstring; ``real_fit=False`` leaves the fits out of the real path, ``realism`` is what
    its photos add to the render (:func:`real_path`)."""
    model = FaceModel.load()
    predictor = Predictor.load(checkpoint, model, mirror_reading or None)
    truth = held_out_set(model, count)
    predicted = predict(predictor, model, truth)
    mean = FaceParameters.neutral(model.layout, truth.batch_size, ambient=0.9)
    rows = {"mean face": metrics(model, truth, mean), "network (oracle crops)": metrics(model, truth, predicted)}
    for row in rows.values():
        row[PLACEMENT] = np.nan  # the oracle crops come from the true points
    if fit_count:
        subset = slice(0, fit_count)
        truth_fit, start = truth.select(subset), predicted.select(subset)
        rows[f"network (oracle crops, first {fit_count})"] = metrics(model, truth_fit, start)
        for mode in ("fast", "full"):
            rows[f"network + {mode} fit (oracle crops, first {fit_count})"] = metrics(
                model, truth_fit, refine(model, truth_fit, start, mode)
            )
    if realistic:
        rows.update(real_path(model, predictor, truth.select(slice(0, realistic)), real_fit, correct, realism))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--count", type=int, default=REALISTIC_OF, help="held-out images")
    parser.add_argument("--fit-count", type=int, default=100, help="of which this many are also fitted (0: none)")
    parser.add_argument("--realistic", type=int, default=40, help="faces through the real photo path (0: none)")
    parser.add_argument("--no-real-fit", action="store_true", help="the network alone on the real path")
    parser.add_argument("--no-landmark-correction", action="store_true",
                        help="the fit uses MediaPipe's points as detected (ablation of the measured-offset correction)")
    parser.add_argument("--realistic-head", action="store_true",
                        help="draw hair, ears, a neck and clothes around each real-path face (for networks that see "
                        "the whole crop)")
    parser.add_argument("--mirror-reading", action="store_true", help="the network reads each crop flipped too")
    parser.add_argument("--report", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    rows = evaluate(args.checkpoint, args.count, args.fit_count, args.realistic, not args.no_real_fit,
                    not args.no_landmark_correction, PHOTO_WITH_HEAD if args.realistic_head else PHOTO,
                    args.mirror_reading)
    columns = list(next(iter(rows.values())))
    print(f"{'':>52} | " + " | ".join(f"{c:>18}" for c in columns))
    for name, values in rows.items():
        print(f"{name:>52} | " + " | ".join(f"{values.get(c, np.nan):18.4f}" for c in columns))
    summary = {"checkpoint": str(args.checkpoint), "count": args.count, "realistic": args.realistic,
               "realistic_head": args.realistic_head, "mirror_reading": args.mirror_reading, "results": rows}
    if args.report:
        args.report.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
