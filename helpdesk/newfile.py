"""Creating a new file with given bytes under a name nobody has: plain, DB-free, any process may use it.

``helpdesk.services.store_new_file`` writes with it.
"""

from __future__ import annotations

import os

__all__ = ["write_new_file"]


def write_new_file(path: str, data: bytes, *, file_mode: int | None = None, directory_mode: int | None = None
                   ) -> None:
    """Create ``path`` (never an existing file: ``O_EXCL``) holding ``data``; its directory if needed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:  # the first file in its directory
        os.makedirs(os.path.dirname(path), mode=directory_mode or 0o777, exist_ok=True)
        fd = os.open(path, flags, 0o666)
    try:
        written = os.write(fd, data)
        if written < len(data):  # a short write (rare): write the rest
            view = memoryview(data)
            while written < len(data):
                written += os.write(fd, view[written:])
    finally:
        os.close(fd)
    if file_mode is not None:
        os.chmod(path, file_mode)
