"""MediaPipe's native log lines kept off the terminal (the command line's and the app's)."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_logs_silenced() -> Iterator[None]:
    """MediaPipe's C++ side (absl, TensorFlow Lite) writes start-up warnings that mean nothing to a user straight to
    file descriptor 2, past Python. Point that descriptor at /dev/null for the block; Python's own messages (errors,
    progress, logging) keep the terminal through a copy of it, which stays open after the block for the log handlers
    made meanwhile, and a crash's traceback goes there too (faulthandler: the interpreter's own fatal errors would go
    to descriptor 2). Where ``sys.stderr`` is not descriptor 2 (captured, redirected in Python), it is left as it
    is; without a descriptor 2 at all, nothing changes."""
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
    devnull, python_stderr, faults_shown = os.open(os.devnull, os.O_WRONLY), sys.stderr, faulthandler.is_enabled()
    if python_on_fd2:
        sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding,
                               errors=python_stderr.errors)  # fmt: skip
        faulthandler.enable(sys.stderr, all_threads=True)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)
        if python_on_fd2:
            sys.stderr.flush()
            sys.stderr = python_stderr
            if faults_shown:
                faulthandler.enable(python_stderr, all_threads=True)
            else:
                faulthandler.disable()
