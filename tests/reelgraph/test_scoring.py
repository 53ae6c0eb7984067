"""``reelgraph.Scorer`` on a real tiny bundle: MovieLens ids in, numpy out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import reelgraph
from reelgraph.bundle import load_bundle
from reelgraph.errors import InvalidRequestError, UnknownIdsError
from reelgraph.models import EncoderConfig, LinkModel


def test_link_probability_matches_the_model(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    users, movies = np.array([1, 2, 24]), np.array([10, 13, 97])
    p = scorer.link_probability(users, movies)
    assert p.dtype == np.float32
    assert p.shape == (3,)
    # Same numbers as running the full model from the bundle's weights.
    bundle = load_bundle(tiny_bundle)
    model = LinkModel(EncoderConfig(**bundle.manifest.models["link"].config))
    model.load_state_dict(bundle.model_weights("link"))
    model.eval()
    g = bundle.graph
    pairs = torch.tensor(np.stack([scorer.users.index(users), scorer.movies.index(movies)]))
    with torch.no_grad():
        expected = torch.sigmoid(model(g.movie_x, g.message_edges(), pairs))
    np.testing.assert_allclose(p, expected.numpy(), rtol=1e-4, atol=1e-6)


def test_predict_rating_in_star_range(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    r = scorer.predict_rating(np.array([1, 2, 3]), np.array([10, 13, 16]))
    assert r.dtype == np.float32
    assert ((r >= 0.5) & (r <= 5.0)).all()
    means = scorer.movie_mean_rating(np.array([10, 97]))
    assert means.shape == (2,)
    assert ((means >= 0.5) & (means <= 5.0)).all()


def test_recommend_excludes_rated_and_sorts(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    rec = scorer.recommend(np.array([1, 2]), k=5)
    assert rec.movie_ids.shape == (2, 5)
    rated = load_bundle(tiny_bundle).graph.edge_index.numpy()
    for row, user in zip(rec.movie_ids, (1, 2), strict=True):
        u = scorer.users.index(np.array([user]))[0]
        seen = set(scorer.movies.raw(rated[1][rated[0] == u]).tolist())
        assert not seen & set(row.tolist())
    assert (np.diff(rec.scores, axis=1) <= 1e-7).all()
    with_rated = scorer.recommend(np.array([1]), k=30, exclude_rated=False)
    assert (with_rated.movie_ids >= 0).all()  # all 30 movies fit when rated ones are allowed
    titles = scorer.titles(rec.movie_ids[0])
    assert all(t.startswith("Movie ") for t in titles)


def test_recommend_pads_when_few_movies_remain(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    rec = scorer.recommend(np.array([1]), k=40)
    assert (rec.movie_ids[0, 30:] == -1).all()
    assert np.isnan(rec.scores[0, 30:]).all()
    with pytest.raises(ValueError, match="k must be"):
        scorer.recommend(np.array([1]), k=0)


def test_unknown_ids_are_listed(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    with pytest.raises(UnknownIdsError) as err:
        scorer.link_probability(np.array([1, 999, 2]), np.array([10, 10, 11]))
    assert err.value.kind == "user"
    assert err.value.ids == [999]
    assert err.value.positions == [1]
    with pytest.raises(UnknownIdsError, match="unknown movie ids: 11"):
        scorer.predict_rating(np.array([1, 2]), np.array([10, 11]))
    with pytest.raises(ValueError, match="equal length"):
        scorer.link_probability(np.array([1, 2]), np.array([10]))


def _stored_history(tiny_bundle: Path, user: int) -> tuple[np.ndarray, np.ndarray]:
    """User ``user``'s stored ratings as (MovieLens movie ids, stars), read from the bundle's graph."""
    g = load_bundle(tiny_bundle).graph
    edges, stars = g.edge_index.numpy(), g.edge_rating.numpy()
    scorer = reelgraph.Scorer.load(tiny_bundle)
    mine = edges[0] == scorer.users.index(np.array([user]))[0]
    return scorer.movies.raw(edges[1][mine]), stars[mine]


def test_history_recommend_equals_the_stored_user(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    for user in range(1, 25):
        movies, stars = _stored_history(tiny_bundle, user)
        stored = scorer.recommend(np.array([user]), k=10)
        given = scorer.recommend_from_ratings(movies, stars, k=10)
        assert given.user_ids.tolist() == [-1]
        np.testing.assert_array_equal(given.movie_ids, stored.movie_ids)  # exact: one mechanism
        np.testing.assert_array_equal(given.scores, stored.scores)
        assert not set(movies.tolist()) & set(given.movie_ids[0].tolist())  # given movies never come back


def test_history_recommend_respects_genres_and_pads(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    movies, stars = np.array([10, 13, 16]), np.array([5.0, 4.5, 1.0])
    rec = scorer.recommend_from_ratings(movies, stars, k=40)
    assert (rec.movie_ids[0, 27:] == -1).all()  # 30 movies, 3 given
    assert sorted(rec.movie_ids[0, :27].tolist()) == sorted(set(scorer.movies.ids.tolist()) - {10, 13, 16})
    comedy = scorer.recommend_from_ratings(movies, stars, k=30, genres=["Comedy"])
    kept = comedy.movie_ids[0][comedy.movie_ids[0] >= 0]
    assert kept.size
    assert all((m - 10) // 3 % 4 in (1, 0) for m in kept)


def test_empty_history_recommends_popular_movies(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    rec = scorer.recommend_from_ratings(np.array([], np.int64), np.array([], np.float32), k=5)
    assert rec.movie_ids.shape == (1, 5)
    assert (rec.movie_ids >= 0).all()
    assert np.isfinite(rec.scores).all()
    edges = load_bundle(tiny_bundle).graph.edge_index.numpy()
    counts = np.bincount(edges[1], minlength=len(scorer.movies))
    top5 = scorer.movies.index(rec.movie_ids[0])
    assert counts[top5].min() >= np.sort(counts)[-10]  # among the ten most rated


def test_history_errors(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    with pytest.raises(UnknownIdsError) as err:
        scorer.recommend_from_ratings(np.array([10, 11, 13]), np.array([4.0, 4.0, 4.0]))
    assert (err.value.kind, err.value.ids, err.value.positions) == ("movie", [11], [1])
    for bad in (0.2, 5.5, float("nan")):
        for call in (
            lambda s: scorer.recommend_from_ratings(np.array([10, 13]), s),
            lambda s: scorer.link_probability_from_ratings(np.array([10, 13]), s, np.array([16])),
            lambda s: scorer.predict_rating_from_ratings(np.array([10, 13]), s, np.array([16])),
        ):
            with pytest.raises(InvalidRequestError) as invalid:
                call(np.array([4.0, bad]))
            assert [v.field for v in invalid.value.violations] == ["stars"]
    with pytest.raises(InvalidRequestError, match="stars"):
        scorer.recommend_from_ratings(np.array([10, 13]), np.array([4.0]))


def test_history_rating_is_close_to_the_stored_user(tiny_bundle: Path) -> None:
    # The stored user also has an ID embedding that a given history lacks; on the tiny
    # bundle the two paths differ by at most 0.039 stars (measured); allow 0.1.
    scorer = reelgraph.Scorer.load(tiny_bundle)
    candidates = scorer.movies.ids
    for user in (1, 2, 17):
        movies, stars = _stored_history(tiny_bundle, user)
        given = scorer.predict_rating_from_ratings(movies, stars, candidates)
        assert given.dtype == np.float32
        assert ((given >= 0.5) & (given <= 5.0)).all()
        stored = scorer.predict_rating(np.full(candidates.size, user), candidates)
        np.testing.assert_allclose(given, stored, atol=0.1)


def test_history_link_probability_is_a_probability(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    movies, stars = _stored_history(tiny_bundle, 3)
    p = scorer.link_probability_from_ratings(movies, stars, scorer.movies.ids)
    assert p.dtype == np.float32
    assert p.shape == (30,)
    assert ((p > 0) & (p < 1)).all()
    assert scorer.link_probability_from_ratings(movies, stars, np.array([], np.int64)).shape == (0,)
    with pytest.raises(UnknownIdsError, match="unknown movie ids: 11"):
        scorer.link_probability_from_ratings(movies, stars, np.array([10, 11]))
