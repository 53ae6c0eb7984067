"""Train the rating model (star regression): a rating-aware GNN blended with an item autoencoder."""

from __future__ import annotations

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
class _Splits:
    """Every rating, and the shares used to select, validate and report."""

    every: MessageEdges  # what the served model is refitted on
    fit: MessageEdges  # trains the model while selecting epochs (and the autoencoder blend)
    val: MessageEdges  # early stopping, the autoencoder's epochs and blend
    known: MessageEdges  # everything but the test share: messages at test time
    test: RatingTarget
    external_test: bool  # the test ratings are not in ``every``: the served model can be scored on them


def _splits(rg: RatingGraph, test: RatingTarget | None, hp: RatingHyper, seed: int) -> _Splits:
    gen = torch.Generator().manual_seed(seed)
    every = rg.message_edges()
    perm = torch.randperm(every.edge_index.shape[1], generator=gen)
    external = test is not None
    if test is None:
        n_test = int(hp.test_fraction * perm.numel())
        held = every.select(perm[:n_test])
        test, perm = RatingTarget(held.edge_index, held.rating), perm[n_test:]
    n_val = int(hp.val_fraction * perm.numel())
    return _Splits(every, every.select(perm[n_val:]), every.select(perm[:n_val]), every.select(perm), test, external)


class _Gnn:
    """Trains and runs rating GNNs on one graph (the movie features and hyper-parameters fixed)."""

    def __init__(self, rg: RatingGraph, hp: RatingHyper, device: torch.device) -> None:
        self.hp, self.device = hp, device
        self.movie_x = rg.graph["movie"].x.to(device)
        self.cfg = EncoderConfig(
            len(rg.users), len(rg.movies), self.movie_x.shape[1], hidden=hp.hidden, rating_messages=True
        )

    def new(self, edges: MessageEdges) -> tuple[RatingModel, torch.optim.Optimizer]:
        model = RatingModel(self.cfg, global_mean=float(edges.rating.mean())).to(self.device)
        return model, torch.optim.Adam(model.parameters(), lr=self.hp.lr)

    def epoch(self, model: RatingModel, opt: torch.optim.Optimizer, edges: MessageEdges) -> float:
        """One pass: a fresh ``supervision_fraction`` of ``edges`` is predicted from the rest."""
        order = torch.randperm(edges.edge_index.shape[1], device=self.device)
        k = int(self.hp.supervision_fraction * order.numel())
        msg, sup = edges.select(order[k:]), edges.select(order[:k])
        scale = edges.edge_index.shape[1] / msg.edge_index.shape[1]
        total, steps = 0.0, 0
        for batch in torch.randperm(k, device=self.device).split(self.hp.batch_size):
            loss = F.mse_loss(model(self.movie_x, msg, sup.edge_index[:, batch], scale), sup.rating[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        return total / max(steps, 1)

    def raw(self, model: RatingModel, msg: MessageEdges, pairs: Tensor) -> np.ndarray:
        """Unclipped stars of ``pairs`` with ``msg`` as the messages."""
        model.eval()
        with torch.no_grad():
            out: np.ndarray = model(self.movie_x, msg.to(self.device), pairs.to(self.device)).cpu().numpy()
        return out


def train_rating(
    rg: RatingGraph, test: RatingTarget | None, hp: RatingHyper, seed: int, device: torch.device, progress: Progress
) -> TrainResult:
    """Select on a validation split, report on the test ratings, refit on every rating.

    1. The GNN trains on the fitting share with early stopping on validation RMSE;
       the item-autoencoder term picks its epochs and blend ``β`` on the same split.
    2. Both are refitted on every rating for the chosen epochs: the served model.
    3. ``test_rmse`` is the served model's when the test ratings come from another
       file (not in the graph); otherwise (a held-out share, which the refit then
       includes) it is the model's before the refit, on messages without the share.
    """
    s = _splits(rg, test, hp, seed)
    torch.manual_seed(seed)
    gnn = _Gnn(rg, hp, device)
    fit_edges = s.fit.to(device)
    model, opt = gnn.new(fit_edges)
    truth = s.test.stars.numpy()
    result = fit(
        model,
        epochs=hp.epochs,
        patience=hp.patience,
        train_epoch=lambda: gnn.epoch(model, opt, fit_edges),
        validate=lambda: rmse(_clip(gnn.raw(model, s.fit, s.val.edge_index)), s.val.rating.numpy()),
        metric_name="val_rmse",
        higher_is_better=False,
        progress=progress,
        label="rating",
    )
    epochs = result.best_epoch + 1
    metrics = {"val_rmse": result.best_metric, "best_epoch": float(epochs)}
    gnn_test = gnn.raw(model, s.known, s.test.pairs)
    metrics["gnn_test_rmse"] = rmse(_clip(gnn_test), truth)
    shape = (len(rg.users), len(rg.movies))
    ae = None
    if hp.autoencoder_hidden > 0:
        ae = fit_autoencoder(s.fit, s.val, gnn.raw(model, s.fit, s.val.edge_index), s.known, shape, hp, seed, progress)
        ae_test = autoencoder_predict(ae.model, s.known, shape, s.test.pairs)
        metrics["autoencoder_test_rmse"] = rmse(_clip(ae_test), truth)
        metrics["blend_val_rmse"] = ae.blend_val_rmse
        metrics["autoencoder_epochs"] = float(ae.epochs)
        before = _blend(gnn_test, ae_test, ae.model.cfg.blend)
        metrics["test_rmse"] = rmse(before, truth)
    else:
        metrics["test_rmse"] = metrics["gnn_test_rmse"]
    progress.log(f"rating: refit on all {s.every.edge_index.shape[1]} ratings for {epochs} epochs")
    served, served_opt = gnn.new(s.every)
    every = s.every.to(device)
    for _ in range(epochs):
        served.train()
        gnn.epoch(served, served_opt, every)
    served_test = gnn.raw(served, s.every, s.test.pairs)
    config: dict[str, Any] = gnn.cfg.to_dict()
    if ae is not None:
        same = s.known.edge_index.shape[1] == s.every.edge_index.shape[1]  # no held-out share: already refit
        final = ae.model if same else refit_autoencoder(ae.model.cfg, s.every, shape[1], ae.epochs, hp, seed)
        served.attach_autoencoder(final)
        config["autoencoder"] = final.cfg.to_dict()
        served_test = _blend(served_test, autoencoder_predict(final, s.every, shape, s.test.pairs), final.cfg.blend)
    if s.external_test:
        metrics["test_rmse_before_refit"] = metrics["test_rmse"]
        metrics["test_rmse"] = rmse(_clip(served_test), truth)
    metrics["test_rmse_is_served_model"] = float(s.external_test)
    hyper = {**hp.to_dict(), "seed": seed, "global_mean": float(s.every.rating.mean())}
    return TrainResult("rating", served.cpu(), config, hyper, metrics, result.curve)


def _clip(stars: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(stars, MIN_STARS, MAX_STARS)
    return out


def _blend(gnn: np.ndarray, autoencoder: np.ndarray, beta: float) -> np.ndarray:
    """Served stars: ``clip((1 − β)·GNN + β·autoencoder)``."""
    return _clip((1 - beta) * gnn + beta * autoencoder)
