"""Fit the rating model's item-autoencoder term and its share of the served stars.

1. Train on the GNN's fitting ratings; validate every epoch on its validation
   ratings; keep the epoch count with the lowest validation RMSE; re-solve the
   user rows in closed form (``solve_user_rows``), as served.
2. Choose the blend ``β`` of ``(1 − β)·GNN + β·autoencoder`` on the same
   validation ratings.
3. Refit on every rating for that many epochs: the served term has seen all the data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from reelgraph.evaluation.metrics import rmse
from reelgraph.graphs.hetero import MessageEdges
from reelgraph.models.item_autoencoder import (
    AutoencoderConfig,
    ItemAutoencoder,
    all_movie_states,
    rating_columns,
    solve_user_rows,
)
from reelgraph.models.pair import MAX_STARS, MIN_STARS
from trainer.hyper import RatingHyper
from trainer.progress import Progress

_BLEND_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 2))
_MOVIE_BATCH = 256
_PATIENCE = 10  # epochs without a better validation RMSE before stopping


@dataclass(frozen=True)
class AutoencoderFit:
    """The refit autoencoder, the chosen blend and what validation said."""

    model: ItemAutoencoder
    epochs: int
    blend_val_rmse: float


class _Columns:
    """The movies × users rating matrix of some ratings: whole (as served) and in batches of movies."""

    def __init__(self, edges: MessageEdges, num_users: int, num_movies: int) -> None:
        u, m = edges.edge_index[0].numpy(), edges.edge_index[1].numpy()
        self.csr = sp.csr_matrix((edges.rating.numpy().astype(np.float32), (m, u)), shape=(num_movies, num_users))
        self.csr.sum_duplicates()
        c = self.csr.tocoo()
        self.whole = rating_columns(c.row, c.col, c.data, num_movies, num_users)

    def batch(self, movies: np.ndarray) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The batch's rows as a sparse tensor, and (row within the batch, user, stars) of its ratings."""
        block = self.csr[movies].tocoo()
        rows = rating_columns(block.row, block.col, block.data, *block.shape)
        return (
            rows,
            torch.from_numpy(block.row.astype(np.int64)),
            torch.from_numpy(block.col.astype(np.int64)),
            torch.from_numpy(block.data),
        )


def predict(model: ItemAutoencoder, columns: _Columns, pairs: Tensor) -> np.ndarray:
    """Stars (unclipped) for ``(2, N)`` user, movie pairs, movie states from ``columns``."""
    states = all_states(model, columns)
    u, m = pairs[0], pairs[1]
    with torch.no_grad():
        out = (states[m] * model.decoder.weight[u]).sum(-1) + model.decoder.bias[u]
    result: np.ndarray = out.numpy()
    return result


def autoencoder_predict(
    model: ItemAutoencoder, edges: MessageEdges, shape: tuple[int, int], pairs: Tensor
) -> np.ndarray:
    """Stars (unclipped) for ``pairs`` with movie states encoded from ``edges``' ratings."""
    return predict(model, _Columns(edges, *shape), pairs)


def all_states(model: ItemAutoencoder, columns: _Columns) -> Tensor:
    """``h_m`` of every movie (``(num_movies, hidden)``), as served."""
    return all_movie_states(model, columns.whole)


def _train(
    cfg: AutoencoderConfig,
    columns: _Columns,
    epochs: int,
    lr: float,
    seed: int,
    mean: float,
    validate: tuple[Tensor, np.ndarray] | None = None,
) -> tuple[ItemAutoencoder, list[float], int]:
    """Adam on the observed squared error + penalty; returns the best (or last) model."""
    torch.manual_seed(seed)
    model = ItemAutoencoder(cfg)
    torch.nn.init.constant_(model.decoder.bias, mean)  # start every user at the mean: stable early epochs
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n_movies = columns.csr.shape[0]
    curve: list[float] = []
    best: tuple[float, int, dict[str, Tensor]] | None = None
    for epoch in range(epochs):
        for batch in torch.randperm(n_movies).split(_MOVIE_BATCH):
            rows = batch.numpy()
            sparse_rows, row, user, stars = columns.batch(rows)
            h = model.movie_states(sparse_rows)
            pred = (h[row] * model.decoder.weight[user]).sum(-1) + model.decoder.bias[user]
            loss = (pred - stars).square().sum() + model.penalty() * rows.size / n_movies
            opt.zero_grad()
            loss.backward()
            opt.step()
        if validate is not None:
            value = rmse(np.clip(predict(model, columns, validate[0]), MIN_STARS, MAX_STARS), validate[1])
            curve.append(value)
            if best is None or value < best[0]:
                best = (value, epoch + 1, copy.deepcopy(model.state_dict()))
            elif epoch + 1 - best[1] >= _PATIENCE:
                break
    if best is not None:
        model.load_state_dict(best[2])
    solve_user_rows(model, columns.whole)
    return model, curve, best[1] if best is not None else epochs


def refit_autoencoder(
    cfg: AutoencoderConfig, edges: MessageEdges, num_movies: int, epochs: int, hp: RatingHyper, seed: int
) -> ItemAutoencoder:
    """Train on ``edges`` for a fixed number of ``epochs`` (no validation), user rows re-solved."""
    columns = _Columns(edges, cfg.num_users, num_movies)
    model, _, _ = _train(cfg, columns, epochs, hp.autoencoder_lr, seed, float(edges.rating.mean()))
    return model


def fit_autoencoder(
    fit_edges: MessageEdges,
    val: MessageEdges,
    gnn_val: np.ndarray,
    all_edges: MessageEdges,
    shape: tuple[int, int],
    hp: RatingHyper,
    seed: int,
    progress: Progress,
) -> AutoencoderFit:
    """Steps 1–3 of the module docstring; ``gnn_val`` is the GNN's (unclipped) stars for ``val``."""
    num_users, num_movies = shape
    cfg = AutoencoderConfig(num_users, hp.autoencoder_hidden, hp.autoencoder_l2)
    mean = float(fit_edges.rating.mean())
    columns = _Columns(fit_edges, num_users, num_movies)
    truth = val.rating.numpy()
    progress.log(f"rating: item autoencoder ({cfg.hidden} wide, ρ={cfg.l2:g}), up to {hp.autoencoder_epochs} epochs")
    model, curve, best_epochs = _train(
        cfg, columns, hp.autoencoder_epochs, hp.autoencoder_lr, seed, mean, (val.edge_index, truth)
    )
    ae_val = predict(model, columns, val.edge_index)  # with the user rows re-solved, as served
    # Served stars are clip((1 − β)·GNN + β·autoencoder): choose β on exactly that.
    scores = {b: rmse(np.clip((1 - b) * gnn_val + b * ae_val, MIN_STARS, MAX_STARS), truth) for b in _BLEND_GRID}
    blend = float(min(scores, key=lambda b: scores[b]))
    progress.log(
        f"rating: autoencoder val RMSE {min(curve):.4f} at {best_epochs} epochs; "
        f"blend β={blend:g} val RMSE {scores[blend]:.4f} (GNN alone {scores[0.0]:.4f}); refit on all ratings"
    )
    final = refit_autoencoder(
        AutoencoderConfig(num_users, cfg.hidden, cfg.l2, blend), all_edges, num_movies, best_epochs, hp, seed
    )
    return AutoencoderFit(final, best_epochs, scores[blend])
