"""Train the rating model (star regression) with rating-aware messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from trainer.rating_autoencoder import autoencoder_predict, fit_autoencoder, refit_autoencoder
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


@dataclass(frozen=True)
class _GnnStars:
    """What the autoencoder step needs from the trained GNN: its raw stars and the splits."""

    raw: Callable[[MessageEdges, Tensor], np.ndarray]
    fit: MessageEdges
    val: MessageEdges
    known: MessageEdges
    test: RatingTarget


def _add_autoencoder(
    model: RatingModel,
    gnn: _GnnStars,
    every: MessageEdges,
    shape: tuple[int, int],
    hp: RatingHyper,
    seed: int,
    progress: Progress,
    metrics: dict[str, float],
) -> dict[str, Any]:
    """Fit the item-autoencoder term, report the blend on the test ratings, attach the served term.

    The test figures come from the term fitted on ``known`` (never the test
    share); the served term is refitted on ``every`` rating when they differ.
    """
    cpu = torch.device("cpu")
    fit_edges, known = gnn.fit.to(cpu), gnn.known.to(cpu)
    ae = fit_autoencoder(fit_edges, gnn.val, gnn.raw(gnn.fit, gnn.val.edge_index), known, shape, hp, seed, progress)
    pairs, truth = gnn.test.pairs, gnn.test.stars.numpy()
    ae_test = autoencoder_predict(ae.model, known, shape, pairs)
    beta = ae.model.cfg.blend
    blended = np.clip((1 - beta) * gnn.raw(gnn.known, pairs) + beta * ae_test, MIN_STARS, MAX_STARS)
    metrics |= {
        "gnn_test_rmse": metrics["test_rmse"],
        "autoencoder_test_rmse": rmse(np.clip(ae_test, MIN_STARS, MAX_STARS), truth),
        "test_rmse": rmse(blended, truth),
        "blend_val_rmse": ae.blend_val_rmse,
        "autoencoder_epochs": float(ae.epochs),
    }
    served = ae.model
    if every.edge_index.shape[1] != known.edge_index.shape[1]:
        served = refit_autoencoder(ae.model.cfg, every, shape[1], ae.epochs, hp, seed)
    model.attach_autoencoder(served)
    return served.cfg.to_dict()


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

    def raw(msg: MessageEdges, pairs: Tensor) -> np.ndarray:
        with torch.no_grad():
            out: np.ndarray = model(movie_x, msg.to(device), pairs.to(device)).cpu().numpy()
        return out

    def score(msg: MessageEdges, target: RatingTarget) -> float:
        return rmse(np.clip(raw(msg, target.pairs), MIN_STARS, MAX_STARS), target.stars.numpy())

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
    config: dict[str, Any] = cfg.to_dict()
    if hp.autoencoder_hidden > 0:
        gnn = _GnnStars(raw, fit_edges, val, known, test)
        config["autoencoder"] = _add_autoencoder(
            model, gnn, edges, (len(rg.users), len(rg.movies)), hp, seed, progress, metrics
        )
    model = model.cpu()
    hyper = {**hp.to_dict(), "seed": seed, "global_mean": mean}
    return TrainResult("rating", model, config, hyper, metrics, result.curve)
