"""Movies given as content (title, genres, year, tags), scored without being in any bundle.

The logic behind ``Scorer``'s ``*_new_movie`` methods and the audience query
("who should we show this new release to"); the model is
``reelgraph.models.content``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reelgraph.bundle.loader import Bundle
from reelgraph.errors import InvalidOptionError, ModelUnavailableError
from reelgraph.graphs.idmap import IdMap
from reelgraph.models.content import ContentConfig, ContentHead, ContentModel, check_content
from reelgraph.options import ModelKind


@dataclass(frozen=True)
class ContentMovie:
    """A movie given by its catalogue row.

    Attributes:
        genres: genre names as in the bundle's ``genre_names`` (may be empty).
        year: release year, 1870–2100, or None when unknown.
        title: the title ("" when not given; a trailing ``(YYYY)`` is ignored).
        tags: free-text tags (each may hold several words).
    """

    genres: tuple[str, ...]
    year: int | None = None
    title: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, genres: Sequence[str] | str, year: int | float | None = None, title: str = "", tags: Sequence[str] = ()
    ) -> ContentMovie:
        """From API arguments (a single genre may be given as a string)."""
        return cls(
            (genres,) if isinstance(genres, str) else tuple(genres),
            _whole(year),
            title,
            (tags,) if isinstance(tags, str) else tuple(tags),
        )

    def check(self, genre_names: Sequence[str], require_title: bool = False) -> None:
        """Raise ``InvalidRequestError`` naming unknown genres, a bad year or an empty title."""
        check_content(genre_names, self.genres, self.year, self.title, require_title)


def _whole(year: object) -> int | None:
    """A float year that is a whole number becomes an int; anything else is checked later as given."""
    if isinstance(year, float | np.floating) and float(year).is_integer():
        return int(year)
    return year  # type: ignore[return-value]  # validated by check_content


@dataclass(frozen=True)
class Audience:
    """The top-k stored users most likely to rate a movie, best first.

    ``user_ids`` are MovieLens ids (int64), ``probabilities`` the calibrated
    ``P(rate)`` (float32); both have ``min(k, number of users)`` entries.
    """

    user_ids: np.ndarray
    probabilities: np.ndarray


def load_content_head(bundle: Bundle) -> ContentHead:
    """The bundle's content model ready to serve; raises ``ModelUnavailableError`` without one."""
    entry = bundle.manifest.models.get(ModelKind.CONTENT.value)
    if entry is None:
        raise ModelUnavailableError(f"bundle {bundle.manifest.name}/{bundle.manifest.version} has no content model")
    model = ContentModel(ContentConfig(**entry.config))
    model.load_state_dict(bundle.model_weights(ModelKind.CONTENT.value))
    return ContentHead(model)


def features(head: ContentHead, movie: ContentMovie) -> np.ndarray:
    """The validated content row ``f`` of ``movie``."""
    return head.features(movie.genres, movie.year, movie.title, movie.tags)


def link_probability(head: ContentHead, users: IdMap, user_ids: np.ndarray, movie: ContentMovie) -> np.ndarray:
    """Calibrated ``P(user rates movie)`` per user id, float32; raises ``UnknownIdsError``."""
    rows = users.index(np.asarray(user_ids, dtype=np.int64))
    f = features(head, movie)
    return head.probability(head.link_scores(f)[rows])


def predict_rating(head: ContentHead, users: IdMap, user_ids: np.ndarray, movie: ContentMovie) -> np.ndarray:
    """Predicted stars (0.5–5) per user id, float32; raises ``UnknownIdsError``."""
    rows = users.index(np.asarray(user_ids, dtype=np.int64))
    out: np.ndarray = head.ratings(features(head, movie))[rows]
    return out


def score_users(
    head: ContentHead, users: IdMap, user_ids: np.ndarray, movie: ContentMovie, kinds: Iterable[ModelKind]
) -> tuple[dict[ModelKind, np.ndarray], np.ndarray]:
    """Scores of ``user_ids`` for ``movie`` per kind, and the mask of known users.

    ``LINK``: calibrated ``P(rate)``; ``RATING``: stars 0.5–5; float32, NaN at
    unknown users (which do not fail the call). Other kinds raise ``InvalidOptionError``.
    """
    rows, known = users.lookup(np.asarray(user_ids, dtype=np.int64))
    f = features(head, movie)
    out: dict[ModelKind, np.ndarray] = {}
    for kind in dict.fromkeys(kinds):
        if kind is ModelKind.LINK:
            every = head.probability(head.link_scores(f))
        elif kind is ModelKind.RATING:
            every = head.ratings(f)
        else:
            raise InvalidOptionError(f"a movie given as content is scored as link or rating, not {kind.value}")
        out[kind] = np.where(known, every[rows], np.float32(np.nan)).astype(np.float32)
    return out, known


def audience(head: ContentHead, users: IdMap, movie: ContentMovie, k: int) -> Audience:
    """The ``k`` (≥ 1) stored users with the highest ``P(rate)`` for ``movie``, best first."""
    if k < 1:
        raise InvalidOptionError(f"k must be >= 1, got {k}")
    scores = head.link_scores(features(head, movie))
    k_eff = min(k, scores.size)
    top = np.argpartition(-scores, k_eff - 1)[:k_eff] if k_eff else np.zeros(0, np.int64)
    top = top[np.argsort(-scores[top], kind="stable")]
    return Audience(users.raw(top).astype(np.int64), head.probability(scores[top]))
