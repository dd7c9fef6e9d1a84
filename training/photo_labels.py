"""Real photos labelled by the fit: analysis-by-synthesis as the teacher of the photo's own pixels.

    python -m training.photo_labels --images DIR --out FILE.npz [--checkpoint assets/inversefacenet.safetensors]

Each face the detector finds is reconstructed by the pipeline (network, then the full fit led by the
photo's colours). Its fitted parameters label the photo's own crop, and the crop those parameters are
framed by (the crop rule on the model's own landmarks) labels a network's crop alignment. Training with
``--photo-labels FILE --photo-share S`` makes a share of each batch such faces, cut from their photos at
the crop MediaPipe's points give or at the fitted framing, slightly jittered, and masked by MediaPipe's
points as any photo is: the network reads real skin, hair, glasses and cameras, with the answer the fit
found for them. Unlike ``training.bootstrap --teacher fit``, which renders the fit's parameters, the
network here sees the photo itself. The file keeps the photos' paths, not their pixels.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.images import load_image, photos_in
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import Crop, crop_for_landmarks, crop_input
from inversefacenet.render.camera import DEFAULT_CAMERA

JITTER = (0.02, 0.03)
"""Standard deviation of a training crop's centre shift (of its side) and log scale around where it is cut."""


@dataclass
class PhotoLabels:
    """Faces of real photos with the fit's answer.

    photos: (F,) paths; photo: (N,) each face's photo; landmarks: (N, 478, 2) MediaPipe's points in photo
    pixels; parameters: (N, P) the fit's packed parameters; framing: (N, 3) the crop those parameters are
    framed by, as (scale, offset x, offset y) of a crop of side 1 (``Crop``'s transform, size-free).
    """

    photos: list[str]
    photo: np.ndarray
    landmarks: np.ndarray
    parameters: np.ndarray
    framing: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, photos=np.array(self.photos), photo=self.photo, landmarks=self.landmarks,
                            parameters=self.parameters, framing=self.framing)  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> PhotoLabels:
        with np.load(path, allow_pickle=False) as data:
            return cls([str(p) for p in data["photos"]], data["photo"], data["landmarks"], data["parameters"],
                       data["framing"])  # fmt: skip

    def framed(self, face: int, size: int) -> Crop:
        """The crop face ``face``'s parameters are framed by, at ``size`` pixels."""
        scale, x, y = self.framing[face]
        return Crop(float(scale * size), (float(x * size), float(y * size)), size)


def jittered(crop: Crop, rng: np.random.Generator, jitter: tuple[float, float] = JITTER) -> Crop:
    """``crop`` with its centre shifted and its scale changed at random by ``jitter`` (see ``JITTER``)."""
    return crop.aligned(np.array([*rng.normal(0, jitter[0], 2), rng.normal(0, jitter[1])]))


def label_photos(folder: Path, reconstructor: Reconstructor) -> PhotoLabels:
    """Every face in the folder's photos, reconstructed by ``reconstructor`` (its fit is the teacher)."""
    photos = photos_in(folder)
    kept, photo, landmarks, parameters, framing = [], [], [], [], []
    for path in tqdm(photos, desc="fit labels"):
        try:
            faces = reconstructor(path)
        except (InputError, NoFaceError) as error:
            print(f"{path.name}: {error}")
            continue
        for face in faces:
            photo.append(len(kept))
            landmarks.append(face.detected_landmarks[:, :2])
            parameters.append(face.params.pack()[0])
            crop = face.crop
            framing.append([crop.scale / crop.size, crop.offset[0] / crop.size, crop.offset[1] / crop.size])
        kept.append(str(path))
    if not parameters:
        raise ValueError(f"no faces found in the photos of {folder}")
    return PhotoLabels(kept, np.array(photo), np.array(landmarks, np.float32), np.array(parameters, np.float32),
                       np.array(framing))  # fmt: skip


@dataclass
class PhotoFaces:
    """Training inputs cut from labelled photos (the photos decoded once)."""

    labels: PhotoLabels
    size: int
    mask: str = "face"

    def __post_init__(self) -> None:
        self.images = [load_image(path) for path in self.labels.photos]

    def sample(self, rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(inputs (rows, S, S, 3), packed parameters (rows, P), crop alignments (rows, 3)) of random faces.

        Half are cut where MediaPipe's points put the crop (a photo's first reading), half where the fit's
        framing does (the reading on the crop the network points to); each jittered by ``JITTER``."""
        faces = rng.integers(len(self.labels.parameters), size=rows)
        inputs, alignments = [], []
        for face in faces:
            points = self.labels.landmarks[face]
            exact = self.labels.framed(face, self.size)
            start = crop_for_landmarks(points, self.size, DEFAULT_CAMERA) if rng.uniform() < 0.5 else exact
            crop = jittered(start, rng)
            inputs.append(crop_input(self.images[self.labels.photo[face]], points, crop, self.mask))
            alignments.append(crop.alignment_to(exact))
        return np.stack(inputs), self.labels.parameters[faces], np.array(alignments, np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, required=True, help="folder of face photos")
    parser.add_argument("--out", type=Path, required=True, help="labels file (.npz)")
    parser.add_argument("--checkpoint", type=Path, help="the network the fit starts from (default: the shipped one)")
    parser.add_argument("--fit", choices=["full", "fast"], default="full",
                        help="the teacher: the full fit, or the fast one (the network's own pose, shape and expression "
                             "with the closed-form light and albedo: a teacher of the appearance alone)")  # fmt: skip
    args = parser.parse_args(argv)
    labels = label_photos(args.images, Reconstructor.load(checkpoint=args.checkpoint, fit_mode=args.fit))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    labels.save(args.out)
    print(f"{len(labels.parameters)} faces from {len(labels.photos)} photos -> {args.out}")


if __name__ == "__main__":
    main()
