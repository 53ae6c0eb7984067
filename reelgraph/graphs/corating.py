"""The movie–movie co-rating graph (the movie GCN's input, the ranking model's edges), built with sparse products.

Two movies are linked when at least ``min_overlap`` users rated both; the edge
weight is that number of shared users. ``C = Rᵀ R`` is computed one block of
movie columns at a time so memory stays bounded on ml-25m-sized data, and
``top_k`` keeps only each movie's strongest neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

_BLOCK = 2048  # movies per block of Rᵀ R; ~block × num_movies sparse entries at most


@dataclass(frozen=True)
class CoRatingGraph:
    """Undirected weighted movie graph (both directions stored).

    Attributes:
        edge_index: ``(2, E)`` int64 movie indices.
        weight: ``(E,)`` float32 number of users who rated both movies.
        num_movies: number of movie nodes.
    """

    edge_index: torch.Tensor
    weight: torch.Tensor
    num_movies: int


def build_corating_graph(
    user_index: np.ndarray,
    movie_index: np.ndarray,
    num_users: int,
    num_movies: int,
    *,
    min_overlap: int = 1,
    top_k: int | None = None,
) -> CoRatingGraph:
    """Build the co-rating graph from rating edges given as contiguous indices.

    Args:
        user_index, movie_index: one entry per rating (duplicates count once).
        num_users, num_movies: node counts.
        min_overlap: keep pairs rated by at least this many common users (≥ 1).
        top_k: keep at most this many heaviest neighbours per movie, then
            symmetrise; ``None`` keeps all.
    """
    if min_overlap < 1:
        raise ValueError(f"min_overlap must be >= 1, got {min_overlap}")
    ones = np.ones(len(user_index), dtype=np.float32)
    R = sp.csr_matrix((ones, (user_index, movie_index)), shape=(num_users, num_movies))
    R.data[:] = 1.0  # a repeated (user, movie) pair still means one shared user
    Rt = R.T.tocsr()
    rows, cols, vals = [], [], []
    for start in range(0, num_movies, _BLOCK):
        block = (Rt[start : start + _BLOCK] @ R).tocoo()
        keep = (block.row + start != block.col) & (block.data >= min_overlap)
        r, c, v = block.row[keep] + start, block.col[keep], block.data[keep]
        if top_k is not None:
            r, c, v = _top_k_per_row(r, c, v, top_k)
        rows.append(r)
        cols.append(c)
        vals.append(v)
    r, c, v = (np.concatenate(x) if x else np.empty(0) for x in (rows, cols, vals))
    if top_k is not None:
        r, c, v = _symmetrise(r, c, v, num_movies)
    edge_index = torch.from_numpy(np.stack([r, c]).astype(np.int64))
    return CoRatingGraph(edge_index, torch.from_numpy(v.astype(np.float32)), num_movies)


def _top_k_per_row(r: np.ndarray, c: np.ndarray, v: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    order = np.lexsort((c, -v, r))  # by row, heaviest first, ties by column
    r, c, v = r[order], c[order], v[order]
    starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
    rank = np.arange(r.size) - np.repeat(starts, np.diff(np.r_[starts, r.size]))
    keep = rank < k
    return r[keep], c[keep], v[keep]


def _symmetrise(r: np.ndarray, c: np.ndarray, v: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    # Top-k is asymmetric; keep an edge when either end chose it.
    m = sp.coo_matrix((v, (r, c)), shape=(n, n)).tocsr()
    m = m.maximum(m.T).tocoo()
    order = np.lexsort((m.col, m.row))
    return m.row[order], m.col[order], m.data[order]
