"""Read positions that survive restarts, keyed by file identity, not by name.

A file is identified by its device and inode plus a fingerprint of its first
bytes: the inode follows the file through a rename (rotation), and the
fingerprint tells a reused inode, or a file rewritten in place, from the file we
read before. The store writes a checkpoint only after every line before its
offset was processed, so a crash repeats nothing and loses nothing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

__all__ = ["FINGERPRINT_BYTES", "Checkpoint", "FileKey", "fingerprint", "same_file"]

FINGERPRINT_BYTES = 1024
FileKey = tuple[int, int]  # (st_dev, st_ino)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where to resume reading one file."""

    dev: int
    ino: int
    fingerprint: str
    fp_len: int
    source: str
    path: str
    offset: int
    line_number: int

    @property
    def key(self) -> FileKey:
        return (self.dev, self.ino)


def fingerprint(fd: int, length: int = FINGERPRINT_BYTES) -> tuple[str, int]:
    """Hash of the first ``length`` bytes of an open file (fewer if it is shorter).

    Returns the hex digest and how many bytes it covers, so that a file that was
    shorter than ``length`` when first seen can still be compared later.
    """
    head = os.pread(fd, length, 0)
    return hashlib.blake2b(head, digest_size=16).hexdigest(), len(head)


def same_file(fd: int, fp: str, fp_len: int) -> bool:
    """Whether the open file still starts with the bytes that ``fp`` was taken of."""
    if fp_len == 0:
        return True
    head = os.pread(fd, fp_len, 0)
    return len(head) == fp_len and hashlib.blake2b(head, digest_size=16).hexdigest() == fp
