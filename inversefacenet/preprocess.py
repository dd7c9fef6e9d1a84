"""Crop and mask a face for the network and the fit (paper sections 3 and 6.1).

The crop is the square box around the 468 MediaPipe mesh points, made 1.25x larger
(:func:`inversefacenet.render.camera.crop_transform`, the same rule the renderer uses for the
synthetic corpus), resized to the input size. The mask keeps the face oval and removes the
mouth interior and the eyes, from the same landmarks; synthetic images get theirs from the projected
landmark vertices through the same function, so training and photo crops agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inversefacenet.facemodel.model import MESH_POINTS
from inversefacenet.render.camera import DEFAULT_CAMERA, Camera, crop_transform

FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]  # fmt: skip
"""MediaPipe indices around the face, in order."""
INNER_LIPS = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
"""MediaPipe indices of the inner lip contour, in order (the mouth interior)."""
EYES = [
    [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
    [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
]
"""MediaPipe indices of the two eye openings, in order. The model's eyes are too crude to
compare with real ones (gaze, iris size, eyelashes), so the mask leaves them out too."""
OUTER_EYE_CORNERS = (33, 263)
"""MediaPipe indices of the outer eye corners, the face's right one first (the inter-ocular distance that
normalises landmark distances, :func:`eye_distance`)."""
ALIGNMENT_SIZE = 3
"""Outputs of a network with crop alignment after its parameters: (dx, dy, log scale), :meth:`Crop.alignment_to`."""


@dataclass(frozen=True)
class Crop:
    """A square crop of a photo: crop pixel = scale * photo pixel + offset (continuous coords)."""

    scale: float
    offset: tuple[float, float]
    size: int

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        return points * self.scale + np.asarray(self.offset)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        return (points - np.asarray(self.offset)) / self.scale

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the crop in photo pixels."""
        (x0, y0), (x1, y1) = self.to_photo(np.array([[0.0, 0.0], [self.size, self.size]]))
        return float(x0), float(y0), float(x1), float(y1)

    def resized(self, size: int) -> Crop:
        """The same square of the photo sampled at ``size`` pixels."""
        factor = size / self.size
        return Crop(self.scale * factor, (self.offset[0] * factor, self.offset[1] * factor), size)

    def alignment_to(self, target: Crop) -> np.ndarray:
        """(3,) where ``target`` lies in this crop: its centre's shift from this crop's centre (dx, dy, in
        units of the crop's side) and log(target scale / this scale). What a network with crop alignment
        predicts: where the crop rule would have put the crop given the model's own landmarks."""
        centre = self.to_crop(target.to_photo(np.full(2, target.size / 2)))
        return np.array([*(centre / self.size - 0.5), np.log(target.scale / self.scale)])

    def aligned(self, alignment: np.ndarray) -> Crop:
        """The crop that ``alignment`` (3,) from :meth:`alignment_to` points to, at this crop's size."""
        scale = self.scale * float(np.exp(alignment[2]))
        centre = self.to_photo((np.asarray(alignment[:2]) + 0.5) * self.size)
        return Crop(scale, (self.size / 2 - scale * centre[0], self.size / 2 - scale * centre[1]), self.size)


def eye_distance(landmarks: np.ndarray) -> float:
    """Distance between the outer eye corners of (>=468, 2+) MediaPipe points, in their units: what landmark
    distances are divided by to compare faces of any size."""
    right, left = (landmarks[k, :2] for k in OUTER_EYE_CORNERS)
    return float(np.linalg.norm(right - left))


def crop_for_landmarks(landmarks: np.ndarray, size: int, camera: Camera = DEFAULT_CAMERA) -> Crop:
    """The crop of the paper's rule for (478 or 468, 2+) landmarks in photo pixels."""
    scale, offset = crop_transform(landmarks[None, :MESH_POINTS, :2].astype(np.float64), size, camera)
    return Crop(float(scale[0]), (float(offset[0, 0]), float(offset[0, 1])), size)


