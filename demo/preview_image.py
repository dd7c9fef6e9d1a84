"""The result panels' image component. Gradio writes a typing stub (preview_image.pyi, git-ignored) next to any
component subclass; keeping the subclass alone here keeps that stub small."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np
from gradio.processing_utils import save_pil_to_cache
from PIL import Image


class PreviewImage(gr.Image):
    """``gr.Image`` whose download is named after the panel (its ``elem_id``: ``relit.jpeg``, ``albedo.jpeg``).
    Gradio names every image array it is handed ``image.jpeg``, so one user's downloads of several panels were
    numbered copies of one name. The name comes from ``elem_id`` because Gradio rebuilds a component from its
    constructor's arguments when an event updates it, which would drop an attribute of our own."""

    is_template = True  # render with the stock image component in the browser

    def postprocess(self, value: Any) -> Any:
        """A (H, W, 3) uint8 array is written to Gradio's cache as ``<elem_id>.<format>``, then shown as that file."""
        if isinstance(value, np.ndarray) and value.dtype == np.uint8:  # other arrays: Gradio's own conversion
            value = save_pil_to_cache(Image.fromarray(value), self.GRADIO_CACHE, name=self.elem_id or "image",
                                      format=self.format)  # fmt: skip
        return super().postprocess(value)
