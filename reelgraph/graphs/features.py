"""Movie node features: genre multi-hot plus the release year."""

from __future__ import annotations

import numpy as np
import torch

from reelgraph.data.dataset import MovieLens

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


def feature_names(genre_names: tuple[str, ...]) -> list[str]:
    """Names of the columns ``movie_features`` returns."""
    return [*genre_names, "year", "year_missing"]
