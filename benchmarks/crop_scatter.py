"""What MediaPipe's crops cost the network, on the realistic row's photos.

    python benchmarks/crop_scatter.py [CHECKPOINT] [--faces 40]

The realistic row's photo-like renders (``training.evaluate``'s real path, same seed) go through
MediaPipe; each face is cropped by the rule from (a) MediaPipe's points, (b) those points moved by
their mean measured offset (``inversefacenet.landmark_offsets``) over all poses, (c) at the pose the
network reads from (b), twice, (d) the model's true landmark vertices, (e) those moved by the pattern
measured on another face of similar pose (what the corpus's landmark noise trains on), and, to tell
the crop's box from the mask's outline, (f) MediaPipe's box with the true points' mask and (g) the
other way round. Prints the network's
outcomes per crop, and how far MediaPipe's crop lies from the true one (RMS of ``Crop.alignment_to``
in input pixels: the centre's shift in x and y, and the log scale times half the side); for a network
with crop alignment also what is left after its own correction, and its correlation with the truth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor, to_parameters  # noqa: E402
from inversefacenet.detection import LandmarkDetector  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from inversefacenet.landmark_offsets import measured_offsets, moved  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.preprocess import crop_for_landmarks, crop_input  # noqa: E402
from training.corpus import held_out_set  # noqa: E402
from training.evaluate import REALISTIC_OF, metrics, nearest_face, realistic_photos  # noqa: E402


def faces_of_the_realistic_row(model: FaceModel, count: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(index, photo, MediaPipe's 478 points, the true 478 points) of each detected face."""
    truth = held_out_set(model, REALISTIC_OF).select(slice(0, count))
    detector, found = LandmarkDetector(), []
    for k, (photo, points) in enumerate(realistic_photos(model, truth)):
        faces = detector(photo)
        nearest = nearest_face([face.landmarks for face in faces], points)
        if nearest is not None:
            found.append((k, photo, faces[nearest].landmarks, points))
    detector.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--faces", type=int, default=40)
    args = parser.parse_args()
    model = FaceModel.load()
    predictor = Predictor.load(args.checkpoint, model)
    config = predictor.config
    offsets = measured_offsets()

    def read(
        photo: np.ndarray, points: np.ndarray, masked_by: np.ndarray | None = None
    ) -> tuple[FaceParameters, np.ndarray]:
        """The network on the crop of ``points``, masked by the outline of ``masked_by`` (default: the same points)."""
        crop = crop_for_landmarks(points, config.input_size, config.camera)
        masked_by = points if masked_by is None else masked_by
        outputs = predictor.outputs(crop_input(photo, masked_by, crop, config.input_mask)[None])
        return to_parameters(outputs, config), outputs[0, config.layout.size :]

    rows: dict[str, list[FaceParameters]] = {name: [] for name in ("MediaPipe's points", "moved by the mean offset",
        "moved by the offset at the read pose (2 passes)", "the true points",
        "the true points moved by a pattern of a similar pose", "MediaPipe's box, the true points' mask",
        "the true points' box, MediaPipe's mask")}  # fmt: skip
    scatter, predicted, draw = [], [], np.random.default_rng(0)
    found = faces_of_the_realistic_row(model, args.faces)
    held_out = held_out_set(model, REALISTIC_OF)
    for k, photo, detected, true in found:
        raw, alignment = read(photo, detected)
        mean, _ = read(photo, offsets.correct(detected, None))
        posed, _ = read(photo, offsets.correct(detected, np.degrees(mean.rotation[0, :2])))
        posed, _ = read(photo, offsets.correct(detected, np.degrees(posed.rotation[0, :2])))
        exact, _ = read(photo, true)
        pose = np.degrees(held_out.rotation[k, :2])
        sampled, _ = read(photo, moved(true, offsets.sample(pose, draw)))
        true_mask, detected_mask = read(photo, detected, true)[0], read(photo, true, detected)[0]
        for name, params in zip(rows, (raw, mean, posed, exact, sampled, true_mask, detected_mask), strict=True):
            rows[name].append(params)
        seen, target = (crop_for_landmarks(p, config.input_size, config.camera) for p in (detected, true))
        scatter.append(seen.alignment_to(target))
        predicted.append(alignment)
    truth = held_out.select(np.array([k for k, *_ in found]))
    print(f"{args.checkpoint}: {len(found)} of {args.faces} faces detected; network crops from")
    for name, params in rows.items():
        m = metrics(model, truth, FaceParameters.concatenate(params))
        print(f"  {name:>48}: rotation {m['rotation_error_deg']:.2f} deg, geometry {m['geometric_rmse_mm']:.2f} mm, "
              f"photometric {m['photometric_rmse']:.1f}, mask IoU {m['mask_iou']:.3f}")  # fmt: skip
    pixels = np.array([1.0, 1.0, 0.5]) * config.input_size
    scatter = np.array(scatter)
    print("MediaPipe's crop from the true one, RMS input px (x, y, scale):", np.sqrt(((scatter * pixels) ** 2).mean(0)))
    if config.crop_alignment:
        left = np.array(scatter) - np.array(predicted)
        print("  after the network's own alignment:", np.sqrt(((left * pixels) ** 2).mean(0)),
              "correlation", [round(np.corrcoef(scatter[:, i], np.array(predicted)[:, i])[0, 1], 2) for i in range(3)])


if __name__ == "__main__":
    main()
