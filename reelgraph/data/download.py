"""Optional download of a named MovieLens dataset, verified by a pinned sha256.

This is the only place reelgraph talks to the internet. Offline, it raises a
``DataError`` telling the user to pass a directory instead.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from reelgraph.errors import DataError

GROUPLENS_BASE = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class Archive:
    """A published dataset archive (``<name>.zip`` on GroupLens) and the checksum it must match."""

    name: str
    sha256: str


# Pinned checksums, as recorded by TensorFlow Datasets for the official archives.
ARCHIVES = {
    a.name: a
    for a in (
        Archive("ml-latest-small", "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"),
        Archive("ml-100k", "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
        Archive("ml-1m", "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
    )
}


def fetch_dataset(name: str, cache_dir: Path, *, base_url: str = GROUPLENS_BASE, timeout_s: float = 30.0) -> Path:
    """Return ``cache_dir/name``, downloading and verifying it when absent.

    Args:
        name: one of ``ARCHIVES`` (``ml-latest-small``, ``ml-100k``, ``ml-1m``).
        cache_dir: where archives are extracted; created when missing.
        base_url: where ``<name>.zip`` lives (tests point it at a local file).
        timeout_s: network timeout in seconds (default 30).

    Raises:
        DataError: unknown name, download failure (offline) or checksum mismatch.
    """
    if name not in ARCHIVES:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(ARCHIVES))}")
    archive = ARCHIVES[name]
    target = cache_dir / name
    if (target / ".verified").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        zip_name = f"{archive.name}.zip"
        zip_path = Path(tmp) / zip_name
        _download(base_url + zip_name, zip_path, timeout_s)
        _verify(zip_path, archive.sha256)
        _extract(zip_path, Path(tmp) / "x", name)
        staged = Path(tmp) / "x" / name
        (staged / ".verified").write_text(archive.sha256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)  # same filesystem: atomic
    return target


def _download(url: str, dest: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, dest.open("wb") as out:
            shutil.copyfileobj(resp, out)
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"could not download {url}: {exc}. If this machine is offline, download and extract "
            "the dataset elsewhere and pass its directory with --data DIR (or REELGRAPH_DATA_DIR)"
        ) from exc


def _verify(path: Path, expected: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise DataError(f"{path.name}: sha256 {digest} does not match the pinned {expected}; refusing it")


def _extract(zip_path: Path, dest: Path, name: str) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        for member in zf.namelist():
            # Refuse absolute paths and '..' so an archive cannot write outside dest.
            if member.startswith("/") or ".." in Path(member).parts:
                raise DataError(f"{zip_path.name}: unsafe path in archive: {member}")
        zf.extractall(dest)
    if not (dest / name).is_dir():
        raise DataError(f"{zip_path.name}: archive has no top-level {name}/ directory")
