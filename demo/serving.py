"""How many requests the app serves at once, and each one's share of the cores (light: app.py reads it before its
heavy imports)."""

from __future__ import annotations

from inversefacenet.machine import usable_cores

CONCURRENCY = 2
"""Requests processed at once by default (``python app.py --concurrency``): one per core of a 2-core machine."""


def network_threads(concurrency: int) -> int:
    """ONNX Runtime's threads for the app's one network session, which ``concurrency`` requests share: the usable
    cores over the requests that run at once (so a lone request also runs on that share)."""
    if concurrency < 1:
        raise ValueError(f"the app must process at least 1 request at once, got {concurrency}")
    return max(1, usable_cores() // concurrency)
