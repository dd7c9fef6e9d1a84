"""Tilted faces read upright.

The corpus draws the head's roll (its turn about the camera's axis) from U(-15, 15) degrees, the paper's range, so
the network has never seen a head tilted further and misreads one: a face tilted about 35 degrees in a group photo
came out with one eye shut and its mouth in the wrong place, and the fit could not recover from that start. A turn
about the camera's axis is a turn of the image, so a face tilted beyond the range is read in an upright copy of its
surroundings, and what is read there is turned back: the head's rotation composed with the roll, the light turned
with the scene, and the crop put by the rule on the turned-back model landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from inversefacenet.facemodel.model import MESH_POINTS
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import EYES
from inversefacenet.render.camera import rotation_matrix
from inversefacenet.render.sh import rotate_sh

ROLL_LIMIT_DEG = 20.0
"""Faces turned further than this are read upright. The corpus draws the roll from U(-15, 15) degrees
(``training.corpus.CorpusDistribution.roll_deg``); the eyes' line of a face turned sideways or up or down tilts
with that turn too, by up to about 5 degrees on the realistic row's faces, where reading those upright did not help."""
MESH_UPSIDE_DOWN_DEG = 120.0
"""Faces turned further than this are read as they are: on the realistic row's renders, MediaPipe put 4 of 185 meshes
upside down on faces that were upright in the photo (turned away 20-40 degrees, lit dimly)."""
WINDOW = 2.5
"""Side of the upright copy relative to the larger side of the face's landmark box: room for the crop (1.25 x the
box, turned) and the shifts the network's crop alignment and the fit make."""
WINDOW_MAX_PX = 1024
"""Largest side (px) of the upright copy: the network reads 128 px and the fit 128 px of it (the photo texture is
taken from the photo itself)."""


def face_roll(landmarks: np.ndarray) -> float:
    """Radians the face in the photo is turned counter-clockwise: the line between its eyes' centres (the means of
    their contours in its (478, 2+) points)."""
    right, left = (landmarks[eye, :2].mean(axis=0) for eye in EYES)
    return math.atan2(-(left[1] - right[1]), left[0] - right[0])  # y down: up the photo is -y


def is_tilted(landmarks: np.ndarray) -> bool:
    """Whether a face given by its (478, 2+) points is read upright (beyond the network's roll, short of upside
    down)."""
    return ROLL_LIMIT_DEG < abs(math.degrees(face_roll(landmarks))) <= MESH_UPSIDE_DOWN_DEG


@dataclass(frozen=True)
class Upright:
    """An upright copy of a tilted face's surroundings: window px = matrix @ (photo px, 1)."""

    matrix: np.ndarray  # (2, 3)
    size: int
    roll: float  # radians: the face's counter-clockwise turn in the photo, which the copy undoes

    @classmethod
    def of(cls, landmarks: np.ndarray) -> Upright:
        """The copy around a face given by its (478, 2+) points in photo pixels."""
        points = landmarks[:MESH_POINTS, :2].astype(np.float64)
        centre = (points.min(axis=0) + points.max(axis=0)) / 2
        side = WINDOW * np.ptp(points, axis=0).max()
        size = int(min(WINDOW_MAX_PX, math.ceil(side)))
        roll = face_roll(landmarks)
        # cv2's positive angle turns the image counter-clockwise as shown: -roll stands the face up
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), -math.degrees(roll), size / side)
        matrix[:, 2] += size / 2 - centre
        return cls(matrix, size, roll)

    def image(self, photo: np.ndarray) -> np.ndarray:
        """(size, size, 3) the upright copy of an (H, W, 3) photo (black outside it); a face bigger than the copy is
        area-averaged down first, as :func:`inversefacenet.preprocess.crop_image` does, not aliased."""
        linear, shift = self.matrix[:, :2], self.matrix[:, 2]
        factor = int(1 / np.abs(np.linalg.det(linear)) ** 0.5)
        if factor > 1:
            shape = (photo.shape[1] // factor, photo.shape[0] // factor)
            small = cv2.resize(photo, shape, interpolation=cv2.INTER_AREA)
            linear = linear * (np.array(photo.shape[1::-1]) / small.shape[1::-1])  # small px -> photo px, per axis
            photo = small
        pixels = np.column_stack([linear, shift + linear.sum(axis=1) / 2 - 0.5])  # cv2 puts pixel centres at integers
        return cv2.warpAffine(photo, pixels, (self.size, self.size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))

    def to_window(self, points: np.ndarray) -> np.ndarray:
        """(N, 2+) photo px -> window px (further columns, e.g. depth, stay)."""
        return _mapped(points, self.matrix)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        """(N, 2+) window px -> photo px."""
        return _mapped(points, cv2.invertAffineTransform(self.matrix))

    def turned_back(self, params: FaceParameters) -> FaceParameters:
        """Parameters (numpy) read in the copy -> the face as the photo shows it: the head and the light turned by
        the roll about the camera's axis. R = Rz(roll) Ry(yaw) Rx(pitch), so the turn adds to the roll alone."""
        rotation = params.rotation.copy()
        rotation[:, 2] = np.remainder(rotation[:, 2] + self.roll + np.pi, 2 * np.pi) - np.pi
        turn = rotation_matrix(np.array([[0.0, 0.0, self.roll]]))[0]  # about the camera's axis
        return replace(params, rotation=rotation, sh=rotate_sh(params.sh, turn))


def _mapped(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    out = np.array(points, dtype=np.float64, copy=True)
    out[:, :2] = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return out.astype(points.dtype)
