"""The ranking model's closed-form fit: EASE weights, pruning, selection, calibration, refit on everything."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from reelgraph.data import read_movielens
from reelgraph.graphs import build_rating_graph
from reelgraph.models.ranking import Histories, RankingHead
from trainer.hyper import RankingHyper
from trainer.progress import Progress
from trainer.ranking import dense_corating_weights, fit_ranking, solve_corating_weights, validation_split

CPU = torch.device("cpu")


def _random_dense(users: int, movies: int, density: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((users, movies)) < density).astype(np.float32)


def test_unpruned_weights_are_the_dense_closed_form() -> None:
    X = sp.csr_matrix(_random_dense(40, 12, 0.4, 0))
    B = solve_corating_weights(X, 3.0, RankingHyper(min_ratings=1, edges_per_movie=(1000,)), CPU).toarray()
    G = (X.T @ X).toarray().astype(np.float64) + 3.0 * np.eye(12)
    P = np.linalg.inv(G)
    expected = P / -np.diag(P)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(B, expected, atol=1e-4)
    assert np.all(np.diag(B) == 0)


def test_damped_weights_regress_damped_columns_and_score_undamped_histories() -> None:
    X = sp.csr_matrix(_random_dense(40, 12, 0.4, 2))
    hp = RankingHyper(min_ratings=1, edges_per_movie=(1000,))
    keep = np.arange(12)
    B = dense_corating_weights(X, keep, 3.0, CPU, damping=0.5).numpy()
    n = np.asarray(X.sum(axis=0)).ravel().astype(np.float64)
    d = n**-0.5
    G = (X.T @ X).toarray().astype(np.float64) * np.outer(d, d) + 3.0 * d.mean() ** 2 * np.eye(12)
    P = np.linalg.inv(G)
    damped = P / -np.diag(P)
    np.fill_diagonal(damped, 0.0)
    # x·B with B = D·B̃ is the damped history (x·D) propagated by the damped solution.
    np.testing.assert_allclose(B, d[:, None] * damped, atol=1e-4)
    plain = solve_corating_weights(X, 3.0, hp, CPU).toarray()
    assert not np.allclose(B, plain, atol=1e-3)
    # The served mixture: half of each, the damped one rescaled to the plain one's score spread.
    half = solve_corating_weights(X, 3.0, dataclasses.replace(hp, damping=0.5), CPU, damping_mix=0.5).toarray()
    dense = X.toarray()
    ratio = (dense @ plain).std() / (dense @ B).std()
    np.testing.assert_allclose(half, 0.5 * plain + 0.5 * ratio * B, atol=1e-4)


def test_pruning_keeps_the_strongest_incoming_edges_and_skips_rare_movies() -> None:
    dense = _random_dense(60, 20, 0.3, 1)
    dense[:, 19] = 0  # nobody rated movie 19
    dense[0, 18], dense[1:, 18] = 1, 0  # one rating only: below min_ratings=2
    X = sp.csr_matrix(dense)
    full = solve_corating_weights(X, 2.0, RankingHyper(min_ratings=2, edges_per_movie=(1000,)), CPU).toarray()
    pruned = solve_corating_weights(X, 2.0, RankingHyper(min_ratings=2, edges_per_movie=(4,)), CPU).toarray()
    assert not full[:, 18:].any()
    assert not full[18:, :].any()
    # 18 eligible movies × 4 edges on average, by one global magnitude threshold.
    assert np.count_nonzero(pruned) == 18 * 4
    kept = np.abs(full[pruned != 0])
    dropped = np.abs(full[(pruned == 0) & (full != 0)])
    assert kept.min() >= dropped.max()
    np.testing.assert_allclose(pruned[pruned != 0], full[pruned != 0], rtol=1e-5)


def test_validation_split_is_a_seeded_partition() -> None:
    fit, val = validation_split(1000, 0.1, seed=3)
    assert val.size == 100
    assert fit.size == 900
    assert np.array_equal(np.sort(np.concatenate([fit, val])), np.arange(1000))
    again, _ = validation_split(1000, 0.1, seed=3)
    assert np.array_equal(fit, again)


def test_fit_ranking_refits_on_every_rating_and_calibrates_upwards(tiny_csv: Path) -> None:
    rg = build_rating_graph(read_movielens(tiny_csv))
    hp = RankingHyper(
        ridge=(1.0, 10.0), damping_mix=(0.0, 0.5), star_slope=(0.0, 0.2), popularity=(0.0, 0.01), edges_per_movie=(2, 8)
    )
    result = fit_ranking(rg, hp, seed=0, device=CPU, progress=Progress(enabled=False))
    cfg = result.config
    assert cfg["calib_scale"] > 0  # probabilities rise with the score that ranks them
    assert result.metrics["ridge"] in (1.0, 10.0)
    assert 0.0 <= result.metrics["val_recall_at_20"] <= 1.0
    assert len(result.curve.metric) == len(result.curve.loss) == 2 * 2 * 2 + 2 + 2
    # The served weights are solved from all ratings: the same as solving them here directly.
    e = rg.message_edges()
    hist = Histories.from_edges(e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.rating.numpy(), len(rg.users))
    edges = int(result.metrics["edges_per_movie"])
    direct = solve_corating_weights(
        hist.matrix(len(rg.movies)),
        result.metrics["ridge"],
        hp,
        CPU,
        edges_per_movie=edges,
        damping_mix=result.metrics["damping_mix"],
    )
    served = RankingHead(result.model).B  # type: ignore[arg-type]
    np.testing.assert_allclose(served.toarray(), direct.toarray(), atol=1e-6)
