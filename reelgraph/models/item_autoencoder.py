"""A movie is its ratings: an item autoencoder over the rating graph, the rating model's second term.

``h_m = σ(V·r_m + b)``, ``r̂_um = w_u·h_m + c_u``

* ``r_m`` — the movie's column of the rating matrix (the stars each user gave it,
  0 where unrated): one sum-aggregation layer over the movie's rating edges, each
  message the rater's column ``V_u`` scaled by the stars (I-AutoRec, Sedhain et
  al. 2015, read as a one-layer GNN over the bipartite graph);
* ``w_u, c_u`` — the user's decoder row and offset: the user's side of the same
  bipartite graph, learned jointly.

Only observed ratings enter the loss, with an L2 penalty ``ρ/2·(‖V‖² + ‖W‖²)``.
After training every user's ``w_u, c_u`` is re-solved exactly by penalised least
squares over their ratings (``solve_user_rows``), and a user outside the bundle
gets theirs the same way (``fold_in_user``): a small ridge solve, no retraining,
and a stored user given as their own history gets the same stars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from reelgraph.configs import DictForm


@dataclass(frozen=True)
class AutoencoderConfig(DictForm):
    """Shape and fixed coefficients of the item autoencoder (stored in the manifest).

    Attributes:
        num_users: users in the bundle (input and output width).
        hidden: width of a movie's state ``h_m`` (default 500).
        l2: ``ρ``, the weight penalty used in training; also the ridge of
            ``fold_in_user`` (default 100).
        blend: ``β``, the autoencoder's share of served stars:
            ``r̂ = (1 − β)·GNN + β·autoencoder`` (default 0.5).
    """

    num_users: int
    hidden: int = 500
    l2: float = 100.0
    blend: float = 0.5


class ItemAutoencoder(nn.Module):
    """``r̂_m = W·σ(V·r_m + b) + c``: every user's stars for movie ``m`` from its ratings."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Linear(cfg.num_users, cfg.hidden)
        self.decoder = nn.Linear(cfg.hidden, cfg.num_users)

    def movie_states(self, columns: Tensor) -> Tensor:
        """``h_m = σ(V·r_m + b)`` for rows of ``columns`` (``(movies, num_users)``, dense or sparse)."""
        return torch.sigmoid(self.encoder(columns) if not columns.is_sparse else _sparse_linear(self.encoder, columns))

    def forward(self, columns: Tensor) -> Tensor:
        """Predicted stars ``(movies, num_users)`` for the movies whose rating columns are given."""
        out: Tensor = self.decoder(self.movie_states(columns))
        return out

    def penalty(self) -> Tensor:
        """``ρ/2·(‖V‖² + ‖W‖²)``."""
        return self.cfg.l2 / 2 * (self.encoder.weight.square().sum() + self.decoder.weight.square().sum())


def rating_columns(movies: np.ndarray, users: np.ndarray, stars: np.ndarray, num_movies: int, num_users: int) -> Tensor:
    """The ``(num_movies, num_users)`` sparse matrix of stars: row ``m`` is ``r_m`` (duplicates summed)."""
    index = torch.from_numpy(np.stack([movies, users]).astype(np.int64))
    values = torch.from_numpy(np.asarray(stars, dtype=np.float32))
    return torch.sparse_coo_tensor(index, values, (num_movies, num_users), check_invariants=False).coalesce()


def all_movie_states(model: ItemAutoencoder, columns: Tensor, block: int = 4096) -> Tensor:
    """``h_m`` of every row of the sparse ``columns`` (``(num_movies, hidden)``), ``block`` movies at a time."""
    n = columns.shape[0]
    parts = [torch.zeros(0, model.cfg.hidden)]
    with torch.no_grad():
        for s in range(0, n, block):
            parts.append(model.movie_states(columns.index_select(0, torch.arange(s, min(s + block, n)))))
    return torch.cat(parts)


def fold_in_user(states: Tensor, stars: Tensor, ridge: float) -> Tensor:
    """``[w_u | c_u]`` for a new user from the states ``h_m`` of the movies they rated and their stars.

    ``argmin Σ (r − w·h_m − c)² + ridge/2·‖w‖²`` (the offset is not penalised),
    solved in closed form; ``states`` is ``(n, hidden)``, ``stars`` is ``(n,)``.
    """
    X = torch.cat([states, torch.ones(states.shape[0], 1, dtype=states.dtype)], dim=1).double()
    reg = torch.full((X.shape[1],), ridge / 2, dtype=torch.float64)
    reg[-1] = 1e-6  # the offset: essentially free, kept solvable for a single rating
    A = X.T @ X + torch.diag(reg)
    row: Tensor = torch.linalg.solve(A, X.T @ stars.double())
    return row.float()


def solve_user_rows(model: ItemAutoencoder, columns: Tensor) -> None:
    """Set every user's ``w_u, c_u`` to ``fold_in_user`` of their ratings in ``columns`` (in place).

    After training, the decoder rows are replaced by the exact penalised
    least-squares rows given the movie states, so a stored user and the same
    user given as a history get the same stars. Cost: one ``(hidden+1)²`` solve
    per user.
    """
    H = all_movie_states(model, columns)
    by_user = columns.t().coalesce()
    (users, movies), stars = by_user.indices(), by_user.values()
    starts = torch.searchsorted(users, torch.arange(model.cfg.num_users + 1))
    with torch.no_grad():
        for u in range(model.cfg.num_users):
            lo, hi = int(starts[u]), int(starts[u + 1])
            if hi > lo:
                row = fold_in_user(H[movies[lo:hi]], stars[lo:hi], model.cfg.l2)
                model.decoder.weight[u] = row[:-1]
                model.decoder.bias[u] = row[-1]


def _sparse_linear(layer: nn.Linear, x: Tensor) -> Tensor:
    out: Tensor = torch.sparse.mm(x, layer.weight.T) + layer.bias
    return out
