"""Train the movie GCN under the E4 protocol (the README's split of rated movies)."""

from __future__ import annotations

import numpy as np
import torch

from reelgraph.data.dataset import MovieLens
from reelgraph.evaluation.metrics import mse
from reelgraph.graphs.corating import build_corating_graph
from reelgraph.graphs.hetero import RatingGraph
from reelgraph.graphs.movie_inputs import movie_gcn_features, movie_labels
from reelgraph.models.movie_gcn import MovieGCN, MovieGCNConfig
from trainer.hyper import MovieGCNHyper
from trainer.loop import fit
from trainer.progress import Progress
from trainer.result import TrainResult


def e4_split(has_label: torch.Tensor, hp: MovieGCNHyper, seed: int) -> tuple[torch.Tensor, ...]:
    """(train, val, test) indices of rated movies: 80/20, then 10 % of train for val."""
    rated = torch.nonzero(has_label).squeeze(1)
    rated = rated[torch.randperm(rated.numel(), generator=torch.Generator().manual_seed(seed))]
    n_test = int(hp.test_fraction * rated.numel())
    test, rest = rated[:n_test], rated[n_test:]
    n_val = int(hp.val_fraction * rest.numel())
    return rest[n_val:], rest[:n_val], test


def train_movie_gcn(
    data: MovieLens, rg: RatingGraph, hp: MovieGCNHyper, seed: int, device: torch.device, progress: Progress
) -> TrainResult:
    """Regress movie mean ratings; report test MSE next to the global-mean baseline."""
    y, has_label = movie_labels(data, rg.movies)
    train, val, test = e4_split(has_label, hp, seed)
    visible = np.zeros(len(rg.movies), dtype=bool)
    visible[torch.cat([train, val]).numpy()] = True
    x = movie_gcn_features(data, rg.movies, rg.users, visible)
    edges = rg.graph["user", "rates", "movie"].edge_index.numpy()
    co = build_corating_graph(edges[0], edges[1], len(rg.users), len(rg.movies), top_k=hp.top_k)
    weight = co.weight.log1p()  # shared-user counts are heavy-tailed
    torch.manual_seed(seed)
    cfg = MovieGCNConfig(x.shape[1], hp.hidden, hp.dropout)
    model = MovieGCN(cfg).to(device)
    torch.nn.init.constant_(model.skip.bias, float(y[train].mean()))
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    xd, ei, w, yd = x.to(device), co.edge_index.to(device), weight.to(device), y.to(device)

    def train_epoch() -> float:
        loss = torch.nn.functional.mse_loss(model(xd, ei, w)[train], yd[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    def score(idx: torch.Tensor) -> float:
        with torch.no_grad():
            pred = model(xd, ei, w).cpu()
        return mse(pred[idx].numpy(), y[idx].numpy())

    result = fit(
        model,
        epochs=hp.epochs,
        patience=hp.patience,
        train_epoch=train_epoch,
        validate=lambda: score(val),
        metric_name="val_mse",
        higher_is_better=False,
        progress=progress,
        label="movie-gcn",
    )
    baseline = mse(np.full(test.numel(), float(y[train].mean())), y[test].numpy())
    metrics = {
        "e4_val_mse": result.best_metric,
        "e4_test_mse": score(test),
        "e4_global_mean_mse": baseline,
        "best_epoch": float(result.best_epoch + 1),
    }
    extra = {"movie_gcn.x": x, "movie_gcn.edge_index": co.edge_index, "movie_gcn.edge_weight": weight}
    return TrainResult(
        "movie-gcn", model.cpu(), cfg.to_dict(), {**hp.to_dict(), "seed": seed}, metrics, result.curve, extra
    )
