"""Where the person is in a photo: MediaPipe's selfie segmentation, so that relighting a face also relights the
hair, ears and neck around it and leaves the background as shot."""

from __future__ import annotations

import cv2
import numpy as np

MARGIN = 0.008
"""The mask is shrunk by this part of the photo's larger side: the model reads 256 x 256, and its edge, enlarged,
lies a few pixels outside the hair and the neck, where a relit background glowed beside them."""


class PersonMasks:
    """MediaPipe's selfie segmentation graph, for one caller at a time (a graph keeps per-run state): a video stream
    keeps one of its own. ``model`` 0 is the general model (256 x 256 input), 1 the landscape one (256 x 144, video)."""

    def __init__(self, model: int = 0) -> None:
        from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

        self._graph = SelfieSegmentation(model_selection=model)

    def __call__(self, photo: np.ndarray) -> np.ndarray:
        """(H, W) float32 in [0, 1]: how surely each pixel of an (H, W, 3) uint8 RGB photo shows a person, shrunk to
        stay inside the person's outline (:data:`MARGIN`); all 0 where the model sees nobody (it can miss a person,
        e.g. in one old black-and-white photo)."""
        mask = self._graph.process(np.ascontiguousarray(photo)).segmentation_mask
        radius = max(round(MARGIN * max(photo.shape[:2])), 1)
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        return cv2.erode(np.clip(mask, 0.0, 1.0).astype(np.float32), disc)

    def close(self) -> None:
        self._graph.close()


def person_mask(photo: np.ndarray) -> np.ndarray:
    """:class:`PersonMasks` with a graph of its own, for one photo: about 10-20 ms for a portrait."""
    masks = PersonMasks()
    try:
        return masks(photo)
    finally:
        masks.close()
