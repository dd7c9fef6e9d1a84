"""Self-supervised bootstrapping on unlabelled photos (paper section 7, Algorithm 1).

    python -m training.bootstrap --images DIR --init CHECKPOINT --out DIR
        [--teacher network|fit] [--rounds 8] [--steps-per-round 500] [--noise 1.0] [--batch-size 32]
        [--realism 1.0]

Each round: (1) the teacher labels every face in the photos (detected, cropped and masked like
any photo); (2) the labels are perturbed with Gaussian noise; (3) new labelled images are
rendered from the perturbed parameters, made photo-like (``training.realism``); (4) the network
is fine-tuned on them. Teachers: ``network``, the current network's predictions (the paper's
Algorithm 1: the training distribution drifts towards the photos' without a single label), or
``fit``, the analysis-by-synthesis fit of each photo (computed once; a stronger label where the
network is weak). The paper runs 8 rounds x 7.5k iterations after 15k initial ones; on 2 CPU
cores scale the steps down (defaults: 500). Writes ``round<k>/`` training folders
(checkpoints, logs) and ``bootstrap.csv``; a finished round is not trained again (resumable).
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from inversefacenet.checkpoint import NetworkConfig, Predictor
from inversefacenet.detection import DetectedFace, LandmarkDetector
from inversefacenet.errors import InputError
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.images import load_image, photos_in
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import face_input
from training.corpus import SyntheticStream, perturbation
from training.realism import Realism
from training.train import TrainConfig, train

Teacher = Literal["network", "fit"]


def photo_faces(folder: Path, detector: LandmarkDetector) -> list[tuple[np.ndarray, DetectedFace]]:
    """Every (photo, face) the detector finds in the folder's photos; unreadable files are skipped."""
    found = []
    photos = photos_in(folder)
    for photo in tqdm(photos, desc="photos", leave=False):
        try:
            image = load_image(photo)
        except InputError as error:
            print(f"skipping {photo}: {error}")
            continue
        found += [(image, face) for face in detector(image)]
    if not found:
        raise InputError(f"no faces found in the photos of {folder}")
    return found


def photo_inputs(faces: list[tuple[np.ndarray, DetectedFace]], config: NetworkConfig) -> np.ndarray:
    """Network inputs (N, S, S, 3) of the faces, cropped and masked like any photo by ``config``'s rule."""
    rule = config.input_size, config.camera, config.input_mask
    return np.stack([face_input(image, face.landmarks, *rule) for image, face in faces])


def fit_labels(faces: list[tuple[np.ndarray, DetectedFace]], model: FaceModel, predictor: Predictor) -> np.ndarray:
    """(N, P) parameters of the full fit of each face, started from the network."""
    fitter = Reconstructor(model, predictor=predictor, fit_mode="full")
    return np.concatenate([fitter.reconstruct_faces(image, [face])[0].params.pack()
                           for image, face in tqdm(faces, desc="fit labels", leave=False)])  # fmt: skip


def trained_with(checkpoint: Path) -> TrainConfig:
    """The training configuration in a checkpoint's sidecar (its loss terms, distribution), or the defaults."""
    sidecar = checkpoint.with_suffix(".json")
    stored = json.loads(sidecar.read_text()).get("train_config") if sidecar.is_file() else None
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in (stored or {}).items() if k in known})


def bootstrap(images: Path, init: Path, out: Path, rounds: int, steps: int, noise: float, batch_size: int,
              validation: tuple[np.ndarray, np.ndarray] | None = None, teacher: Teacher = "network",
              realism: Realism | None = None) -> list[dict[str, float]]:  # fmt: skip
    """Run the rounds; returns per-round validation metrics (when ``validation`` is given)."""
    model = FaceModel.load()
    predictor = Predictor.load(init, model)
    network = predictor.config  # the rounds feed it as it was trained: size, crop alignment, input mask
    faces = photo_faces(images, LandmarkDetector())
    inputs = photo_inputs(faces, predictor.config)
    labels = fit_labels(faces, model, predictor) if teacher == "fit" else None
    checkpoint = init
    history = []
    out.mkdir(parents=True, exist_ok=True)
    for k in range(1, rounds + 1):
        pool = labels if labels is not None else Predictor.load(checkpoint, model)(inputs).pack()  # (1) label
        stream = SyntheticStream(model, network.input_size, batch_size, seed=10_000 + k, pool=pool,
                                 noise=perturbation(model, noise), realism=realism or Realism.none(),
                                 alignment=network.crop_alignment, mask=network.input_mask)  # (2)+(3)
        config = replace(trained_with(init), architecture=network.architecture, input_size=network.input_size,
                         batch_size=batch_size, steps=steps, learning_rate=3e-4, warmup_steps=min(50, steps),
                         validate_every=steps, init=str(checkpoint))  # fmt: skip
        metrics = train(config, out / f"round{k}", model, stream, validation)  # (4) fine-tune
        checkpoint = out / f"round{k}" / "last.safetensors"
        history.append({"round": k, "faces": len(inputs), **metrics})
        with (out / "bootstrap.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(history[-1]))
            writer.writeheader()
            writer.writerows(history)
    return history


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of unlabelled face photos")
    parser.add_argument("--init", type=Path, required=True, help="checkpoint trained on the synthetic corpus")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--teacher", choices=["network", "fit"], default="network")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps-per-round", type=int, default=500)
    parser.add_argument("--noise", type=float, default=1.0, help="scale of the perturbation")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--realism", type=float, default=1.0,
                        help="share of the rendered labels made photo-like (0: clean renders on black)")
    args = parser.parse_args(argv)
    realism = Realism(share=args.realism) if args.realism > 0 else Realism.none()
    history = bootstrap(args.images, args.init, args.out, args.rounds, args.steps_per_round, args.noise,
                        args.batch_size, teacher=args.teacher, realism=realism)  # fmt: skip
    print(json.dumps({"out": str(args.out), "rounds": history}))


if __name__ == "__main__":
    main()
