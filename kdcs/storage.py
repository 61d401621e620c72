"""Writing to disks that fill up or refuse writes: check the space first, allocate up front, name the failure.

A memory-mapped file that grows past the free space does not raise: the first write to a page
the file system cannot back kills the process with SIGBUS (a bus error, exit 135, no message).
So arrays written through memory maps are allocated with posix_fallocate first (`allocate_npy`),
which turns a full disk into an OSError(ENOSPC) before any data is written, and jobs that know
what they will write check the free space before they start (`check_free_space`).

`StorageError` is the one-sentence error of this module; `write_failure` turns an OSError of a
full, read-only or forbidden folder into one, naming the place and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

WRITE_FAILURES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file would be larger than the file system allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}
HEADER_BYTES = 4096  # a .npy header, rounded up to a page


class StorageError(Exception):
    """A folder cannot take what a job writes (full, read-only, forbidden); the message says where."""


def is_write_failure(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in WRITE_FAILURES


def write_failure(error: OSError, where: Path | str, advice: str = "") -> StorageError:
    """One sentence: `cannot write <where>: <reason>; <advice>` (reason from the errno)."""
    reason = WRITE_FAILURES.get(error.errno or 0, error.strerror or str(error))
    return StorageError(f"cannot write {where}: {reason}" + (f"; {advice}" if advice else ""))


def os_error_sentence(error: OSError) -> str:
    """`<file>: <reason>` for an OSError no layer turned into a sentence of its own."""
    reason = WRITE_FAILURES.get(error.errno or 0, error.strerror or str(error))
    where = error.filename if error.filename is not None else "a file"
    return f"{where}: {reason}" + (f" ({error.filename2})" if error.filename2 is not None else "")


def existing_ancestor(path: Path) -> Path:
    """`path` itself, or its nearest parent that exists (where a new file would land)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def missing_folders(path: Path) -> list[Path]:
    """The folders `path.mkdir(parents=True)` would create, deepest first."""
    path, missing = Path(path).absolute(), []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def remove_empty_folders(folders: Iterable[Path]) -> None:
    """Remove each folder that is (still) empty, deepest first; others are left as they are."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty, gone already, or not ours to remove
            pass


def array_bytes(shape: tuple[int, ...], dtype: str | np.dtype) -> int:
    """Bytes of one .npy file holding an array of `shape` and `dtype` (header included)."""
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize + HEADER_BYTES


def check_writable(folder: Path, what: str) -> Path:
    """Raise StorageError when `folder` (or the parent it would be created in) is read-only or
    forbidden; returns that existing folder."""
    landing = existing_ancestor(folder)
    if os.statvfs(landing).f_flag & os.ST_RDONLY:
        raise StorageError(f"cannot write {what} in {folder}: the file system there is read-only")
    if not os.access(landing, os.W_OK | os.X_OK):
        raise StorageError(f"cannot write {what} in {folder}: permission denied on {landing}")
    return landing


def check_free_space(folder: Path, needed_bytes: int, what: str, advice: str) -> None:
    """Raise StorageError when `folder` cannot be written (`check_writable`) or its file system
    has less than `needed_bytes` free."""
    free = shutil.disk_usage(check_writable(folder, what)).free
    if needed_bytes > free:
        raise StorageError(
            f"{what} needs {needed_bytes / 1e6:.1f} MB in {folder}, but only {free / 1e6:.1f} MB are free "
            f"there; {advice}"
        )


def allocate_npy(path: Path, dtype: str | np.dtype, shape: tuple[int, ...]) -> None:
    """Create a .npy file of `shape` whose blocks are all allocated, ready for mmap_mode="r+" writes.

    Raises OSError(ENOSPC) here, not SIGBUS later, when the disk cannot hold it.
    """
    np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape).flush()
    with open(path, "r+b") as handle:  # libc's posix_fallocate writes the blocks where the FS cannot
        os.posix_fallocate(handle.fileno(), 0, os.path.getsize(path))
