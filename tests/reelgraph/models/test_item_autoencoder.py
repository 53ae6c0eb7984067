"""The item autoencoder term of the rating model: states, fold-in and how Scorer serves the blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import reelgraph
from reelgraph.models.item_autoencoder import (
    AutoencoderConfig,
    ItemAutoencoder,
    all_movie_states,
    fold_in_user,
    rating_columns,
    solve_user_rows,
)
from reelgraph.models.pair import RatingModel
from reelgraph.options import ModelKind


def test_sparse_states_equal_the_dense_encoder() -> None:
    torch.manual_seed(0)
    model = ItemAutoencoder(AutoencoderConfig(num_users=7, hidden=5))
    movies, users = np.array([0, 0, 2, 3, 3, 3]), np.array([1, 6, 0, 2, 4, 5])
    stars = np.array([4.0, 2.5, 5.0, 1.0, 3.0, 4.5], dtype=np.float32)
    columns = rating_columns(movies, users, stars, num_movies=4, num_users=7)
    dense = torch.zeros(4, 7)
    dense[movies, users] = torch.from_numpy(stars)
    with torch.no_grad():
        expected = model.movie_states(dense)
    torch.testing.assert_close(all_movie_states(model, columns, block=3), expected)
    assert torch.all(expected[1] == torch.sigmoid(model.encoder.bias.detach()))  # nobody rated movie 1


def test_fold_in_is_the_penalised_least_squares_solution() -> None:
    rng = np.random.default_rng(0)
    H = rng.random((12, 4))
    r = rng.uniform(0.5, 5.0, 12)
    row = fold_in_user(torch.from_numpy(H).float(), torch.from_numpy(r).float(), ridge=3.0).numpy()
    X = np.hstack([H, np.ones((12, 1))])
    reg = np.diag([1.5, 1.5, 1.5, 1.5, 1e-6])
    expected = np.linalg.solve(X.T @ X + reg, X.T @ r)
    np.testing.assert_allclose(row, expected, rtol=1e-4, atol=1e-4)
    # One rating: the offset alone reproduces it (the weights are penalised, the offset is not).
    one = fold_in_user(torch.from_numpy(H[:1]).float(), torch.tensor([4.0]), ridge=1e6).numpy()
    assert abs(float(one @ np.append(H[0], 1.0)) - 4.0) < 1e-2


def test_served_stars_are_the_blend_of_both_terms(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    model = scorer._pair_model(ModelKind.RATING)
    assert isinstance(model, RatingModel)
    ae = model.autoencoder
    assert ae is not None, "reelgraph train attaches the autoencoder term by default"
    e = scorer._edges
    users, movies = np.array([0, 3, 5, 7]), np.array([2, 2, 9, 11])
    pairs = torch.from_numpy(np.stack([users, movies]))
    with torch.no_grad():
        gnn = model(scorer.bundle.graph.movie_x, e, pairs).numpy()
        ei = e.edge_index.numpy()
        columns = rating_columns(ei[1], ei[0], e.rating.numpy(), len(scorer.movies), len(scorer.users))
        h = all_movie_states(ae, columns)[movies]
        own = (h * ae.decoder.weight[users]).sum(-1) + ae.decoder.bias[users]
    beta = ae.cfg.blend
    expected = np.clip((1 - beta) * gnn + beta * own.numpy(), 0.5, 5.0)
    got = scorer.predict_rating(scorer.users.ids[users], scorer.movies.ids[movies])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_solved_user_rows_are_each_users_fold_in() -> None:
    torch.manual_seed(1)
    model = ItemAutoencoder(AutoencoderConfig(num_users=4, hidden=3, l2=2.0))
    movies, users = np.array([0, 1, 2, 1, 3, 0, 2]), np.array([0, 0, 0, 2, 2, 3, 3])
    stars = np.array([4.0, 3.0, 5.0, 2.0, 1.5, 4.5, 4.0], dtype=np.float32)
    columns = rating_columns(movies, users, stars, num_movies=4, num_users=4)
    untouched = model.decoder.weight[1].detach().clone()
    solve_user_rows(model, columns)
    H = all_movie_states(model, columns)
    for u in (0, 2, 3):
        mine = users == u
        row = fold_in_user(H[movies[mine]], torch.from_numpy(stars[mine]), 2.0)
        torch.testing.assert_close(model.decoder.weight[u].detach(), row[:-1])
        torch.testing.assert_close(model.decoder.bias[u].detach(), row[-1])
    torch.testing.assert_close(model.decoder.weight[1].detach(), untouched)  # user 1 rated nothing


def test_the_wide_rating_head_keeps_a_table_equal_to_its_dot_products(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    head = scorer.heads[ModelKind.RATING]
    assert head.table is not None  # tiny: the users × movies table fits
    u = np.repeat(np.arange(len(scorer.users)), len(scorer.movies))
    m = np.tile(np.arange(len(scorer.movies)), len(scorer.users))
    np.testing.assert_allclose(head.pairs(u, m), np.vecdot(head.U[u], head.M[m]), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(head.all_movies(np.array([2, 0])), head.U[[2, 0]] @ head.M.T, rtol=1e-5, atol=1e-4)
    assert scorer.heads[ModelKind.LINK].table is None  # narrow heads stay two gathers and a dot
