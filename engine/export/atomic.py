"""Output safety: never write over the input, never leave a partial file at the destination, and turn OS
errors (full disk, read-only folder) into one-line OutputErrors."""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import OutputError
from ..media.image_io import check_readable


def check_input(src: Path) -> None:
    check_readable(Path(src))


def check_not_input(src: Path, dst: Path) -> None:
    """Refuse an output that is the input itself (same path, or the same file reached another way)."""
    if src.resolve() == dst.resolve():
        raise OutputError(f"{dst}: output would overwrite the input")
    if dst.exists():
        with contextlib.suppress(OSError):
            if os.path.samefile(src, dst):
                raise OutputError(f"{dst}: output is the same file as the input")


def check_output_folder(dst: Path) -> None:
    folder = dst.parent
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder; give a file name")
    if not folder.is_dir():
        raise OutputError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: output folder is not writable")


def output_error(exc: OSError, path: Path) -> OutputError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"{path}: disk full while writing the output")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: permission denied")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


def fsync_file(path: Path) -> None:
    """Flush a finished file to disk so a kill or power loss after the rename cannot leave it truncated."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, dst: Path) -> None:
    """Move a finished temp file onto the destination in one step."""
    try:
        fsync_file(tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        remove_quietly(tmp)
        raise output_error(exc, dst) from None


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
