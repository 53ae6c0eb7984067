"""Inputs of the movie GCN: per-movie features and mean-rating labels.

Labels are the mean stars of each movie. Features may use ratings only in ways
that do not reveal a held-out movie's label: rating counts and times (who
rated, when), and how lenient its raters are *on the training movies*, with a
training movie's own rating left out of its raters' means.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.features import decades_since_2000, movie_features
from reelgraph.graphs.idmap import IdMap


def movie_labels(data: MovieLens, movies: IdMap) -> tuple[Tensor, Tensor]:
    """Mean rating per movie (float32) and a mask of movies that have ratings."""
    m = movies.index(data.ratings["movie_id"].to_numpy())
    stars = data.ratings["rating"].to_numpy(dtype=np.float64)
    count = np.bincount(m, minlength=len(movies))
    total = np.bincount(m, weights=stars, minlength=len(movies))
    mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return torch.tensor(mean, dtype=torch.float32), torch.from_numpy(count > 0)


def movie_gcn_features(data: MovieLens, movies: IdMap, users: IdMap, label_mask: np.ndarray) -> Tensor:
    """``(num_movies, F)`` float32 features, rows in ``movies`` order.

    ``label_mask[i]`` says movie ``i``'s label may be seen (training movies);
    ratings of the other movies feed only counts and times, never stars.
    """
    order = np.argsort(data.movies["movie_id"].to_numpy(), kind="stable")
    base = movie_features(data)[torch.from_numpy(order)].numpy()
    u = users.index(data.ratings["user_id"].to_numpy())
    m = movies.index(data.ratings["movie_id"].to_numpy())
    stars = data.ratings["rating"].to_numpy(dtype=np.float64)
    years = decades_since_2000(data.ratings["timestamp"].to_numpy(dtype=np.float64))
    count = np.bincount(m, minlength=len(movies)).astype(np.float64)
    time_mean = np.bincount(m, weights=years, minlength=len(movies)) / np.maximum(count, 1)
    leniency = _rater_leniency(u, m, stars, len(users), len(movies), label_mask)
    extra = np.stack([np.log1p(count), time_mean, leniency, (count > 0).astype(np.float64)], 1)
    return torch.tensor(np.concatenate([base, extra], 1), dtype=torch.float32)


def _rater_leniency(
    u: np.ndarray, m: np.ndarray, stars: np.ndarray, n_users: int, n_movies: int, label_mask: np.ndarray
) -> np.ndarray:
    """Mean over a movie's raters of (rater's mean on other training movies − global mean)."""
    seen = label_mask[m]
    mu = stars[seen].mean() if seen.any() else 3.5
    s = np.bincount(u[seen], weights=stars[seen], minlength=n_users)
    c = np.bincount(u[seen], minlength=n_users).astype(np.float64)
    # Leave the movie's own rating out of its rater's mean when it is a training movie.
    s_edge = s[u] - np.where(seen, stars, 0.0)
    c_edge = c[u] - seen
    rater_mean = np.where(c_edge > 0, s_edge / np.maximum(c_edge, 1), mu)
    count = np.bincount(m, minlength=n_movies)
    total = np.bincount(m, weights=rater_mean - mu, minlength=n_movies)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)
