"""A content fingerprint of the input files, stored in every bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20  # 1 MiB reads keep memory flat on multi-GB files


def sha256_file(path: Path) -> str:
    """Hex sha256 of one file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_files(root: Path, names: Iterable[str]) -> str:
    """sha256 over ``name\\0sha256(file)\\n`` for each file, sorted by name.

    Renaming the directory does not change it; changing any byte does.
    """
    digest = hashlib.sha256()
    for name in sorted(set(names)):
        digest.update(f"{name}\0{sha256_file(root / name)}\n".encode())
    return digest.hexdigest()
