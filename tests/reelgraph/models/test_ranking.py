"""The ranking model is linear in the history: exact contributions, deletion, torch and numpy agree."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from reelgraph.models.ranking import TIE_BREAK, CoRatingRanker, Histories, RankingConfig, RankingHead


def _model(star_slope: float = 0.3, popularity: float = 0.01) -> CoRatingRanker:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(8, 8)).astype(np.float32) * (rng.random((8, 8)) < 0.5)
    np.fill_diagonal(dense, 0.0)
    B = sp.csr_matrix(dense)
    cfg = RankingConfig(num_movies=8, nnz=B.nnz, star_slope=star_slope, popularity=popularity)
    return CoRatingRanker.from_arrays(cfg, B, counts=np.arange(8, dtype=np.float64))


def test_scores_follow_the_equation_and_torch_matches_numpy() -> None:
    model = _model()
    head = RankingHead(model)
    h = Histories.from_edges(np.array([0, 0, 0, 1]), np.array([1, 4, 6, 2]), np.array([5.0, 2.0, 4.0, 3.0]), 2)
    w = head.input_weights(h)
    mean0 = (5.0 + 2.0 + 4.0) / 3
    np.testing.assert_allclose(w[:3], np.maximum(0.05, 1 + 0.3 * (np.array([5.0, 2.0, 4.0]) - mean0)), rtol=1e-6)
    assert w[3] == 1.0  # one rating: at its own mean
    dense = head.B.toarray()
    prior = (0.01 + TIE_BREAK) * np.log1p(np.arange(8))
    expected = np.stack([w[:3] @ dense[[1, 4, 6]], w[3:] @ dense[[2]]]) + prior
    np.testing.assert_allclose(head.scores(h), expected, rtol=1e-5, atol=1e-6)
    x = torch.from_numpy(h.matrix(8, w).toarray())
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_contributions_are_exact_shares_and_deleting_one_removes_it() -> None:
    head = RankingHead(_model(star_slope=0.0))
    movies, stars = np.array([1, 3, 4, 6]), np.array([5.0, 4.0, 3.0, 1.0], np.float32)
    h = Histories.one(movies, stars)
    target = 2
    parts = head.contributions(h, target)
    total = head.pair_scores(h, np.array([target]))[0]
    assert np.isclose(parts.sum() + head.prior[target], total, atol=1e-6)
    without = Histories.one(movies[1:], stars[1:])
    assert np.isclose(head.pair_scores(without, np.array([target]))[0], total - parts[0], atol=1e-6)


def test_rows_selects_histories_in_order() -> None:
    h = Histories.from_edges(np.array([2, 0, 2, 1]), np.array([5, 6, 7, 8]), np.array([1.0, 2.0, 3.0, 4.0]), 3)
    sub = h.rows(np.array([2, 0]))
    assert sub.indptr.tolist() == [0, 2, 3]
    assert sub.movies.tolist() == [5, 7, 6]
    assert sub.stars.tolist() == [1.0, 3.0, 2.0]
    empty = h.rows(np.array([], dtype=np.int64))
    assert empty.num_users == 0


def test_probability_rises_with_the_score() -> None:
    model = _model()
    model.cfg = RankingConfig(8, model.cfg.nnz, calib_scale=2.0, calib_bias=-1.0)
    head = RankingHead(model)
    p = head.probability(np.array([-1.0, 0.0, 3.0], np.float32))
    assert np.all(np.diff(p) > 0)
    assert np.isclose(p[1], 1 / (1 + np.e))
