"""What the app tells its users when an input cannot be used: plain words, without the server's folders."""

from __future__ import annotations

from pathlib import Path

import gradio as gr


def user_error(message: str) -> gr.Error:
    """A message for the user in plain words: shown in the page, not logged as a fault with its traceback."""
    return gr.Error(message, print_exception=False)


def without_folders(message: str, upload: str) -> str:
    """``message`` about the uploaded file at ``upload`` without the server's folder Gradio saved it in."""
    return message.replace(str(Path(upload).parent) + "/", "")
