"""The photo upload component. Gradio writes a typing stub (photo_input.pyi, git-ignored) next to
any component subclass; keeping the subclass alone here keeps that stub small."""

from __future__ import annotations

from typing import Any

import gradio as gr


class PhotoInput(gr.Image):
    """``gr.Image`` that hands the uploaded file to the project's decoder untouched.

    Gradio's own decoding fails with a generic message on non-images and drops what
    ``load_image`` handles (16-bit, CMYK, size limits); ours raises a clear ``InputError``.
    """

    is_template = True  # render with the stock image component in the browser

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else payload.path
