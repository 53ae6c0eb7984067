"""Typed, versioned JSON records that travel through Redis. Never pickle.

Each record type has its own ``schema_version`` (``Record.SCHEMA``) and the
older versions it still reads (``Record.READS``): a new result format does not
make queued requests unreadable, and records written by an older version parse
with the new fields at their defaults.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from reelgraph.errors import ReelgraphError

R = TypeVar("R", bound="Record")


class RecordError(ReelgraphError):
    """A record is not valid JSON of the expected schema."""


class ExplainMethod(StrEnum):
    """Explanation methods (``reelgraph.protocol`` maps the API's numbers).

    ``RANKING`` (the default) explains the ranking model exactly
    (``reelgraph.reasons``); the others are Captum attribution methods on the
    link GNN's computation subgraph.
    """

    RANKING = "Ranking"
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
    """Base: JSON with a ``schema_version`` field checked on read (``SCHEMA`` written, ``READS`` accepted)."""

    SCHEMA: ClassVar[int] = 1
    READS: ClassVar[frozenset[int]] = frozenset({1})

    def to_json(self) -> str:
        """Compact, key-sorted JSON."""
        return json.dumps({"schema_version": self.SCHEMA, **self._to_doc()}, sort_keys=True, separators=(",", ":"))

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
            if version not in cls.READS:
                expected = ", ".join(map(str, sorted(cls.READS)))
                raise RecordError(f"{cls.__name__}: schema_version {version!r}, expected one of {expected}")
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
        method: an ``ExplainMethod`` (its value in JSON; the worker refuses any other string;
            default ``Ranking``).
        n_steps: IG integration steps (default 50; unused by ``Ranking``).
        top_k: how many items each returned list holds at most (default 10; the API allows 1..100).
        want_plots: also render the two PNGs (default False).
        offset: skip this many items of each list first: the next page (default 0).
        global_users, global_sample: a global explanation over these stored users, or a
            seeded sample of that many (default none: one pair); ``user_id``/``movie_id`` unused.
        global_recommendations: each user's top-k recommendations explained (default 10).
        global_genre: only recommendations with this genre (default "": any).
        kind: ``link`` (default: why the movie is recommended) or ``rating`` (why the rating
            model predicts these stars; ``reelgraph.rating_reasons``).
        history_movie_ids, history_stars: a user given by their ratings instead of ``user_id``
            (used when ``has_history``; an empty history is allowed).

    Version 2 added ``offset``, the global fields and the ``Ranking`` default; version 3
    ``kind`` and the history. Older records still parse.
    """

    SCHEMA: ClassVar[int] = 3
    READS: ClassVar[frozenset[int]] = frozenset({1, 2, 3})

    model: str
    version: str
    user_id: int
    movie_id: int
    method: str = ExplainMethod.RANKING
    n_steps: int = 50
    top_k: int = 10
    want_plots: bool = False
    offset: int = 0
    global_users: list[int] = field(default_factory=list)
    global_sample: int = 0
    global_recommendations: int = 10
    global_genre: str = ""
    kind: str = "link"
    has_history: bool = False
    history_movie_ids: list[int] = field(default_factory=list)
    history_stars: list[float] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        """A global explanation (many recommendations), not one pair."""
        return bool(self.global_users) or self.global_sample > 0

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
class RatedMovie:
    """One of the user's own ratings and its exact signed share of the logit (logit units)."""

    movie_id: int
    title: str
    stars: float
    score: float


@dataclass(frozen=True)
class ChainInfluence:
    """A chain "your rating → rated movie → co-rated target" over the learned edge ``B[i, target]``.

    Attributes:
        movie_id, title, stars: the user's rating that starts the chain.
        input_weight: ``w(r_i)``, the rating's weight in the user's row.
        edge_weight: ``B[i, target]`` (raw score units).
        score: ``a·w(r_i)·B[i, target]``, the chain's exact share of the logit.
        co_raters: stored users (the explained user excluded) who rated both movies.
        co_raters_mean_stars: their mean stars for the target (0 when none).
    """

    movie_id: int
    title: str
    stars: float
    input_weight: float
    edge_weight: float
    score: float
    co_raters: int
    co_raters_mean_stars: float


@dataclass(frozen=True)
class CoRaterInfluence:
    """A stored user who rated the target and named movies (``reelgraph.reasons.CoRater``)."""

    user_id: int
    movie_ids: list[int]
    target_stars: float
    score: float


@dataclass(frozen=True)
class DeletionChecks:
    """Checks of the named ratings, re-scored through the fold-in path (in the score's unit).

    Attributes:
        k: how many ratings were named (and removed at random).
        deletion_drop: the score's drop when the named ratings are removed.
        random_drop: the mean drop when k random ratings of the user are removed.
        random_draws: how many random draws ``random_drop`` averages.
        sufficiency: the score with only the named ratings.
    """

    k: int = 0
    deletion_drop: float = 0.0
    random_drop: float = 0.0
    random_draws: int = 0
    sufficiency: float = 0.0


@dataclass(frozen=True)
class LogitFidelity(DeletionChecks):
    """``DeletionChecks`` on the ranking logit; ``full_logit`` is the whole history's."""

    full_logit: float = 0.0


@dataclass(frozen=True)
class StarFidelity(DeletionChecks):
    """``DeletionChecks`` of a rating prediction in raw stars; ``full_stars`` is the whole history's."""

    full_stars: float = 0.0


@dataclass(frozen=True)
class RatingExplanation:
    """Why the rating model predicts these stars (``reelgraph.reasons.RatingReasons``).

    Attributes:
        stars: the served prediction (0.5–5); raw_stars: the unclipped one the shares are measured on.
        lowered_by: the ratings with the most negative leave-one-out shares (``lowered_by_total`` in all).
        fidelity: the named ratings' checks in stars.
        co_raters, co_raters_mean_stars: stored users who rated the target and a named movie.
        shares_total: every rating's share summed.
    """

    stars: float = 0.0
    raw_stars: float = 0.0
    lowered_by: list[RatedMovie] = field(default_factory=list)
    lowered_by_total: int = 0
    fidelity: StarFidelity = field(default_factory=StarFidelity)
    co_raters: int = 0
    co_raters_mean_stars: float = 0.0
    shares_total: float = 0.0

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> RatingExplanation | None:
        """From its JSON object (None stays None)."""
        if doc is None:
            return None
        lowered = [RatedMovie(**i) for i in doc.get("lowered_by", [])]
        return cls(**{**doc, "lowered_by": lowered, "fidelity": StarFidelity(**doc.get("fidelity", {}))})


@dataclass(frozen=True)
class Driver:
    """One driver of many recommendations: a rated movie, a genre or a decade.

    Attributes:
        name: title, genre or decade ("1990s").
        movie_id: the movie (movies only; 0 otherwise).
        share: summed share of the logit over the pairs where it is named.
        count: pairs where it is named (recommended genres: recommendations).
    """

    name: str
    movie_id: int
    share: float
    count: int


@dataclass(frozen=True)
class GlobalSummary:
    """What drives many recommendations (the named ratings' shares, summed); means are per pair.

    ``co_rater_groups``: taste groups of the co-raters behind the named chains, by their summed
    apportioned shares (``worker.global_summary``; count: pairs the group appears in).
    """

    users: int = 0
    pairs: int = 0
    movies: list[Driver] = field(default_factory=list)
    genres: list[Driver] = field(default_factory=list)
    years: list[Driver] = field(default_factory=list)
    recommended_genres: list[Driver] = field(default_factory=list)
    mean_rated: float = 0.0
    mean_popularity: float = 0.0
    mean_bias: float = 0.0
    mean_deletion_drop: float = 0.0
    mean_random_drop: float = 0.0
    co_rater_groups: list[Driver] = field(default_factory=list)

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> GlobalSummary | None:
        """From its JSON object (None stays None)."""
        if doc is None:
            return None
        lists = ("movies", "genres", "years", "recommended_genres", "co_rater_groups")
        return cls(**{**doc, **{k: [Driver(**d) for d in doc.get(k, [])] for k in lists}})


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
            same for k random ratings of the subgraph (Captum methods only: a
            saturated probability hides every change; see ``logit_fidelity``).
        pngs: name → base64 PNG when plots were asked for.
        method: the ``ExplainMethod`` value that produced it.
        title: the target movie's title.
        because_you_rated: the user's ratings with the largest positive shares, strongest first.
        because_you_rated_total: how many ratings have a positive share (page with ``offset``).
        chains, co_raters: the named ratings' chains and the people behind them (``co_raters_total`` in all).
        content: the model's content term (0 for ``Ranking``: it has none); genre_shares:
            per genre of the target, the shares of rated movies with that genre.
        popularity, bias, rated_total: the logit's other parts (``logit = rated_total + popularity + bias``).
        sentence: one plain sentence a UI can show.
        logit_fidelity: deletion / random deletion / sufficiency on the logit.
        offset: how many items of each list this page skipped.
        global_summary: for a global explanation, what drives the recommendations overall.
        kind: what was explained (``link``, or ``rating``: then ``rating`` is set and
            ``because_you_rated`` scores are leave-one-out shares in stars).
        rating: for a rating prediction, its stars, the ratings that lower them and the checks.
        top_users_total, top_movies_total, top_ratings_total: how many a Captum method attributed.

    Lists hold at most the request's ``top_k`` items. Version 2 added every field from
    ``method`` on, version 3 those from ``kind`` on; older records still parse with them empty.
    """

    SCHEMA: ClassVar[int] = 3
    READS: ClassVar[frozenset[int]] = frozenset({1, 2, 3})

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
    method: str = ""
    title: str = ""
    because_you_rated: list[RatedMovie] = field(default_factory=list)
    because_you_rated_total: int = 0
    chains: list[ChainInfluence] = field(default_factory=list)
    co_raters: list[CoRaterInfluence] = field(default_factory=list)
    co_raters_total: int = 0
    content: float = 0.0
    genre_shares: dict[str, float] = field(default_factory=dict)
    popularity: float = 0.0
    bias: float = 0.0
    rated_total: float = 0.0
    sentence: str = ""
    logit_fidelity: LogitFidelity = field(default_factory=LogitFidelity)
    offset: int = 0
    global_summary: GlobalSummary | None = None
    kind: str = "link"
    rating: RatingExplanation | None = None
    top_users_total: int = 0
    top_movies_total: int = 0
    top_ratings_total: int = 0

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
                "because_you_rated": [RatedMovie(**i) for i in doc.get("because_you_rated", [])],
                "chains": [ChainInfluence(**i) for i in doc.get("chains", [])],
                "co_raters": [CoRaterInfluence(**i) for i in doc.get("co_raters", [])],
                "logit_fidelity": LogitFidelity(**doc.get("logit_fidelity", {})),
                "global_summary": GlobalSummary.from_doc(doc.get("global_summary")),
                "rating": RatingExplanation.from_doc(doc.get("rating")),
            }
        )
