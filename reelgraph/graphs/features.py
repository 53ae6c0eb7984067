"""Movie node features: genre multi-hot plus the release year."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from reelgraph.data.dataset import MovieLens

T = TypeVar("T")

# Standardising the year keeps it on the scale of the 0/1 genre columns.
_YEAR_CENTER, _YEAR_SCALE = 1990.0, 20.0


def movie_features(data: MovieLens) -> torch.Tensor:
    """``(num_movies, G + 2)`` float32: genres, scaled year, year-missing flag.

    Rows follow ``data.movies``; the year column is ``(year - 1990) / 20`` and
    0 where the title carries no year (the flag column is then 1).
    """
    years = data.movies["year"].to_numpy(dtype=np.float32)
    missing = np.isnan(years)
    scaled = np.where(missing, 0.0, (years - _YEAR_CENTER) / _YEAR_SCALE).astype(np.float32)
    cols = [data.genres.astype(np.float32), scaled[:, None], missing.astype(np.float32)[:, None]]
    return torch.from_numpy(np.concatenate(cols, axis=1))


_EPOCH_2000 = 946_684_800.0  # Unix seconds
_SECONDS_PER_DECADE = 315_576_000.0


def decades_since_2000(unix_seconds: T) -> T:
    """Rating times on a unit scale: decades since 2000-01-01 (numpy or torch)."""
    return (unix_seconds - _EPOCH_2000) / _SECONDS_PER_DECADE  # type: ignore[operator, no-any-return, return-value]


def feature_names(genre_names: tuple[str, ...]) -> list[str]:
    """Names of the columns ``movie_features`` returns."""
    return [*genre_names, "year", "year_missing"]
