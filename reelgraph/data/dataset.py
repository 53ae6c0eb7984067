"""The in-memory MovieLens dataset every layout is read into."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reelgraph.options import Layout


@dataclass(frozen=True)
class MovieLens:
    """Ratings and movie metadata with compact dtypes.

    Attributes:
        layout: the on-disk layout it was read from.
        ratings: columns ``user_id`` (int32), ``movie_id`` (int32), ``rating``
            (float32, stars 0.5–5) and ``timestamp`` (int64, Unix seconds);
            one row per (user, movie) pair.
        movies: columns ``movie_id`` (int32), ``title`` (str) and ``year``
            (float32, NaN when the title carries none), one row per movie.
        genres: ``(len(movies), len(genre_names))`` uint8 multi-hot, row-aligned
            with ``movies``.
        genre_names: column names of ``genres``.
        fingerprint: sha256 over the files read (see ``fingerprint_files``).
        files: names of the files read, relative to the data directory.
        notes: things the reader fixed and the user should know (duplicates).
    """

    layout: Layout
    ratings: pd.DataFrame
    movies: pd.DataFrame
    genres: np.ndarray
    genre_names: tuple[str, ...]
    fingerprint: str
    files: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def num_ratings(self) -> int:
        """Number of (user, movie) rating rows."""
        return len(self.ratings)

    def with_ratings(self, ratings: pd.DataFrame) -> MovieLens:
        """The same movies with another set of ratings (used by splits)."""
        return dataclasses.replace(self, ratings=ratings.reset_index(drop=True))
