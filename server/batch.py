"""Batch scoring with per-item status. Pure numpy; no grpc here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from reelgraph.errors import TooManyItemsError
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from reelgraph.tensors import FieldViolation, InvalidRequestError

# PairStatus values of reelgraph.v1 (0 = scored).
OK, UNKNOWN_USER, UNKNOWN_MOVIE = 0, 1, 2


@dataclass(frozen=True)
class BatchScores:
    """Scores aligned with the request; NaN where ``status`` is non-zero."""

    name: str
    version: str
    link_probability: np.ndarray | None
    rating: np.ndarray | None
    status: np.ndarray

    @property
    def invalid_count(self) -> int:
        """Positions that were not scored."""
        return int(np.count_nonzero(self.status))


def score_batch(
    scorer: Scorer, user_ids: np.ndarray, movie_ids: np.ndarray, kinds: Iterable[ModelKind], max_pairs: int
) -> BatchScores:
    """Score every pair with known ids; mark the others in ``status``.

    Raises ``InvalidRequestError`` for mismatched lengths or negative ids and
    ``TooManyItemsError`` above ``max_pairs``.
    """
    _validate_sizes(user_ids, movie_ids, max_pairs)
    u, known_u = scorer.users.lookup(user_ids)
    m, known_m = scorer.movies.lookup(movie_ids)
    # The common case, every id known, costs two reductions; the rest only when needed.
    everything = bool(known_u.all()) and bool(known_m.all())
    if everything:
        status = np.zeros(user_ids.size, dtype=np.uint8)
    else:
        _validate_ids(user_ids, movie_ids)  # negative ids are unknown too: reject them first
        status = (~known_u).view(np.uint8) * UNKNOWN_USER + (~known_m).view(np.uint8) * UNKNOWN_MOVIE
    ok = None if everything else status == OK
    u_ok, m_ok = (u, m) if ok is None else (u[ok], m[ok])
    wanted = set(kinds) or {ModelKind.LINK}

    def column(kind: ModelKind) -> np.ndarray | None:
        if kind not in wanted:
            return None
        values = scorer.link_probability_at(u_ok, m_ok) if kind is ModelKind.LINK else scorer.rating_at(u_ok, m_ok)
        if ok is None:
            return values
        out = np.full(user_ids.size, np.nan, dtype=np.float32)
        out[ok] = values
        return out

    return BatchScores(scorer.name, scorer.version, column(ModelKind.LINK), column(ModelKind.RATING), status)


def _validate_sizes(user_ids: np.ndarray, movie_ids: np.ndarray, max_pairs: int) -> None:
    if user_ids.size != movie_ids.size:
        raise InvalidRequestError(
            [FieldViolation("movie_ids.shape", f"has {movie_ids.size} ids but user_ids has {user_ids.size}")]
        )
    if user_ids.size > max_pairs:
        raise TooManyItemsError(f"{user_ids.size} pairs exceed the limit of {max_pairs} per request")


def _validate_ids(user_ids: np.ndarray, movie_ids: np.ndarray) -> None:
    violations = [
        FieldViolation(
            f"{name}.raw", f"negative id {int(ids[np.argmax(ids < 0)])} at position {int(np.argmax(ids < 0))}"
        )
        for name, ids in (("user_ids", user_ids), ("movie_ids", movie_ids))
        if ids.size and ids.min() < 0
    ]
    if violations:
        raise InvalidRequestError(violations)
