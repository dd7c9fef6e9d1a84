"""How many requests the app serves at once, and each one's share of the cores (light: app.py reads it before its
heavy imports)."""

from __future__ import annotations

import os

CONCURRENCY = 2
"""Requests processed at once by default (``python app.py --concurrency``): one per core of a 2-core machine."""


def network_threads(concurrency: int) -> int:
    """ONNX Runtime's threads per request: the cores shared among the requests that run at once."""
    return max(1, (os.cpu_count() or 1) // concurrency)
