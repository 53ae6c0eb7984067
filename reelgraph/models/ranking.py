"""The ranking model: a user is their ratings, propagated over weighted co-rating edges.

``s_u = (w(r_u) ⊙ x_u) · B + π · log(1 + n)``

* ``x_u`` — the user's history as a row over movies (1 where rated), so a user
  has no free parameter: a known user, a user given at request time and a user
  with one rating removed all go through the same equation;
* ``w(r)`` — per-rating input weight ``max(w_min, 1 + γ·(r − r̄_u))``: ratings
  above the user's own mean count more (γ = 0 turns it off);
* ``B`` — learned weights on the movie–movie co-rating edges (one propagation
  step of the user's ratings over the movie co-rating graph). They are the
  closed-form ridge regression of every movie's column from the others with a
  zero diagonal (EASE, Steck 2019) on co-rating counts that mix whole
  histories with single sittings (``trainer.sessions``), pruned to the
  strongest edges and stored sparse;
* ``π · log(1 + n)`` — movie popularity (training rating count ``n``); ``π`` is
  never below ``TIE_BREAK``, so popularity orders the movies no rated movie
  points to and ranks an empty history (the cold default).

The score is a linear function of the history, so a rated movie's share of a
target's score is exactly ``w(r_i)·B[i, target]``: deleting that rating lowers
the score by that amount. ``P(rate) = σ(a·s + c)`` is calibrated on held-out
ratings against random movies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit
from torch import Tensor, nn

from reelgraph.configs import DictForm

MIN_INPUT_WEIGHT = 0.05  # a disliked movie still says the user watched it
TIE_BREAK = 1e-6  # popularity weight always present: orders movies with no co-rating evidence, ranks empty histories


@dataclass(frozen=True)
class RankingConfig(DictForm):
    """Shape and fixed coefficients of the ranking model (stored in the manifest).

    Attributes:
        num_movies: movie nodes (columns of ``B``).
        nnz: stored co-rating edge weights.
        star_slope: ``γ`` of the input weight ``1 + γ·(r − r̄_u)`` (default 0).
        popularity: ``π``, weight of ``log(1 + rating count)`` (default 0).
        calib_scale, calib_bias: ``a`` and ``c`` of ``P = σ(a·s + c)``.
    """

    num_movies: int
    nnz: int
    star_slope: float = 0.0
    popularity: float = 0.0
    calib_scale: float = 1.0
    calib_bias: float = 0.0


class CoRatingRanker(nn.Module):
    """``s_u = (w(r_u) ⊙ x_u) · B + π · log(1 + n)`` over sparse co-rating weights.

    ``B`` is held as CSR buffers (row = the rated movie, column = the scored
    movie); nothing is trained by gradient (``trainer.ranking`` solves it).
    """

    crow: Tensor
    col: Tensor
    weight: Tensor
    log_count: Tensor

    def __init__(self, cfg: RankingConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # int32 indices: half the bundle size of int64 (ids < 2³¹ movies, nnz < 2³¹ edges).
        self.register_buffer("crow", torch.zeros(cfg.num_movies + 1, dtype=torch.int32))
        self.register_buffer("col", torch.zeros(cfg.nnz, dtype=torch.int32))
        self.register_buffer("weight", torch.zeros(cfg.nnz, dtype=torch.float32))
        self.register_buffer("log_count", torch.zeros(cfg.num_movies, dtype=torch.float32))

    @classmethod
    def from_arrays(cls, cfg: RankingConfig, B: sp.csr_matrix, counts: np.ndarray) -> CoRatingRanker:
        """Build from a solved ``B`` (``num_movies²`` CSR) and per-movie rating counts."""
        model = cls(cfg)
        model.crow.copy_(torch.from_numpy(B.indptr.astype(np.int32)))
        model.col.copy_(torch.from_numpy(B.indices.astype(np.int32)))
        model.weight.copy_(torch.from_numpy(B.data.astype(np.float32)))
        model.log_count.copy_(torch.from_numpy(np.log1p(counts).astype(np.float32)))
        return model

    def forward(self, history: Tensor) -> Tensor:
        """Scores ``(b, num_movies)`` of a dense weighted history ``w(r_u) ⊙ x_u`` ``(b, num_movies)``."""
        n = self.cfg.num_movies
        rows = torch.repeat_interleave(torch.arange(n), (self.crow[1:] - self.crow[:-1]).long())
        Bt = torch.sparse_coo_tensor(torch.stack([self.col.long(), rows]), self.weight, (n, n), check_invariants=True)
        scores: Tensor = torch.sparse.mm(Bt, history.t()).t() + (self.cfg.popularity + TIE_BREAK) * self.log_count
        return scores


@dataclass(frozen=True)
class Histories:
    """Users' ratings as CSR rows: ``movies[indptr[i]:indptr[i+1]]`` with their ``stars``.

    Movies are contiguous movie indices; stars float32 (0.5–5).
    """

    indptr: np.ndarray
    movies: np.ndarray
    stars: np.ndarray

    @classmethod
    def one(cls, movies: np.ndarray, stars: np.ndarray) -> Histories:
        """A single user's history."""
        return cls(np.array([0, movies.size], dtype=np.int64), movies.astype(np.int64), stars.astype(np.float32))

    @classmethod
    def from_edges(cls, users: np.ndarray, movies: np.ndarray, stars: np.ndarray, num_users: int) -> Histories:
        """Group rating edges by user (user indices ``0..num_users-1``)."""
        order = np.argsort(users, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=num_users))]).astype(np.int64)
        return cls(indptr, movies[order].astype(np.int64), stars[order].astype(np.float32))

    @property
    def num_users(self) -> int:
        """Rows."""
        return int(self.indptr.size - 1)

    def rows(self, users: np.ndarray) -> Histories:
        """The histories of ``users`` (row indices), in that order."""
        lengths = self.indptr[users + 1] - self.indptr[users]
        starts = np.repeat(self.indptr[users], lengths)
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        take = starts + offsets
        return Histories(
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), self.movies[take], self.stars[take]
        )

    def matrix(self, num_movies: int, values: np.ndarray | None = None) -> sp.csr_matrix:
        """``(num_users, num_movies)`` CSR of ``values`` (default 1 per rating)."""
        data = np.ones(self.movies.size, np.float32) if values is None else values
        return sp.csr_matrix((data, self.movies, self.indptr), shape=(self.num_users, num_movies))


