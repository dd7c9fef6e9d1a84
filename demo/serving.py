"""How many requests the app serves at once, each one's share of the cores, and where the sessions' files lie (light:
app.py reads it before its heavy imports)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from inversefacenet.machine import usable_cores

CONCURRENCY = 2
"""Requests processed at once by default (``python app.py --concurrency``): one per core of a 2-core machine."""
SESSION_TTL_S = 3600
"""A browser session's faces and files are dropped this long (s) after its last use."""


def network_threads(concurrency: int) -> int:
    """ONNX Runtime's threads for the app's one network session, which ``concurrency`` requests share: the usable
    cores over the requests that run at once (so a lone request also runs on that share)."""
    if concurrency < 1:
        raise ValueError(f"the app must process at least 1 request at once, got {concurrency}")
    return max(1, usable_cores() // concurrency)


def session_folder(kind: str) -> Path:
    """A new folder for one session's files (3D views, downloads, recordings), inside :func:`process_folder`: a
    session's ``close()`` removes its folder when Gradio expires it, but a server stopped before then left them
    behind (225 folders, 2 GB, in /tmp of one test machine)."""
    return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=process_folder()))


def gradio_cache_in_process_folder() -> None:
    """Gradio's cache (uploads, previews, downloads) in :func:`process_folder`, unless ``GRADIO_TEMP_DIR`` is set:
    call before Gradio is imported. After a stop, Gradio's own /tmp/gradio kept every preview of every session (the
    users' relit photos)."""
    os.environ.setdefault("GRADIO_TEMP_DIR", str(process_folder() / "gradio"))


@cache
def process_folder() -> Path:
    """This process's own temporary folder, made on first use and removed when the process exits normally (the app
    turns SIGTERM into a normal exit)."""
    folder = Path(tempfile.mkdtemp(prefix="inversefacenet-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
