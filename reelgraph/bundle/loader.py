"""Verified bundle loading: every byte is checked before anything is used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from reelgraph.bundle.graph import BundleGraph
from reelgraph.bundle.manifest import GRAPH, MANIFEST, MANIFEST_SUM, WEIGHTS, Manifest
from reelgraph.bundle.writer import LATEST
from reelgraph.data.fingerprint import sha256_file
from reelgraph.errors import BundleError


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified bundle version.

    Attributes:
        path: the version directory.
        manifest: its parsed manifest.
        weights: model tensors, keys prefixed by model kind (``link.…``).
        graph: the serving graph (id maps, edges, features, titles), parsed and checked.
    """

    path: Path
    manifest: Manifest
    weights: dict[str, torch.Tensor]
    graph: BundleGraph

    def model_weights(self, kind: str) -> dict[str, torch.Tensor]:
        """The state dict of one model (``weights`` keys ``<kind>.<param>``, prefix removed)."""
        prefix = kind + "."
        return {k[len(prefix) :]: v for k, v in self.weights.items() if k.startswith(prefix)}

    def file(self, name: str) -> bytes:
        """Bytes of another verified file of the bundle (e.g. a plot)."""
        if name not in self.manifest.files:
            raise BundleError(f"{self.path}: no file {name!r} in this bundle")
        return (self.path / name).read_bytes()


def bundle_names(root: Path) -> list[str]:
    """Names of the bundles under ``root`` (directories with a LATEST pointer), sorted; [] if none."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / LATEST).is_file())


def resolve_version(path: Path | str) -> Path:
    """A version directory, or the version its LATEST pointer names.

    Accepts ``BUNDLES/<name>/<version>`` or ``BUNDLES/<name>`` (meaning latest).
    """
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    latest = path / LATEST
    if latest.is_file():
        version = latest.read_text().strip()
        if not version or not (path / version).is_dir():
            raise BundleError(f"{latest}: points at missing version {version!r}")
        return path / version
    if not path.exists():
        raise BundleError(f"{path}: no such bundle")
    raise BundleError(f"{path}: neither a bundle version (no {MANIFEST}) nor a bundle name (no {LATEST})")


def load_bundle(path: Path | str) -> Bundle:
    """Load and verify a bundle; raises ``BundleError`` naming the bad file."""
    version_dir = resolve_version(path)
    manifest = read_manifest(version_dir)
    for name, expected in sorted(manifest.files.items()):
        file = version_dir / name
        if not file.is_file():
            raise BundleError(f"{file}: missing (listed in the manifest)")
        if sha256_file(file) != expected:
            raise BundleError(f"{file}: checksum mismatch; the bundle is corrupt or was modified")
    for required in (WEIGHTS, GRAPH):
        if required not in manifest.files:
            raise BundleError(f"{version_dir / MANIFEST}: does not list {required}")
    graph = BundleGraph.from_tensors(_load(version_dir / GRAPH), str(version_dir / GRAPH))
    return Bundle(version_dir, manifest, _load(version_dir / WEIGHTS), graph)


def read_manifest(version_dir: Path) -> Manifest:
    """Parse the manifest after checking ``manifest.sha256``."""
    path, sum_path = version_dir / MANIFEST, version_dir / MANIFEST_SUM
    for required in (path, sum_path):
        if not required.is_file():
            raise BundleError(f"{required}: missing; the bundle is incomplete")
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != sum_path.read_text().strip():
        raise BundleError(f"{path}: checksum mismatch with {MANIFEST_SUM}; the manifest was modified")
    return Manifest.from_json(raw, str(path))


def _load(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable: {exc}") from exc
