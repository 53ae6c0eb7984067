"""Typed, versioned JSON records that travel through Redis. Never pickle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from reelgraph.errors import ReelgraphError

SCHEMA_VERSION = 1
R = TypeVar("R", bound="Record")


class RecordError(ReelgraphError):
    """A record is not valid JSON of the expected schema."""


class ExplainMethod(StrEnum):
    """Attribution methods (Captum names). Declared in the order of the API's
    ``reelgraph.v1.ExplainMethod`` numbers: member i is number i + 1."""

    INTEGRATED_GRADIENTS = "IntegratedGradients"
    SALIENCY = "Saliency"
    INPUT_X_GRADIENT = "InputXGradient"
    GUIDED_BACKPROP = "GuidedBackprop"
    DECONVOLUTION = "Deconvolution"


class JobStatus(StrEnum):
    """Lifecycle of an explanation job."""

    QUEUED = "queued"
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """No more events follow."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class EventKind(StrEnum):
    """What a job event says."""

    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Record:
    """Base: JSON with a ``schema_version`` field checked on read."""

    def to_json(self) -> str:
        """Compact, key-sorted JSON."""
        return json.dumps({"schema_version": SCHEMA_VERSION, **asdict(self)}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls: type[R], raw: str | bytes) -> R:
        """Parse; raises ``RecordError`` naming the record type on any mismatch."""
        try:
            doc = json.loads(raw)
            version = doc.pop("schema_version", None)
            if version != SCHEMA_VERSION:
                raise RecordError(f"{cls.__name__}: schema_version {version!r}, expected {SCHEMA_VERSION}")
            return cls(**doc)
        except RecordError:
            raise
        except (ValueError, TypeError, AttributeError) as exc:
            raise RecordError(f"{cls.__name__}: invalid record: {exc}") from exc


@dataclass(frozen=True)
class ExplainRequest(Record):
    """What to explain, with the bundle version pinned at submit time.

    Attributes:
        model, version: bundle name and version.
        user_id, movie_id: MovieLens ids.
        method: an ``ExplainMethod`` value (default IntegratedGradients).
        n_steps: IG integration steps (default 50).
        top_k: how many users, movies and ratings to report (default 10).
        want_plots: also render the two PNGs (default False).
    """

    model: str
    version: str
    user_id: int
    movie_id: int
    method: str = "IntegratedGradients"
    n_steps: int = 50
    top_k: int = 10
    want_plots: bool = False

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: identical requests share one job."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()


@dataclass(frozen=True)
class JobEvent(Record):
    """One entry of a job's event stream."""

    kind: str
    fraction: float = 0.0
    reason: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class Influence:
    """A user, movie or rating with its signed attribution."""

    kind: str  # "user" | "movie" | "rating"
    user_id: int = 0
    movie_id: int = 0
    title: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class ExplanationResult(Record):
    """What a finished explanation returns.

    Attributes:
        probability: the model's P(user rates movie).
        logit: its logit; ``attribution_total`` ≈ logit − baseline logit for IG.
        top_users, top_movies, top_ratings: most influential, by |score|.
        features: attribution per movie feature (genres, year) summed over the subgraph.
        subgraph_edges: (user_id, movie_id, score) of ratings above the threshold.
        fidelity_plus, fidelity_minus: change in probability when the top-k ratings
            are deleted / when only they are kept; the ``random_*`` twins do the
            same for k random ratings of the subgraph.
        pngs: name → base64 PNG when plots were asked for.
    """

    probability: float
    logit: float
    attribution_total: float
    top_users: list[dict[str, Any]] = field(default_factory=list)
    top_movies: list[dict[str, Any]] = field(default_factory=list)
    top_ratings: list[dict[str, Any]] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    subgraph_edges: list[list[float]] = field(default_factory=list)
    fidelity_plus: float = 0.0
    fidelity_minus: float = 0.0
    random_fidelity_plus: float = 0.0
    random_fidelity_minus: float = 0.0
    seconds: float = 0.0
    pngs: dict[str, str] = field(default_factory=dict)
