"""Atomic bundle writes: temp dir, fsync, rename, then swap the LATEST pointer."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file

from reelgraph.bundle.graph import BundleGraph
from reelgraph.bundle.manifest import GRAPH, MANIFEST, MANIFEST_SUM, WEIGHTS, Manifest
from reelgraph.errors import BundleError

LATEST = "LATEST"


def write_bundle(
    root: Path,
    manifest: Manifest,
    weights: Mapping[str, torch.Tensor],
    graph: BundleGraph | Mapping[str, torch.Tensor],
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a new version of ``manifest.name`` under ``root`` and point LATEST at it.

    The version is the next integer after the highest existing one; the
    ``version`` field of ``manifest`` is filled in here. Readers never see a
    partial bundle: everything is written and fsynced in a hidden temporary
    directory that is renamed into place in one step.

    ``graph`` is a ``BundleGraph`` or its flat tensors (``BundleGraph.to_tensors``).
    Returns the path of the new version directory.
    """
    if isinstance(graph, BundleGraph):
        graph = graph.to_tensors()
    parent = root / manifest.name
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        files = {WEIGHTS: _save_tensors(tmp / WEIGHTS, weights), GRAPH: _save_tensors(tmp / GRAPH, graph)}
        for name, blob in (extra_files or {}).items():
            files[name] = _write_synced(tmp / name, blob)
        final = _publish(parent, tmp, manifest, files)
    except BaseException:
        _remove_tree(tmp)
        raise
    _point_latest(parent, final.name)
    return final


def _publish(parent: Path, tmp: Path, manifest: Manifest, files: dict[str, str]) -> Path:
    for _ in range(100):  # another trainer may take the same number concurrently
        version = str(_next_version(parent))
        done = dataclasses.replace(manifest, version=version, files=files)
        raw = done.to_json()
        _write_synced(tmp / MANIFEST, raw)
        _write_synced(tmp / MANIFEST_SUM, (hashlib.sha256(raw).hexdigest() + "\n").encode())
        _fsync_dir(tmp)
        final = parent / version
        try:
            tmp.rename(final)  # fails if the version exists (non-empty directory)
        except OSError:
            continue
        _fsync_dir(parent)
        return final
    raise BundleError(f"{parent}: could not allocate a new version")


def versions(parent: Path) -> list[int]:
    """Existing integer versions under a bundle name directory, ascending."""
    if not parent.is_dir():
        return []
    return sorted(int(p.name) for p in parent.iterdir() if p.is_dir() and p.name.isdigit())


def _next_version(parent: Path) -> int:
    existing = versions(parent)
    return existing[-1] + 1 if existing else 1


def _point_latest(parent: Path, version: str) -> None:
    tmp = parent / f".{LATEST}.{uuid.uuid4().hex}"
    _write_synced(tmp, (version + "\n").encode())
    os.replace(tmp, parent / LATEST)
    _fsync_dir(parent)


def _save_tensors(path: Path, tensors: Mapping[str, torch.Tensor]) -> str:
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path))
    return _fsync_and_hash(path)


def _write_synced(path: Path, blob: bytes) -> str:
    with path.open("wb") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    return hashlib.sha256(blob).hexdigest()


def _fsync_and_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb+") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
        os.fsync(fh.fileno())
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for child in path.iterdir():
        child.unlink()
    path.rmdir()
