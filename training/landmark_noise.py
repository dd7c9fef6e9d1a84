"""Measure where MediaPipe puts its 468 mesh points on renders of the face model.

    python -m training.landmark_noise [--count 400] [--out assets/mediapipe_offsets.npz]
    python -m training.landmark_noise --paired --count 6000 --distribution paper --seed 1 --out runs/paired.npz

Photos of known faces (the corpus distribution, a background and camera effects) go through
the detector; the detected points are compared with the model's landmark vertices, in units
of the landmark box (:mod:`inversefacenet.landmark_offsets` says who uses them).

``--paired`` writes, instead, each measured face's parameters with its offsets to ``--out`` (which
it needs, and which may not be the shipped offsets file), so that the corpus can render that face
again with its own detected pattern (``training.corpus.PairedFaces``) rather than the
pattern of another face of similar pose: MediaPipe's points follow the face, not only its pose.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inversefacenet.detection import LandmarkDetector
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.landmark_offsets import OFFSETS_FILE
from training.corpus import PairedFaces, distribution_named, sample_parameters
from training.realism import photo_of_face

SEED = 4_680


def measure(model: FaceModel, count: int, seed: int = SEED, distribution: str = "real") -> PairedFaces:
    """The faces the detector finds, with the offsets of the detected points from the true ones."""
    rng = np.random.default_rng(seed)
    truth = sample_parameters(model, count, rng, distribution_named(distribution))
    detector = LandmarkDetector()
    found, offsets = [], []
    for k in tqdm(range(count), desc="faces"):
        photo, points = photo_of_face(model, truth.select(slice(k, k + 1)), rng)
        faces = detector(photo)
        if faces:
            box = np.ptp(points[:MESH_POINTS], axis=0).max()
            offsets.append((faces[0].landmarks[:MESH_POINTS, :2] - points[:MESH_POINTS]) / box)
            found.append(k)
    detector.close()
    return PairedFaces(truth.select(np.array(found)).pack(), np.stack(offsets))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--out", type=Path, help=f"default: {OFFSETS_FILE} (without --paired)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--distribution", default="real", help="paper | narrow | wide | real (training.corpus)")
    parser.add_argument("--paired", action="store_true", help="write the faces' parameters with their offsets instead")
    args = parser.parse_args(argv)
    if args.paired and (args.out is None or args.out.resolve() == OFFSETS_FILE.resolve()):
        parser.error(f"--paired needs an --out other than {OFFSETS_FILE}")
    args.out = args.out or OFFSETS_FILE
    args.out.parent.mkdir(parents=True, exist_ok=True)  # before minutes of measuring, not after
    model = FaceModel.load()
    paired = measure(model, args.count, args.seed, args.distribution)
    noise = paired.offsets_by_pose(model)
    (paired if args.paired else noise).save(args.out)
    distance = np.linalg.norm(noise.offsets, axis=2)
    print(f"{len(noise.offsets)} of {args.count} faces found; offset of a point from its vertex, in landmark-box "
          f"units: median {np.median(distance):.4f}, 90th percentile {np.percentile(distance, 90):.4f}; "
          f"of the whole set's centre: median {np.median(np.linalg.norm(noise.offsets.mean(axis=1), axis=1)):.4f}"
          f" -> {args.out}")


if __name__ == "__main__":
    main()
