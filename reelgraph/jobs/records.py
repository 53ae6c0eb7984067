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
    """Attribution methods (Captum names; ``reelgraph.protocol`` maps the API's numbers)."""

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
        return json.dumps({"schema_version": SCHEMA_VERSION, **self._to_doc()}, sort_keys=True, separators=(",", ":"))

    def _to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def _from_doc(cls: type[R], doc: dict[str, Any]) -> R:
        return cls(**doc)

    @classmethod
    def from_json(cls: type[R], raw: str | bytes) -> R:
        """Parse; raises ``RecordError`` naming the record type on any mismatch."""
        try:
            doc = json.loads(raw)
            version = doc.pop("schema_version", None)
            if version != SCHEMA_VERSION:
                raise RecordError(f"{cls.__name__}: schema_version {version!r}, expected {SCHEMA_VERSION}")
            return cls._from_doc(doc)
        except RecordError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise RecordError(f"{cls.__name__}: invalid record: {exc}") from exc


@dataclass(frozen=True)
class ExplainRequest(Record):
    """What to explain, with the bundle version pinned at submit time.

    Attributes:
        model, version: bundle name and version.
        user_id, movie_id: MovieLens ids.
        method: an ``ExplainMethod`` (its value in JSON; the worker refuses any other string).
        n_steps: IG integration steps (default 50).
        top_k: how many users, movies and ratings to report (default 10).
        want_plots: also render the two PNGs (default False).
    """

    model: str
    version: str
    user_id: int
    movie_id: int
    method: str = ExplainMethod.INTEGRATED_GRADIENTS
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
class UserInfluence:
    """A user of the subgraph with the signed attribution of its inputs."""

    user_id: int
    score: float


@dataclass(frozen=True)
class MovieInfluence:
    """A movie of the subgraph with the signed attribution of its inputs."""

    movie_id: int
    title: str
    score: float


@dataclass(frozen=True)
class RatingInfluence:
    """A rating (user→movie edge, both directions summed) with its signed attribution.

    In ``ExplanationResult.subgraph_edges`` it is stored as ``[user_id, movie_id, score]``.
    """

    user_id: int
    movie_id: int
    score: float


@dataclass(frozen=True)
class ExplanationResult(Record):
    """What a finished explanation returns.

    Attributes:
        probability: the model's P(user rates movie).
        logit: its logit; ``attribution_total`` ≈ logit − baseline logit for IG.
        top_users, top_movies, top_ratings: most influential, by |score|.
        features: attribution per movie feature (genres, year) summed over the subgraph.
        subgraph_edges: ratings above the threshold (JSON: ``[user_id, movie_id, score]`` lists).
        fidelity_plus, fidelity_minus: change in probability when the top-k ratings
            are deleted / when only they are kept; the ``random_*`` twins do the
            same for k random ratings of the subgraph.
        pngs: name → base64 PNG when plots were asked for.
    """

    probability: float
    logit: float
    attribution_total: float
    top_users: list[UserInfluence] = field(default_factory=list)
    top_movies: list[MovieInfluence] = field(default_factory=list)
    top_ratings: list[RatingInfluence] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    subgraph_edges: list[RatingInfluence] = field(default_factory=list)
    fidelity_plus: float = 0.0
    fidelity_minus: float = 0.0
    random_fidelity_plus: float = 0.0
    random_fidelity_minus: float = 0.0
    seconds: float = 0.0
    pngs: dict[str, str] = field(default_factory=dict)

    def _to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["subgraph_edges"] = [[e.user_id, e.movie_id, e.score] for e in self.subgraph_edges]
        return doc

    @classmethod
    def _from_doc(cls, doc: dict[str, Any]) -> ExplanationResult:
        """Typed influences from their JSON objects; ids written as floats by older versions become ints."""
        return cls(
            **{
                **doc,
                "top_users": [UserInfluence(int(i["user_id"]), float(i["score"])) for i in doc.get("top_users", [])],
                "top_movies": [
                    MovieInfluence(int(i["movie_id"]), str(i["title"]), float(i["score"]))
                    for i in doc.get("top_movies", [])
                ],
                "top_ratings": [
                    RatingInfluence(int(i["user_id"]), int(i["movie_id"]), float(i["score"]))
                    for i in doc.get("top_ratings", [])
                ],
                "subgraph_edges": [
                    RatingInfluence(int(u), int(m), float(score)) for u, m, score in doc.get("subgraph_edges", [])
                ],
            }
        )
