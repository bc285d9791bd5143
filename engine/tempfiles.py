"""Temporary files beside an output, created with the permissions a plain `open(path, "w")` would give.

tempfile.mkstemp creates files readable by their owner only (0600); renamed onto the destination, a restored photo
or a report would then be unreadable to the user's group and to other programs (a web server, a shared drive)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def temp_beside(path: Path, prefix: str, suffix: str = "") -> tuple[int, str]:
    """(fd, name) of a new, empty file in path's folder; mode 0666 less the umask, like any new file."""
    folder = Path(path).parent
    for _ in range(100):
        name = str(folder / f"{prefix}{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")
