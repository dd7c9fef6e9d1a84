"""Where the person is in a photo: MediaPipe's selfie segmentation, so that relighting a face also relights the
hair, ears and neck around it and leaves the background as shot."""

from __future__ import annotations

import numpy as np


def person_mask(photo: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: how surely each pixel of an (H, W, 3) uint8 RGB photo shows a person. A graph of
    its own per call (MediaPipe graphs keep per-run state; a photo needs one run): about 10-20 ms for a portrait."""
    from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

    with SelfieSegmentation(model_selection=0) as segmenter:  # the general model (256 x 256 input)
        mask = segmenter.process(np.ascontiguousarray(photo)).segmentation_mask
    return np.clip(mask, 0.0, 1.0).astype(np.float32)