class RankingHead:
    """Serving form of ``CoRatingRanker``: scipy CSR products, numpy in and out."""

    def __init__(self, model: CoRatingRanker) -> None:
        cfg = model.cfg
        self.cfg = cfg
        n = cfg.num_movies
        self.B = sp.csr_matrix((model.weight.numpy(), model.col.numpy(), model.crow.numpy()), shape=(n, n))
        self.prior = ((cfg.popularity + TIE_BREAK) * model.log_count.numpy()).astype(np.float32)

    @property
    def num_movies(self) -> int:
        """Columns of every score row."""
        return self.cfg.num_movies

    def input_weights(self, h: Histories) -> np.ndarray:
        """``w(r) = max(w_min, 1 + γ·(r − r̄_u))`` per history entry."""
        if self.cfg.star_slope == 0.0 or h.stars.size == 0:
            return np.ones(h.stars.size, np.float32)
        lengths = np.diff(h.indptr)
        row = np.repeat(np.arange(lengths.size), lengths)
        means = np.bincount(row, h.stars, minlength=lengths.size) / np.maximum(lengths, 1)
        centred = h.stars - means[row]
        w: np.ndarray = np.maximum(MIN_INPUT_WEIGHT, 1.0 + self.cfg.star_slope * centred).astype(np.float32)
        return w

    def scores(self, h: Histories) -> np.ndarray:
        """``(num_users, num_movies)`` float32 raw scores ``s``."""
        x = h.matrix(self.num_movies, self.input_weights(h))
        out: np.ndarray = (x @ self.B).toarray().astype(np.float32, copy=False)
        out += self.prior
        return out

    def pair_scores(self, h: Histories, movies: np.ndarray) -> np.ndarray:
        """Raw scores of one user's history (``h.num_users == 1``) for ``movies``."""
        # One full row and a gather: slicing B's columns costs ~10× more for 100 movies.
        out: np.ndarray = self.scores(h)[0, movies]
        return out

    def contributions(self, h: Histories, target: int) -> np.ndarray:
        """Each history entry's exact share ``w(r_i)·B[i, target]`` of one user's score for ``target``."""
        column = self.B[:, [target]].toarray().ravel()
        out: np.ndarray = (self.input_weights(h) * column[h.movies]).astype(np.float32)
        return out

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated ``P(rate) = σ(a·s + c)``, float32."""
        out: np.ndarray = expit((self.cfg.calib_scale * raw + self.cfg.calib_bias).astype(np.float32))
        return out
