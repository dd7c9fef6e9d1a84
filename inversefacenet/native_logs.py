"""MediaPipe's native log lines kept off the terminal (the command line's and the app's)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[None]:
    """MediaPipe's C++ side (absl, TensorFlow Lite) writes start-up warnings that mean nothing to a user straight to
    file descriptor 2, past Python. Point that descriptor at /dev/null for the block; Python's own messages (errors,
    progress) keep the terminal through a copy of it. Where ``sys.stderr`` is not descriptor 2 (captured, redirected
    in Python), it is left as it is; without a descriptor 2 at all, nothing changes."""
    try:
        terminal = os.dup(2)
    except OSError:  # no descriptor 2 (a daemon's): nothing to silence
        yield
        return
    try:
        sys.stderr.flush()
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # no stream, or one without a descriptor
        python_on_fd2 = False
    devnull, python_stderr = os.open(os.devnull, os.O_WRONLY), sys.stderr
    if python_on_fd2:
        sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)
        if python_on_fd2:
            sys.stderr.close()  # flushes: it writes to its own copy of the terminal
            sys.stderr = python_stderr
