"""Files written whole or not at all.

Each file is written under a hidden temporary name beside it and then renamed over the old one, which POSIX and
Windows do in one step. So a Ctrl-C, a full disk or a failed encoder never leaves a truncated face.glb where the
last good one was, and a reader (a web server handing an earlier version of the file to a browser, while the
next slider move writes it again) sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _read_umask() -> int:
    """The process's file-creation mask (os.umask can only be read by setting it: done once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; on leaving the block it replaces ``path`` (or is deleted
    if the block raised). The temporary name keeps the ending, so writers that pick the format by it (PIL, trimesh)
    still do."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~UMASK)  # mkstemp makes it private; a plain open() would not
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_whole(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all; returns the path."""
    with replacing(path) as temporary:
        temporary.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)
