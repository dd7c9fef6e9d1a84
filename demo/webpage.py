"""Serve the built browser page (``webassets/dist``) with the headers its threads need.

    python -m demo.webpage [--port 8000]      # after `make web`; then open http://127.0.0.1:8000/

onnxruntime-web runs multi-threaded only in a cross-origin isolated page, so every response
carries COOP/COEP. The Gradio app mounts the same folder at /web/ with the same headers
(:func:`mount`).
"""

from __future__ import annotations

import argparse
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DIST = Path(__file__).resolve().parent.parent / "webassets" / "dist"
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


class IsolatedHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def start(folder: Path = DIST, port: int = 0) -> ThreadingHTTPServer:
    """Serve ``folder`` on 127.0.0.1 in a background thread; ``server.server_address[1]`` is the port."""
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"{folder} has no index.html: build the page with `make web`")
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(IsolatedHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Isolated:
    """An ASGI app that adds the isolation headers to every response of the app it wraps.

    It wraps only the page's static files: an ``@app.middleware("http")`` wrapped every request of the server,
    Gradio's event streams included, and logged "RuntimeError: No response returned" whenever a browser left.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def send_isolated(message: dict) -> None:
            if message["type"] == "http.response.start":
                extra = [(name.lower().encode(), value.encode()) for name, value in ISOLATION_HEADERS.items()]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_isolated)


def mount(app: Any, path: str = "/web") -> bool:
    """Serve the built page under ``path`` of a FastAPI app, cross-origin isolated. False if not built."""
    if not (DIST / "index.html").is_file():
        return False
    from starlette.staticfiles import StaticFiles

    app.mount(path, Isolated(StaticFiles(directory=DIST, html=True)), name="webpage")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = start(port=args.port)
    print(f"serving {DIST} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    threading.Event().wait()


if __name__ == "__main__":
    main()
