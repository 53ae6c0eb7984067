"""GroupLens download: verified against a pinned sha256 (local files only, never the internet)."""

from __future__ import annotations

import hashlib
import socket
import zipfile
from pathlib import Path

import pytest

from reelgraph.data import download
from reelgraph.data.download import Archive, fetch_dataset
from reelgraph.errors import DataError
from tests.movielens_fixtures import make_tiny, write_csv_layout


def _zip_dataset(tmp_path: Path, name: str) -> tuple[str, str]:
    """A zip of a tiny dataset under ``name/``; returns (base URL, sha256)."""
    src = write_csv_layout(tmp_path / "src" / name, make_tiny())
    served = tmp_path / "served"
    served.mkdir()
    archive = served / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f"{name}/{f.name}")
    return served.as_uri() + "/", hashlib.sha256(archive.read_bytes()).hexdigest()


def test_download_verifies_and_extracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, digest = _zip_dataset(tmp_path, "ml-latest-small")
    monkeypatch.setitem(download.ARCHIVES, "ml-latest-small", Archive("ml-latest-small", digest))
    target = fetch_dataset("ml-latest-small", tmp_path / "cache", base_url=base)
    assert (target / "ratings.csv").is_file()
    # second call uses the verified cache even if the source is gone
    (tmp_path / "served" / "ml-latest-small.zip").unlink()
    assert fetch_dataset("ml-latest-small", tmp_path / "cache", base_url=base) == target


def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    base, _ = _zip_dataset(tmp_path, "ml-latest-small")  # real pinned sum will not match
    with pytest.raises(DataError, match="does not match the pinned"):
        fetch_dataset("ml-latest-small", tmp_path / "cache", base_url=base)
    assert not (tmp_path / "cache" / "ml-latest-small").exists()
    assert list((tmp_path / "cache").iterdir()) == []  # no temp leftovers


def test_offline_says_to_pass_a_directory(tmp_path: Path) -> None:
    with socket.socket() as s:  # a local port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match="pass its directory with --data"):
        fetch_dataset("ml-100k", tmp_path / "cache", base_url=f"http://127.0.0.1:{port}/", timeout_s=2)


def test_unknown_dataset_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset 'ml-7'"):
        fetch_dataset("ml-7", tmp_path)
