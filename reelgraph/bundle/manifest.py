"""The bundle manifest: what a bundle holds and how to check it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from reelgraph.errors import BundleError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
WEIGHTS = "weights.safetensors"
GRAPH = "graph.safetensors"


@dataclass(frozen=True)
class ModelEntry:
    """One trained model inside a bundle.

    Attributes:
        config: constructor arguments of the model (sizes, dropout).
        hyperparameters: how it was trained (epochs, lr, seed, …).
        metrics: evaluation results, each named with its protocol.
    """

    config: dict[str, Any]
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]


@dataclass(frozen=True)
class Manifest:
    """Everything about a bundle except the tensors.

    ``files`` maps every other file of the bundle to its sha256; the loader
    refuses a bundle whose files do not match, and ``manifest.sha256`` covers
    the manifest's own bytes.
    """

    name: str
    version: str
    created_at: str
    data: dict[str, Any]
    models: dict[str, ModelEntry]
    libraries: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        """Canonical UTF-8 JSON (sorted keys, 2-space indent)."""
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Manifest:
        """Parse and validate; ``where`` names the file in errors."""
        try:
            doc = json.loads(raw)
            if doc.get("schema_version") != SCHEMA_VERSION:
                raise BundleError(
                    f"{where}: schema_version {doc.get('schema_version')!r} is not supported "
                    f"(this reelgraph reads {SCHEMA_VERSION})"
                )
            models = {k: ModelEntry(**v) for k, v in doc.pop("models").items()}
            return cls(models=models, **doc)
        except BundleError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BundleError(f"{where}: not a valid manifest: {exc}") from exc
