"""Batch scoring and recommendation with per-item status. Pure numpy; no grpc here.

The servicer decodes a request, calls one function here and encodes what it
returns: every decision (known or unknown ids, limits, titles) is made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from reelgraph.errors import FieldViolation, InvalidOptionError, InvalidRequestError, TooManyItemsError
from reelgraph.options import ModelKind
from reelgraph.protocol import PairStatus
from reelgraph.scoring import Recommendations, Scorer
from reelgraph_client.recommendations import UserRecommendations

UNKNOWN_USER, UNKNOWN_MOVIE = np.uint8(PairStatus.UNKNOWN_USER), np.uint8(PairStatus.UNKNOWN_MOVIE)
MAX_K = 1000  # longest recommendation list
RECOMMEND_CHUNK = 256  # stored users per recommend_users call: the stream's unit of work


@dataclass(frozen=True)
class History:
    """One user given at request time by their ratings (MovieLens movie ids, stars, optional times).

    ``field`` is the request field it came from; violations are named under it.
    """

    movie_ids: np.ndarray
    stars: np.ndarray
    timestamps: np.ndarray | None = None
    field: str = "history"


@dataclass(frozen=True)
class BatchScores:
    """Scores aligned with the request; NaN where ``status`` is non-zero."""

    name: str
    version: str
    link_probability: np.ndarray | None
    rating: np.ndarray | None
    status: np.ndarray

    @cached_property
    def invalid_count(self) -> int:
        """Positions that were not scored (counted once; the servicer reads it twice)."""
        return int(np.count_nonzero(self.status))


def score_batch(
    scorer: Scorer, user_ids: np.ndarray, movie_ids: np.ndarray, kinds: Iterable[ModelKind], max_pairs: int
) -> BatchScores:
    """Score every pair with known ids; mark the others in ``status``.

    Raises ``InvalidRequestError`` for mismatched lengths or negative ids and
    ``TooManyItemsError`` above ``max_pairs``.
    """
    _validate_sizes(user_ids, movie_ids, max_pairs)
    u, m = scorer.users.positions(user_ids), scorer.movies.positions(movie_ids)
    wanted = set(kinds) or {ModelKind.LINK}
    # The common case, every id known, costs two reductions and no masking.
    if not u.size or min(u.min(), m.min()) >= 0:
        status = np.zeros(u.size, dtype=np.uint8)
        return BatchScores(scorer.name, scorer.version, *_columns(scorer, wanted, u, m), status)
    _validate_ids(user_ids, movie_ids)  # negative ids are unknown too: reject them first
    unknown_u, unknown_m = u < 0, m < 0
    status = unknown_u.view(np.uint8) * UNKNOWN_USER + unknown_m.view(np.uint8) * UNKNOWN_MOVIE
    ok = ~(unknown_u | unknown_m)
    link, rating = _columns(scorer, wanted, u[ok], m[ok])
    return BatchScores(scorer.name, scorer.version, _spread(link, ok), _spread(rating, ok), status)


def _spread(values: np.ndarray | None, ok: np.ndarray) -> np.ndarray | None:
    """``values`` of the scored positions, NaN elsewhere."""
    if values is None:
        return None
    full = np.full(ok.size, np.nan, dtype=np.float32)
    full[ok] = values
    return full


def _columns(
    scorer: Scorer, wanted: set[ModelKind], u: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(link probability, rating) of known index pairs; None where not wanted."""
    link = scorer.link_probability_at(u, m) if ModelKind.LINK in wanted else None
    rating = scorer.rating_at(u, m) if ModelKind.RATING in wanted else None
    return link, rating


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


def score_history(
    scorer: Scorer, history: History, movie_ids: np.ndarray, kinds: Iterable[ModelKind], max_pairs: int
) -> BatchScores:
    """Score one user given as ``history`` against candidate ``movie_ids``.

    Unknown candidates are marked ``PairStatus.UNKNOWN_MOVIE`` in ``status`` (NaN scores),
    as in ``score_batch``; a bad history raises ``InvalidRequestError`` naming
    its fields, too many items ``TooManyItemsError``.
    """
    _check_history(scorer, history, max_pairs)
    if movie_ids.size > max_pairs:
        raise TooManyItemsError(f"{movie_ids.size} movies exceed the limit of {max_pairs} per request")
    if movie_ids.size and movie_ids.min() < 0:
        at = int(np.argmax(movie_ids < 0))
        raise InvalidRequestError(
            [FieldViolation("movie_ids.raw", f"negative id {int(movie_ids[at])} at position {at}")]
        )
    ok = scorer.movies.positions(movie_ids) >= 0
    status = (~ok).view(np.uint8) * UNKNOWN_MOVIE
    wanted = set(kinds) or {ModelKind.LINK}
    known = movie_ids[ok].astype(np.int64)
    link = rating = None
    with _named_under(history.field):
        if ModelKind.LINK in wanted:
            link = scorer.link_probability_from_ratings(history.movie_ids, history.stars, known)
        if ModelKind.RATING in wanted:
            rating = scorer.predict_rating_from_ratings(history.movie_ids, history.stars, known)
    return BatchScores(scorer.name, scorer.version, _spread(link, ok), _spread(rating, ok), status)


