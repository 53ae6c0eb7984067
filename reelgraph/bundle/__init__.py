"""Versioned, checksummed model bundles (safetensors + JSON manifest)."""

from reelgraph.bundle.graph import BundleGraph, MovieGCNGraph
from reelgraph.bundle.loader import Bundle, load_bundle, resolve_version
from reelgraph.bundle.manifest import SCHEMA_VERSION, Manifest, ModelEntry
from reelgraph.bundle.writer import write_bundle

__all__ = [
    "SCHEMA_VERSION",
    "Bundle",
    "BundleGraph",
    "Manifest",
    "ModelEntry",
    "MovieGCNGraph",
    "load_bundle",
    "resolve_version",
    "write_bundle",
]