def crop_image(image: np.ndarray, crop: Crop) -> np.ndarray:
    """Resample an (H, W, 3) uint8 photo into the (size, size, 3) crop (zeros outside the photo).

    Downscaling averages areas (no aliasing on big photos), over the part of the photo the crop
    covers only (a face in a big photo or video frame is a small part of it); upscaling is bilinear.
    """
    s, (ox, oy) = crop.scale, crop.offset
    if s < 1:
        factor = max(1, int(1 / s))
        margin = 2 * factor  # what the area average and the bilinear warp read beyond the crop's edge
        x0, y0, x1, y1 = crop.box
        left, top = max(int(x0) - margin, 0), max(int(y0) - margin, 0)
        right, bottom = min(int(x1) + margin + 1, image.shape[1]), min(int(y1) + margin + 1, image.shape[0])
        if right - left < factor or bottom - top < factor:
            return np.zeros((crop.size, crop.size, 3), np.uint8)
        # area-average the covered part down to about the right scale first, then a mild exact warp
        part = image[top:bottom, left:right]
        small = cv2.resize(part, (part.shape[1] // factor, part.shape[0] // factor), interpolation=cv2.INTER_AREA)
        fx, fy = part.shape[1] / small.shape[1], part.shape[0] / small.shape[0]
        ox, oy = ox + s * left, oy + s * top  # the offset of the part's own pixel grid
        matrix = np.array([[s * fx, 0, ox + 0.5 * s * fx - 0.5], [0, s * fy, oy + 0.5 * s * fy - 0.5]])
        image = small
    else:
        # OpenCV maps integer pixel centres: crop_int = s * photo_int + (0.5 s + offset - 0.5)
        matrix = np.array([[s, 0, ox + 0.5 * s - 0.5], [0, s, oy + 0.5 * s - 0.5]])
    return cv2.warpAffine(image, matrix, (crop.size, crop.size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))


def face_mask(landmarks_crop: np.ndarray, size: int, convex: bool = False) -> np.ndarray:
    """(size, size) bool: inside the face oval, outside the mouth and eyes; landmarks in crop pixels. ``convex``: inside
    the oval's convex hull (the face model's own point 58 lies inside its jaw, near the mouth's corner, where
    MediaPipe's lies on the outline: the oval drawn from the model's points has a notch there)."""
    mask = np.zeros((size, size), np.uint8)
    shift = 4  # sub-pixel polygon vertices
    to_int = (landmarks_crop[:, :2] * (1 << shift) - 0.5 * (1 << shift)).round().astype(np.int32)
    outline = cv2.convexHull(to_int[FACE_OVAL]) if convex else to_int[FACE_OVAL]
    cv2.fillPoly(mask, [outline], 1, lineType=cv2.LINE_8, shift=shift)
    cv2.fillPoly(mask, [to_int[INNER_LIPS], *(to_int[eye] for eye in EYES)], 0, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)


INPUT_MASKS = ("face", "none", "split", "soft")
"""How a network's input is masked (``NetworkConfig.input_mask``): "face" keeps the face oval without eyes and
mouth (the paper's rule: its outline is drawn from the landmarks, so it tells the network the face's outline as
the landmarks see it), "none" keeps the whole crop (the outline then comes from the photo itself), "split" keeps
the whole crop and adds the face mask as a 4th channel (the network gets both; see ``networks.split_channels``),
"soft" the same with the mask blurred (:func:`soft_mask`): where the face is, not the outline MediaPipe drew."""
MASK_CHANNEL_RULES = ("split", "soft")
"""The rules that hand the network the mask as a 4th channel."""
INPUT_CHANNELS = {"face": 3, "none": 3, "split": 4, "soft": 4}
"""Channels of a network's input under each rule of ``INPUT_MASKS``."""
SOFT_MASK_SIGMA = 1 / 16
"""The "soft" rule's Gaussian blur in units of the crop's side (8 px at 128): wider than most of MediaPipe's
outline offsets from the model's (median 3 %, 90th percentile 9 % of the landmark box), so the mask's edge no
longer draws the jaw and cheek contour the network would read shape from."""


def input_mask(landmarks_crop: np.ndarray, size: int, rule: str) -> np.ndarray:
    """(size, size) bool: the mask a network with mask ``rule`` (one of ``INPUT_MASKS``) is given."""
    if rule not in INPUT_MASKS:
        raise ValueError(f"unknown input mask {rule!r}: expected one of {INPUT_MASKS}")
    return np.ones((size, size), bool) if rule == "none" else face_mask(landmarks_crop, size)


def masked_colours(colours: np.ndarray, mask: np.ndarray, rule: str = "face") -> np.ndarray:
    """(..., S, S, 3) colours in [-0.5, 0.5] and their (..., S, S) bool mask -> the network's input under ``rule``:
    (..., S, S, 3) colours, 0 outside the mask; or for "split" and "soft" (..., S, S, 4) the colours and the mask."""
    if rule in MASK_CHANNEL_RULES:
        channel = soft_mask(mask) if rule == "soft" else mask
        return np.concatenate([colours, channel[..., None]], axis=-1).astype(np.float32)
    return (colours * mask[..., None]).astype(np.float32)


def soft_mask(mask: np.ndarray) -> np.ndarray:
    """(..., S, S) bool -> (..., S, S) float32 in [0, 1], blurred by ``SOFT_MASK_SIGMA`` of S (0 beyond the crop)."""
    flat = mask.reshape(-1, *mask.shape[-2:]).astype(np.float32)
    sigma = SOFT_MASK_SIGMA * mask.shape[-1]
    blurred = [cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT) for m in flat]
    return np.stack(blurred).reshape(mask.shape)


def network_input(crop: np.ndarray, mask: np.ndarray, rule: str = "face") -> np.ndarray:
    """(size, size, 3) uint8 crop and bool mask -> float32 network input under ``rule`` (:func:`masked_colours`)."""
    return masked_colours(crop.astype(np.float32) / 255 - 0.5, mask, rule)


def face_input(
    image: np.ndarray, landmarks: np.ndarray, size: int, camera: Camera = DEFAULT_CAMERA, mask: str = "face"
) -> np.ndarray:
    """The network input of one face: (H, W, 3) uint8 photo and its (478, 2+) landmarks in photo
    pixels -> (size, size, 3) float32, cropped by the paper's rule at ``camera.crop_scale`` and masked
    by ``mask`` (a checkpoint's ``config.camera`` and ``config.input_mask``: the rule its network was trained with)."""
    return crop_input(image, landmarks, crop_for_landmarks(landmarks, size, camera), mask)


def crop_input(image: np.ndarray, landmarks: np.ndarray, crop: Crop, mask: str = "face") -> np.ndarray:
    """The network input of one face in a given ``crop`` (e.g. one a network pointed to): the photo resampled
    there, masked by ``mask`` (:func:`input_mask`) of the face's (478, 2+) landmarks -> (crop.size, crop.size, 3)."""
    return network_input(crop_image(image, crop), input_mask(crop.to_crop(landmarks[:, :2]), crop.size, mask), mask)
