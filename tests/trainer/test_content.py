"""The content model fitted on tiny constructed data, served through a real bundle.

Two taste groups: odd users rate mostly Comedy (5 stars), even users mostly
Drama (5 stars), each rating a few movies of the other genre low.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trainer.content
from reelgraph.data.readers import read_movielens
from reelgraph.errors import InvalidRequestError, ModelUnavailableError, UnknownIdsError
from reelgraph.graphs.hetero import build_rating_graph
from reelgraph.models.content import ContentHead
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from tests.movielens_fixtures import Tiny, write_csv_layout
from trainer.content import _fit_users, _low_rank_link, _Offset, _Ratings, fit_content, per_movie_auc
from trainer.hyper import ContentHyper, RankingHyper
from trainer.pipeline import run_training
from trainer.progress import Progress
from trainer.settings import TrainSettings

_HYPER = ContentHyper(
    ridge=(10.0, 100.0),
    title_weight=(0.0, 1.0),
    tag_weight=(0.0, 1.0),
    activity=(0.0,),
    mean_ridge=(1.0,),
    user_ridge=(3.0,),
    title_dim=32,
    tag_dim=32,
    val_min_ratings=3,
    val_fraction=0.2,
)


def _taste_groups(n_users: int = 30, n_movies: int = 40, seed: int = 0) -> Tiny:
    rng = np.random.default_rng(seed)
    movies = []
    for i in range(n_movies):
        genre = "Comedy" if i % 2 else "Drama"
        movies.append((100 + i, f"{genre} Story {i} ({1985 + i % 30})", [genre]))
    ratings = []
    for u in range(1, n_users + 1):
        own = [i for i in range(n_movies) if (i % 2 == 1) == (u % 2 == 1)]
        other = [i for i in range(n_movies) if i not in own]
        for i in rng.choice(own, 12, replace=False):
            ratings.append((u, 100 + int(i), 5.0, 1_000_000_000 + int(i)))
        for i in rng.choice(other, 2, replace=False):
            ratings.append((u, 100 + int(i), 2.0, 1_000_000_000 + int(i)))
    return Tiny(ratings, movies)


@pytest.fixture(scope="module")
def content_scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    """A real bundle holding only the content model, with a tags.csv beside the ratings."""
    root = tmp_path_factory.mktemp("content")
    data = write_csv_layout(root / "groups", _taste_groups())
    (data / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,101,laugh out loud,1\n2,100,tearjerker,2\n")
    settings = TrainSettings(
        data_dir=data, out_dir=root / "bundles", models=(ModelKind.CONTENT,), progress=False, content=_HYPER
    )
    path, (result,) = run_training(settings)
    assert result.metrics["val_movies"] > 0
    return Scorer.load(path)


def test_a_new_movie_ranks_high_for_users_whose_history_favours_its_genre(content_scorer: Scorer) -> None:
    odd, even = np.arange(1, 31, 2), np.arange(2, 31, 2)
    p_odd = content_scorer.link_probability_new_movie(odd, ["Comedy"], 2001, "A Brand New Comedy")
    p_even = content_scorer.link_probability_new_movie(even, ["Comedy"], 2001, "A Brand New Comedy")
    assert p_odd.dtype == np.float32
    assert np.all((p_odd > 0) & (p_odd < 1))
    assert p_odd.min() > p_even.max()
    top = content_scorer.audience_new_movie(["Drama"], 1999, k=10)
    assert top.user_ids.shape == top.probabilities.shape == (10,)
    assert np.all(top.user_ids % 2 == 0)
    assert np.all(np.diff(top.probabilities) <= 0)


def test_star_predictions_follow_the_groups_and_stay_in_range(content_scorer: Scorer) -> None:
    users = np.arange(1, 31)
    stars = content_scorer.predict_rating_new_movie(users, ["Comedy"], 2001)
    assert stars.dtype == np.float32
    assert np.all((stars >= 0.5) & (stars <= 5.0))
    assert stars[users % 2 == 1].mean() > stars[users % 2 == 0].mean() + 1.0
    mean = content_scorer.movie_mean_rating_new_movie(["Comedy"], 2001, "Something")
    assert isinstance(mean, float)
    assert 2.0 <= mean <= 5.0


def test_content_requests_are_checked(content_scorer: Scorer) -> None:
    with pytest.raises(InvalidRequestError, match=r"unknown genre.*'Western'.*valid: .*Comedy"):
        content_scorer.link_probability_new_movie(np.array([1]), ["Western"])
    with pytest.raises(InvalidRequestError, match="year"):
        content_scorer.movie_mean_rating_new_movie(["Comedy"], year=1850)
    with pytest.raises(InvalidRequestError, match="title"):
        content_scorer.predict_rating_new_movie(np.array([1]), ["Comedy"], title=" ")
    with pytest.raises(UnknownIdsError, match="unknown user ids: 999"):
        content_scorer.link_probability_new_movie(np.array([1, 999]), ["Comedy"])
    with pytest.raises(ValueError, match="k must be"):
        content_scorer.audience_new_movie(["Comedy"], k=0)


def test_tags_and_titles_reach_the_features(content_scorer: Scorer) -> None:
    head = content_scorer.content
    plain = head.features(["Comedy"], 2001)
    tagged = head.features(["Comedy"], 2001, "Laugh Riot", ("laugh out loud",))
    assert head.cfg.tag_dim == 32
    assert not np.array_equal(plain, tagged)


def test_the_default_bundle_has_it_and_one_without_says_so(tiny_bundle: Path, tmp_path: Path) -> None:
    assert Scorer.load(tiny_bundle).movie_mean_rating_new_movie(["Comedy"], 1999) > 0
    data = write_csv_layout(tmp_path / "groups", _taste_groups())
    ranking = RankingHyper(ridge=(10.0,), edges_per_movie=(64,), star_slope=(0.0,), popularity=(0.0,))
    settings = TrainSettings(
        data_dir=data, out_dir=tmp_path / "b", models=(ModelKind.RANKING,), progress=False, ranking=ranking
    )
    path, _ = run_training(settings)
    with pytest.raises(ModelUnavailableError, match="no content model"):
        Scorer.load(path).movie_mean_rating_new_movie(["Comedy"])


def test_per_movie_auc_counts_ties_half_and_skips_single_class_rows() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [1.0, 2.0, 3.0, 4.0]])
    labels = np.array([[0, 1, 1, 0], [0, 0, 0, 0]], dtype=float)
    auc = per_movie_auc(scores, labels)
    assert auc[0] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert np.isnan(auc[1])


def _random_ratings(n_movies: int = 30, n_users: int = 12, seed: int = 0) -> tuple[np.ndarray, _Ratings]:
    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.integers(0, [n_movies, n_users], size=(150, 2)), axis=0)
    stars = np.asarray(rng.integers(1, 11, size=pairs.shape[0]), np.float64) * 0.5
    F = rng.normal(size=(n_movies, 7)).astype(np.float32)
    return F, _Ratings(pairs[:, 1], pairs[:, 0], stars, (n_movies, n_users))


def test_the_rank_r_link_refit_is_the_ridge_solution_truncated_in_the_fitted_scores() -> None:
    F, r = _random_ratings()
    rows = np.flatnonzero(r.counts > 0)
    Fr = F[rows].astype(np.float64)
    W = np.linalg.solve(Fr.T @ Fr + 3.0 * np.eye(7), Fr.T @ r.seen[rows].toarray())
    P, Q = _low_rank_link(F, r, rows, 3.0, 7)
    np.testing.assert_allclose(P @ Q, W, atol=1e-8)  # full rank: the ridge solution itself
    _, _, vt = np.linalg.svd(Fr @ W)
    P2, Q2 = _low_rank_link(F, r, rows, 3.0, 2)
    np.testing.assert_allclose(P2 @ Q2, W @ vt[:2].T @ vt[:2], atol=1e-8)
    assert P2.shape == (7, 2)
    assert Q2.shape == (2, 12)


def test_offset_ridges_learn_from_the_movies_with_at_least_the_given_count() -> None:
    F, r = _random_ratings()
    base = np.full(F.shape[0], 3.0)
    system = _Offset(F, r, base, (1, 5, 8), by_rating=True)
    for least in (1, 5, 8):
        keep = np.flatnonzero(r.counts >= least)
        Fr, n = F[keep].astype(np.float64), r.counts[keep]
        direct = np.linalg.solve((Fr * n[:, None]).T @ Fr + 2.0 * np.eye(7), Fr.T @ (n * (r.means[keep] - 3.0)))
        np.testing.assert_allclose(system.solve(least, 2.0), direct, atol=1e-10)


def test_with_the_star_terms_off_the_fitted_model_predicts_user_mean_plus_genre_offset(tmp_path: Path) -> None:
    data = read_movielens(write_csv_layout(tmp_path / "groups", _taste_groups()))
    rg = build_rating_graph(data)
    off = ContentHyper(**{**_HYPER.to_dict(), "star_ridge": (1e12,), "user_ridge": (1e12,), "mean_ridge": (1e12,)})
    result = fit_content(data, rg, None, off, 0, Progress(False))
    head = ContentHead(result.model)  # type: ignore[arg-type]
    r = data.ratings
    ybar = r["rating"].mean()
    genre_mean = {
        g: r[r["movie_id"].isin(data.movies["movie_id"][data.genres[:, j] > 0])]["rating"].mean()
        for j, g in enumerate(data.genre_names)
    }
    user_mean = r.groupby("user_id")["rating"].mean()
    f = head.features(["Comedy"], 2001, "Something New")
    assert head.movie_mean(f) == pytest.approx(genre_mean["Comedy"], abs=1e-4)
    expected = np.clip(user_mean.loc[rg.users.ids].to_numpy() + genre_mean["Comedy"] - ybar, 0.5, 5.0)
    np.testing.assert_allclose(head.ratings(f), expected, atol=1e-4)
    assert result.config["rank"] <= min(off.rank, len(rg.users))


def test_per_user_star_ridges_solve_each_users_residuals_in_movie_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    F, r = _random_ratings()
    monkeypatch.setattr(trainer.content, "_MOVIE_CHUNK", 7)  # several blocks of movies
    umean = r.user_means()
    V = _fit_users(F[:, :4], r, umean, 2.0)
    for u in (0, 5):
        mine = r.users == u
        G = F[r.movies[mine], :4].astype(np.float64)
        e = r.values[mine] - (umean[u] + r.means[r.movies[mine]] - r.mean_stars)
        np.testing.assert_allclose(V[:, u], np.linalg.solve(G.T @ G + 2.0 * np.eye(4), G.T @ e), atol=1e-10)


def test_without_validation_movies_the_first_grid_values_are_kept_and_the_model_serves(tmp_path: Path) -> None:
    data = read_movielens(write_csv_layout(tmp_path / "groups", _taste_groups()))
    rg = build_rating_graph(data)
    none = ContentHyper(**{**_HYPER.to_dict(), "val_min_ratings": 10_000})
    result = fit_content(data, rg, None, none, 0, Progress(False))
    assert result.metrics["val_movies"] == 0
    assert result.metrics["ridge"] == none.ridge[0]
    assert np.isnan(result.metrics["val_auc"])
    head = ContentHead(result.model)  # type: ignore[arg-type]
    f = head.features(["Drama"], 1990)
    assert np.all(np.isfinite(head.probability(head.link_scores(f))))
    assert np.all((head.ratings(f) >= 0.5) & (head.ratings(f) <= 5.0))
    assert 0.5 <= head.movie_mean(f) <= 5.0
