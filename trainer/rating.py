"""Train the rating model (star regression) with rating-aware messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from reelgraph.data.dataset import MovieLens
from reelgraph.evaluation.metrics import rmse
from reelgraph.graphs.hetero import MessageEdges, RatingGraph
from reelgraph.models.encoder import EncoderConfig
from reelgraph.models.pair import MAX_STARS, MIN_STARS, RatingModel
from trainer.hyper import RatingHyper
from trainer.loop import fit
from trainer.progress import Progress
from trainer.result import TrainResult


@dataclass(frozen=True)
class RatingTarget:
    """Pairs (``(2, N)`` indices) with their stars."""

    pairs: Tensor
    stars: Tensor


def external_test(rg: RatingGraph, test: MovieLens) -> tuple[RatingTarget, float]:
    """Test ratings from another file, restricted to known users/movies; returns coverage."""
    u, u_ok = rg.users.lookup(test.ratings["user_id"].to_numpy())
    m, m_ok = rg.movies.lookup(test.ratings["movie_id"].to_numpy())
    ok = u_ok & m_ok
    pairs = torch.from_numpy(np.stack([u[ok], m[ok]]))
    stars = torch.tensor(test.ratings["rating"].to_numpy()[ok], dtype=torch.float32)
    return RatingTarget(pairs, stars), float(ok.mean()) if ok.size else 0.0


def train_rating(
    rg: RatingGraph, test: RatingTarget | None, hp: RatingHyper, seed: int, device: torch.device, progress: Progress
) -> TrainResult:
    """Fit on the graph's ratings; RMSE on ``test`` (or a held-out share of them)."""
    gen = torch.Generator().manual_seed(seed)
    edges = rg.message_edges()
    perm = torch.randperm(edges.edge_index.shape[1], generator=gen)
    if test is None:
        n_test = int(hp.test_fraction * perm.numel())
        held = edges.select(perm[:n_test])
        test, perm = RatingTarget(held.edge_index, held.rating), perm[n_test:]
    n_val = int(hp.val_fraction * perm.numel())
    val, fit_edges = edges.select(perm[:n_val]), edges.select(perm[n_val:]).to(device)
    known = edges.select(perm)  # everything but the test share: messages at test time
    torch.manual_seed(seed)
    movie_x = rg.graph["movie"].x.to(device)
    mean = float(fit_edges.rating.mean())
    cfg = EncoderConfig(len(rg.users), len(rg.movies), movie_x.shape[1], hidden=hp.hidden, rating_messages=True)
    model = RatingModel(cfg, global_mean=mean).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr)

    def train_epoch() -> float:
        order = torch.randperm(fit_edges.edge_index.shape[1], device=device)
        k = int(hp.supervision_fraction * order.numel())
        msg, sup = fit_edges.select(order[k:]), fit_edges.select(order[:k])
        scale = fit_edges.edge_index.shape[1] / msg.edge_index.shape[1]
        total, steps = 0.0, 0
        for batch in torch.randperm(k, device=device).split(hp.batch_size):
            loss = F.mse_loss(model(movie_x, msg, sup.edge_index[:, batch], scale), sup.rating[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        return total / max(steps, 1)

    def score(msg: MessageEdges, target: RatingTarget) -> float:
        with torch.no_grad():
            pred = model(movie_x, msg.to(device), target.pairs.to(device)).clamp(MIN_STARS, MAX_STARS)
        return rmse(pred.cpu().numpy(), target.stars.numpy())

    result = fit(
        model,
        epochs=hp.epochs,
        patience=hp.patience,
        train_epoch=train_epoch,
        validate=lambda: score(fit_edges, RatingTarget(val.edge_index, val.rating)),
        metric_name="val_rmse",
        higher_is_better=False,
        progress=progress,
        label="rating",
    )
    metrics = {
        "val_rmse": result.best_metric,
        "test_rmse": score(known, test),
        "best_epoch": float(result.best_epoch + 1),
    }
    hyper = {**hp.to_dict(), "seed": seed, "global_mean": mean}
    return TrainResult("rating", model.cpu(), cfg.to_dict(), hyper, metrics, result.curve)
