"""InverseFaceNet's Gradio app (Hugging Face Space entry point): ``python app.py [--port 7860]``.

Loads the shipped face model and network once (read-only, shared by all sessions), then
serves the UI from ``demo.ui``. Nothing is downloaded: analytics are off and the theme uses
system fonts. Uses CUDA for the network when there is a GPU.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

MAX_UPLOAD = "50mb"
"""Largest photo the server accepts; the decoder also refuses more than 40 megapixels."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--fit", choices=["fast", "full", "none"], default="full",
                        help="refinement after the network (none: the network alone)")  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=2, help="requests processed at once (one per core)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    start = time.perf_counter()
    from demo.ui import THEME, build_app
    from inversefacenet.pipeline import Reconstructor

    reconstructor = Reconstructor.load(fit_mode=None if args.fit == "none" else args.fit)
    app = build_app(reconstructor)
    app.queue(default_concurrency_limit=args.concurrency)
    print(f"InverseFaceNet: {reconstructor.description}; ready in {time.perf_counter() - start:.1f} s", flush=True)
    app.launch(server_name=args.host, server_port=args.port, max_file_size=MAX_UPLOAD, theme=THEME,
               ssr_mode=False, show_error=True, footer_links=[])  # fmt: skip


if __name__ == "__main__":
    main()
