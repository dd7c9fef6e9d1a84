"""What of the machine this process may use (light: read before any heavy import)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask, which containers and ``taskset`` narrow (the host's
    ``os.cpu_count()`` may be far more)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1