def recommend_history(
    scorer: Scorer, history: History, k: int, genres: list[str] | None, max_items: int
) -> Recommendations:
    """Top-``k`` for one user given as ``history`` (one row, user id -1; given movies never returned).

    An empty history ranks by popularity. Raises ``InvalidRequestError`` naming
    the history's fields (unknown movies, bad stars, mismatched lengths).
    """
    _check_history(scorer, history, max_items)
    with _named_under(history.field):
        return scorer.recommend_from_ratings(history.movie_ids, history.stars, k, genres)


def _check_history(scorer: Scorer, history: History, max_items: int) -> None:
    """Lengths, the size limit and known movie ids; the stars' range is the scorer's check."""
    f, n = history.field, history.movie_ids.size
    if n > max_items:
        raise TooManyItemsError(f"{n} ratings in {f} exceed the limit of {max_items} per request")
    violations = [
        FieldViolation(f"{f}.{name}.shape", f"has {column.size} values but {f}.movie_ids has {n}")
        for name, column in (("stars", history.stars), ("timestamps", history.timestamps))
        if column is not None and column.size != n
    ]
    unknown = scorer.movies.positions(history.movie_ids) < 0
    if unknown.any():
        ids = list(dict.fromkeys(history.movie_ids[unknown].tolist()))
        shown = ", ".join(map(str, ids[:20])) + (f" (+{len(ids) - 20} more)" if len(ids) > 20 else "")
        at = np.flatnonzero(unknown)[:20].tolist()
        violations.append(FieldViolation(f"{f}.movie_ids", f"unknown movie ids {shown} at positions {at}"))
    if violations:
        raise InvalidRequestError(violations)


@contextmanager
def _named_under(prefix: str) -> Iterator[None]:
    """Re-raise the scorer's ``InvalidRequestError`` with its fields named under ``prefix``."""
    try:
        yield
    except InvalidRequestError as exc:
        raise InvalidRequestError(
            [FieldViolation(f"{prefix}.{v.field}", v.description) for v in exc.violations]
        ) from exc


def check_recommend(scorer: Scorer, k: int, genres: list[str]) -> None:
    """Refuse a list length outside 1..``MAX_K`` or an unknown genre (``InvalidOptionError``)."""
    if not 1 <= k <= MAX_K:
        raise InvalidOptionError(f"invalid k {k}; expected 1..{MAX_K}")
    if genres:
        scorer.genre_mask(genres)


def recommend_users(
    scorer: Scorer, user_ids: np.ndarray, k: int, include_rated: bool, genres: list[str] | None
) -> list[UserRecommendations]:
    """Top-``k`` with titles per stored user, in the order given.

    A user the bundle does not know gets an ``error`` ("unknown user") in place
    of a list; the others are ranked together in one call.
    """
    users = np.asarray(user_ids, dtype=np.int64)
    _, known = scorer.users.lookup(users)
    out = {int(u): UserRecommendations(int(u), [], [], [], "unknown user") for u in users[~known]}
    if known.any():
        rec = scorer.recommend(users[known], k, exclude_rated=not include_rated, genres=genres or None)
        for user, ids, scores in zip(rec.user_ids, rec.movie_ids, rec.scores, strict=True):
            out[int(user)] = user_list(scorer, int(user), ids, scores)
    return [out[int(u)] for u in users]


def recommend_user_history(
    scorer: Scorer, history: History, k: int, genres: list[str] | None, max_items: int
) -> UserRecommendations:
    """``recommend_history`` as one titled list (user id -1)."""
    rec = recommend_history(scorer, history, k, genres, max_items)
    return user_list(scorer, -1, rec.movie_ids[0], rec.scores[0])


def user_list(scorer: Scorer, user: int, ids: np.ndarray, scores: np.ndarray) -> UserRecommendations:
    """One row of ``Recommendations`` (padding dropped) with titles."""
    valid = ids >= 0
    return UserRecommendations(user, ids[valid].tolist(), scorer.titles(ids[valid]), scores[valid].tolist())
