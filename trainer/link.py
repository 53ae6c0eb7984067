"""Train the link model under the E1 protocol (the README's E1 split)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch_geometric.transforms as T
from torch import Tensor
from torch.nn import functional as F

from reelgraph.evaluation.metrics import roc_auc
from reelgraph.graphs.hetero import RATES, REV_RATES, MessageEdges, PairAttributes, RatingGraph
from reelgraph.models.encoder import EncoderConfig
from reelgraph.models.pair import LinkModel
from reelgraph.options import coerce
from trainer.hyper import LinkHyper
from trainer.loop import fit
from trainer.progress import Progress
from trainer.result import TrainResult
from trainer.sampling import Sampling, choose, full_stats, sampled_batches, sampled_logits


@dataclass(frozen=True)
class LinkSplit:
    """E1: ``RandomLinkSplit(num_val=0.1, num_test=0.1, disjoint_train_ratio=0.3)``.

    ``train`` holds every training edge (message and supervision); ``val_msg``
    / ``test_msg`` are the message edges used when scoring ``val`` / ``test``
    label pairs (1 random negative per positive).
    """

    train: MessageEdges
    val_msg: MessageEdges
    val_pairs: Tensor
    val_labels: Tensor
    test_msg: MessageEdges
    test_pairs: Tensor
    test_labels: Tensor


def e1_split(rg: RatingGraph, seed: int) -> LinkSplit:
    """Split ``rg`` as E1 does, deterministically under ``seed``.

    PyG's negative sampling draws from Python's ``random`` module, which
    ``torch.manual_seed`` does not touch: seed it too (and restore it after).
    """
    torch.manual_seed(seed)
    saved = random.getstate()
    random.seed(seed)
    split = T.RandomLinkSplit(
        num_val=0.1,
        num_test=0.1,
        disjoint_train_ratio=0.3,
        neg_sampling_ratio=1.0,
        add_negative_train_samples=False,
        edge_types=RATES,
        rev_edge_types=REV_RATES,
    )
    try:
        tr, va, te = split(rg.graph)
    finally:
        random.setstate(saved)
    attrs = PairAttributes(rg)

    def edges(index: Tensor) -> MessageEdges:
        return MessageEdges(index, *attrs(index))

    train = torch.cat([tr[RATES].edge_index, tr[RATES].edge_label_index], dim=1)
    return LinkSplit(
        train=edges(train),
        val_msg=edges(va[RATES].edge_index),
        val_pairs=va[RATES].edge_label_index,
        val_labels=va[RATES].edge_label,
        test_msg=edges(te[RATES].edge_index),
        test_pairs=te[RATES].edge_label_index,
        test_labels=te[RATES].edge_label,
    )


def train_link(rg: RatingGraph, hp: LinkHyper, seed: int, device: torch.device, progress: Progress) -> TrainResult:
    """Train on E1's training edges; report val/test AUC; early-stop on val AUC."""
    split = e1_split(rg, seed)
    mode = choose(coerce(Sampling, hp.sampling, "sampling"), split.train.edge_index.shape[1])
    torch.manual_seed(seed)
    movie_x = rg.graph["movie"].x.to(device)
    cfg = EncoderConfig(len(rg.users), len(rg.movies), movie_x.shape[1], hidden=hp.hidden)
    model = LinkModel(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr)
    train = split.train.to(device)
    epoch = _sampled_epoch if mode is Sampling.NEIGHBOR else _full_epoch

    def auc(msg: MessageEdges, pairs: Tensor, labels: Tensor) -> float:
        with torch.no_grad():
            scores = model(movie_x, msg.to(device), pairs.to(device))
        return roc_auc(labels.numpy(), scores.cpu().numpy())

    result = fit(
        model,
        epochs=hp.epochs,
        patience=hp.patience,
        train_epoch=lambda: epoch(model, opt, movie_x, train, hp),
        validate=lambda: auc(split.val_msg, split.val_pairs, split.val_labels),
        metric_name="val_auc",
        higher_is_better=True,
        progress=progress,
        label=f"link ({mode.value})",
    )
    metrics = {
        "e1_val_auc": result.best_metric,
        "e1_test_auc": auc(split.test_msg, split.test_pairs, split.test_labels),
        "best_epoch": float(result.best_epoch + 1),
    }
    hyper = {**hp.to_dict(), "sampling": mode.value, "seed": seed}
    return TrainResult("link", model.cpu(), cfg.to_dict(), hyper, metrics, result.curve)


