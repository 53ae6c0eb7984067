"""The ranking model's closed-form fit: EASE on session-mixed co-ratings, pruning, selection, calibration, refit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from reelgraph.data import read_movielens
from reelgraph.graphs import build_rating_graph
from reelgraph.models.ranking import Histories, RankingHead
from tests.movielens_fixtures import Tiny, make_tiny, write_csv_layout
from trainer.hyper import RankingHyper
from trainer.progress import Progress
from trainer.ranking import corating_gram, fit_ranking, solve_corating_weights, validation_split
from trainer.sessions import session_ids, session_matrix

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


def test_session_share_mixes_within_session_co_ratings_into_the_gram_matrix() -> None:
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    movies = np.array([0, 1, 2, 3, 0, 2, 3])
    # User 0 rates 0 and 1 together, pauses an hour, then 2 and 3; user 1 rates 0, 2, 3 in one sitting.
    times = np.array([0, 60, 3600, 3660, 0, 30, 90])
    S = session_matrix(users, movies, times, 5, gap_s=300)
    assert S.toarray().tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [1, 0, 1, 1, 0]]
    X = sp.csr_matrix((np.ones(7, np.float32), (users, movies)), shape=(2, 5))
    keep = np.arange(5)
    G = corating_gram(X, S, keep, 0.75, CPU).numpy()
    np.testing.assert_allclose(G, 0.25 * (X.T @ X).toarray() + 0.75 * (S.T @ S).toarray())
    # The diagonals agree (every rating is in one session); 0 and 2 were rated in one sitting once, not twice.
    np.testing.assert_allclose(np.diag(G), np.asarray(X.sum(axis=0)).ravel())
    assert G[0, 2] == 0.25 * 2 + 0.75 * 1
    np.testing.assert_array_equal(corating_gram(X, None, keep, 0.0, CPU).numpy(), (X.T @ X).toarray())
    with pytest.raises(ValueError, match=r"session share 0\.5"):
        corating_gram(X, None, keep, 0.5, CPU)
    with pytest.raises(ValueError, match=r"within 0\.\.1, got 1\.5"):
        corating_gram(X, S, keep, 1.5, CPU)
    # B is EASE's closed form on the mixed Gram matrix.
    hp = RankingHyper(min_ratings=1, edges_per_movie=(1000,))
    B = solve_corating_weights(X, 3.0, hp, CPU, sessions=S, session_share=0.75).toarray()
    P = np.linalg.inv(G[:4, :4].astype(np.float64) + 3.0 * np.eye(4))  # movie 4: nobody rated it
    expected = P / -np.diag(P)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(B[:4, :4], expected, atol=1e-4)
    assert not B[4].any()
    assert not B[:, 4].any()


def test_sessions_split_each_users_ratings_at_pauses_whatever_their_order() -> None:
    users = np.array([1, 0, 1, 0, 1, 0])
    times = np.array([1000, 10, 0, 5000, 100, 10])
    ids = session_ids(users, times, gap_s=300)
    # user 0: 10, 10 | 5000; user 1: 0, 100 | 1000 — four sessions, never shared between users.
    assert ids[1] == ids[5] != ids[3]
    assert ids[2] == ids[4] != ids[0]
    assert len({*ids[[1, 3, 5]]} & {*ids[[0, 2, 4]]}) == 0
    assert sorted(set(ids.tolist())) == [0, 1, 2, 3]
    assert session_matrix(users[:0], users[:0], times[:0], 3, 300).shape == (0, 3)


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
        ridge=(1.0, 10.0),
        session_share=(0.0, 0.5),
        star_slope=(0.0, 0.2),
        popularity=(0.0, 0.01),
        edges_per_movie=(2, 8),
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
        sessions=session_matrix(
            e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.time.numpy(), len(rg.movies), hp.session_gap
        ),
        session_share=result.metrics["session_share"],
        edges_per_movie=edges,
    )
    served = RankingHead(result.model).B  # type: ignore[arg-type]
    np.testing.assert_allclose(served.toarray(), direct.toarray(), atol=1e-6)


def _in_sittings(tiny: Tiny, per_sitting: int) -> Tiny:
    """``tiny`` re-timed: each user rates ``per_sitting`` movies a minute apart, then pauses a day."""
    ratings, seen = [], dict[int, int]()
    for u, m, r, _ in tiny.ratings:
        i = seen[u] = seen.get(u, -1) + 1
        ratings.append((u, m, r, 900_000_000 + (i // per_sitting) * 86_400 + (i % per_sitting) * 60))
    return Tiny(ratings, tiny.movies)


def test_fit_ranking_with_a_session_share_serves_weights_solved_with_all_sittings(tmp_path: Path) -> None:
    rg = build_rating_graph(read_movielens(write_csv_layout(tmp_path / "sittings", _in_sittings(make_tiny(), 4))))
    e = rg.message_edges()
    users, movies, times = e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.time.numpy()
    sessions = session_matrix(users, movies, times, len(rg.movies), 300.0)
    assert users.size / 4 <= sessions.shape[0] < users.size  # real sittings, several ratings each
    hp = RankingHyper(ridge=(3.0,), session_share=(0.5,), star_slope=(0.0,), popularity=(0.0,), edges_per_movie=(8,))
    result = fit_ranking(rg, hp, seed=0, device=CPU, progress=Progress(enabled=False))
    assert result.metrics["session_share"] == 0.5
    seen = Histories.from_edges(users, movies, e.rating.numpy(), len(rg.users)).matrix(len(rg.movies))
    direct = solve_corating_weights(seen, 3.0, hp, CPU, sessions=sessions, session_share=0.5, edges_per_movie=8)
    served = RankingHead(result.model).B  # type: ignore[arg-type]
    np.testing.assert_allclose(served.toarray(), direct.toarray(), atol=1e-6)
    # The sittings changed the weights: whole histories alone give another B.
    whole = solve_corating_weights(seen, 3.0, hp, CPU, edges_per_movie=8)
    assert np.abs(whole.toarray() - direct.toarray()).max() > 1e-3


def test_ranking_hyper_rejects_a_share_outside_0_1_and_a_negative_gap() -> None:
    with pytest.raises(ValueError, match=r"session_share must lie within 0\.\.1, got 1\.5"):
        RankingHyper(session_share=(0.0, 1.5))
    with pytest.raises(ValueError, match=r"session_gap must be ≥ 0 seconds, got -1"):
        RankingHyper(session_gap=-1.0)
    with pytest.raises(ValueError, match="session_gap"):
        RankingHyper(session_gap=float("nan"))
