"""Files written whole or not at all.

Each file is written under a hidden temporary name beside it and then renamed over the old one, which POSIX and
Windows do in one step. So a Ctrl-C, a full disk or a failed encoder never leaves a truncated face.glb where the
last good one was, and a reader (a web server handing an earlier version of the file to a browser, while the
next slider move writes it again) sees the old file or the new one, never a mix.

Renaming has its own rules: the new file keeps the old one's permissions (a private 0600 file stays private),
a read-only file is refused as a plain write would refuse it, and a symbolic link at ``path`` is replaced by the
file rather than written through (nothing here writes through links).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STEM_KEPT = 32
"""Characters of the file's stem kept in the temporary name: a name near the file system's 255-byte limit would
not fit with the temporary's ten more."""


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
    still do. An OSError names ``path``, not the temporary (a user is told which file could not be written)."""
    path = Path(path)
    try:
        mode = _mode_for(path)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:STEM_KEPT]}.", suffix=path.suffix)
    except OSError as error:  # no such folder, or not one it can write in: its message names the file
        error.filename = str(path)
        raise
    temporary = Path(name)
    try:
        os.close(handle)
        yield temporary
        with contextlib.suppress(OSError):  # FAT or SMB mounts refuse a mode change; a plain open() makes none
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        if error.errno is not None and (error.filename is None or str(error.filename) == str(temporary)):
            error.filename, error.filename2 = str(path), None  # os.replace names both ends
        raise
    finally:
        temporary.unlink(missing_ok=True)


def write_whole(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all; returns the path."""
    with replacing(path) as temporary:
        temporary.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


def _mode_for(path: Path) -> int:
    """The permissions the new file gets: the old file's, else what a plain open() would give. PermissionError for
    a read-only file, as writing to it would raise."""
    try:
        old = path.stat(follow_symlinks=False)
    except FileNotFoundError:
        return 0o666 & ~UMASK
    if stat.S_ISREG(old.st_mode) and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    return stat.S_IMODE(old.st_mode) if stat.S_ISREG(old.st_mode) else 0o666 & ~UMASK