def _full_epoch(
    model: LinkModel, opt: torch.optim.Optimizer, movie_x: Tensor, train: MessageEdges, hp: LinkHyper
) -> float:
    """One pass over fresh supervision edges, each step encoding the full message graph."""
    msg, sup, scale = _resplit(train, hp.supervision_fraction)
    n_users, n_movies = model.cfg.num_users, model.cfg.num_movies

    def losses() -> Iterator[Tensor]:
        for batch in torch.randperm(sup.shape[1], device=sup.device).split(hp.batch_size):
            pos = sup[:, batch]
            neg = _random_pairs(pos.shape[1] * hp.negatives, n_users, n_movies, sup.device)
            labels = torch.cat([torch.ones(pos.shape[1]), torch.zeros(neg.shape[1])]).to(sup.device)
            yield F.binary_cross_entropy_with_logits(model(movie_x, msg, torch.cat([pos, neg], dim=1), scale), labels)

    return _mean_step_loss(opt, losses())


def _sampled_epoch(
    model: LinkModel, opt: torch.optim.Optimizer, movie_x: Tensor, train: MessageEdges, hp: LinkHyper
) -> float:
    """One pass where each step encodes only the sampled neighbourhood of its edges."""
    msg, sup, scale = _resplit(train, hp.supervision_fraction)
    n_users, n_movies = model.cfg.num_users, model.cfg.num_movies
    stats = full_stats(msg, n_users, n_movies, scale)
    batches = sampled_batches(
        msg.to(torch.device("cpu")),
        sup.cpu(),
        n_users,
        n_movies,
        num_neighbors=hp.num_neighbors,
        batch_size=hp.batch_size,
        negatives=hp.negatives,
    )

    def losses() -> Iterator[Tensor]:
        for batch in batches:
            batch = batch.to(movie_x.device)
            logits = sampled_logits(model, batch, movie_x, stats, msg)
            yield F.binary_cross_entropy_with_logits(logits, batch[RATES].edge_label)

    return _mean_step_loss(opt, losses())


def _mean_step_loss(opt: torch.optim.Optimizer, losses: Iterator[Tensor]) -> float:
    """One optimiser step per loss, each taken before the next loss is computed; their mean (0 for none)."""
    total, steps = 0.0, 0
    for loss in losses:
        opt.zero_grad()
        loss.backward()
        opt.step()
        total, steps = total + float(loss.item()), steps + 1
    return total / max(steps, 1)


def _resplit(train: MessageEdges, fraction: float) -> tuple[MessageEdges, Tensor, float]:
    """Fresh (message edges, supervision pairs) split of the training edges, and the message scale
    (training edges per message edge)."""
    perm = torch.randperm(train.edge_index.shape[1], device=train.edge_index.device)
    k = int(fraction * perm.numel())
    msg = train.select(perm[k:])
    return msg, train.edge_index[:, perm[:k]], train.edge_index.shape[1] / msg.edge_index.shape[1]


def _random_pairs(n: int, num_users: int, num_movies: int, device: torch.device) -> Tensor:
    # Uniform (user, movie) pairs, as E1's evaluation negatives are drawn.
    return torch.stack(
        [torch.randint(0, num_users, (n,), device=device), torch.randint(0, num_movies, (n,), device=device)]
    )
