"""Measure where MediaPipe puts its 468 mesh points on renders of the face model.

    python -m training.landmark_noise [--count 400] [--out assets/mediapipe_offsets.npz]

Photos of known faces (the corpus distribution, a background and camera effects) go through
the detector; the detected points are compared with the model's landmark vertices, in units
of the landmark box (:mod:`inversefacenet.landmark_offsets` says who uses them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inversefacenet.detection import LandmarkDetector
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.landmark_offsets import OFFSETS_FILE, MeasuredOffsets
from training.corpus import PAPER, sample_parameters
from training.realism import photo_of_face

SEED = 4_680


def measure(model: FaceModel, count: int) -> MeasuredOffsets:
    """Offsets of the detected points from the true ones, for the faces the detector finds."""
    rng = np.random.default_rng(SEED)
    truth = sample_parameters(model, count, rng, PAPER.real())
    detector = LandmarkDetector()
    angles, offsets = [], []
    for k in tqdm(range(count), desc="faces"):
        photo, points = photo_of_face(model, truth.select(slice(k, k + 1)), rng)
        faces = detector(photo)
        if faces:
            box = np.ptp(points[:MESH_POINTS], axis=0).max()
            offsets.append((faces[0].landmarks[:MESH_POINTS, :2] - points[:MESH_POINTS]) / box)
            angles.append(np.degrees(truth.rotation[k, :2]))
    detector.close()
    return MeasuredOffsets(np.stack(angles), np.stack(offsets))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--out", type=Path, default=OFFSETS_FILE)
    args = parser.parse_args(argv)
    noise = measure(FaceModel.load(), args.count)
    noise.save(args.out)
    distance = np.linalg.norm(noise.offsets, axis=2)
    print(f"{len(noise.offsets)} of {args.count} faces found; offset of a point from its vertex, in landmark-box "
          f"units: median {np.median(distance):.4f}, 90th percentile {np.percentile(distance, 90):.4f}; "
          f"of the whole set's centre: median {np.median(np.linalg.norm(noise.offsets.mean(axis=1), axis=1)):.4f}"
          f" -> {args.out}")


if __name__ == "__main__":
    main()
