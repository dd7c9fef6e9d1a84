"""InverseFaceNet's Gradio app (Hugging Face Space entry point): ``python app.py [--port 7860]``.

Loads the shipped face model and network once (read-only, shared by all sessions), then
serves the UI from ``demo.ui`` at / and, when it has been built (``make web-build``), the
browser-only page at /web/. Nothing is downloaded: analytics are off and the theme uses
system fonts. Uses CUDA for the network when there is a GPU, and OpenGL (pyrender) for the
previews when a context can be made (``--preview``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path

from demo.serving import CONCURRENCY, gradio_cache_in_process_folder, network_threads
from inversefacenet.native_logs import native_logs_silenced

_IMPORTED = time.perf_counter()

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SHUTDOWN_S = 5
"""Seconds a stopping server waits for open connections (each open page keeps one): uvicorn's default waits for
them all, so a SIGTERM with a page open hung until the process was killed, leaving the users' files behind."""


def seconds_since_process_start() -> float:
    """Wall time since this process was started (the interpreter's own start-up included), from /proc on Linux;
    elsewhere since Python imported this module."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])  # field 22: start time
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


def limit_malloc_arenas(count: int = 2) -> None:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would, unless that is set): each of the server's worker
    threads otherwise gets its own arena, which keeps the memory of large freed images, and the RSS of a busy
    server kept growing from round to round of the load test (``benchmarks/app.py``) without a leak."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, count)  # M_ARENA_MAX in glibc's malloc.h
    except (OSError, AttributeError):  # not glibc: nothing to cap
        pass


def exit_normally_on_sigterm() -> None:
    """SIGTERM (what ``docker stop`` and Spaces send) made a normal exit, which removes the process's folder of
    users' files (``demo.serving.process_folder``): a trial found them left. uvicorn hands the signal on to this
    handler once it has shut down."""
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--fit", choices=["fast", "full", "none"], default="full",
                        help="refinement after the network (none: the network alone)")  # fmt: skip
    parser.add_argument("--preview", choices=["auto", "pyrender", "numba"], default="auto",
                        help="preview renderer: pyrender (OpenGL, anti-aliased) or the project's numba rasterizer; "
                             "auto and pyrender fall back to numba when no OpenGL context works")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="requests processed at once (one per core)")  # fmt: skip
    parser.add_argument("--verbose", action="store_true",
                        help="keep MediaPipe's own log lines (a line per upload otherwise)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error(f"--concurrency must be at least 1, got {args.concurrency}")
    with contextlib.nullcontext() if args.verbose else native_logs_silenced():  # before logging takes sys.stderr
        serve(args)


def serve(args: argparse.Namespace) -> None:
    """Loads the face model and network, builds the app and serves it until stopped."""
    limit_malloc_arenas()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    gradio_cache_in_process_folder()
    exit_normally_on_sigterm()

    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from demo import webpage
    from demo.ui import MAX_UPLOAD_MB, STYLE, build_app
    from demo.views import use_preview
    from inversefacenet.pipeline import Reconstructor

    previews = use_preview(args.preview)

    reconstructor = Reconstructor.load(fit_mode=None if args.fit == "none" else args.fit,
                                       threads=network_threads(args.concurrency))  # fmt: skip
    blocks = build_app(reconstructor)
    blocks.queue(default_concurrency_limit=args.concurrency)
    server = FastAPI()
    has_page = webpage.mount(server)  # before the Gradio app, which takes every other path
    server = gr.mount_gradio_app(server, blocks, path="/", max_file_size=f"{MAX_UPLOAD_MB}mb", **STYLE,
                                 ssr_mode=False, show_error=True, footer_links=[])  # fmt: skip
    url = f"http://{args.host}:{args.port}/"
    page = f"; browser-only page at {url}web/" if has_page else " (browser-only page not built: make web-build)"
    ready = f"previews: {previews}; ready in {seconds_since_process_start():.1f} s since the process started"
    print(f"InverseFaceNet: {reconstructor.description}; {ready}", flush=True)
    print(f"Running on local URL: {url}{page}", flush=True)
    uvicorn.run(server, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_S)


if __name__ == "__main__":
    main()
