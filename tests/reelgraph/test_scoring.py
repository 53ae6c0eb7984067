"""``reelgraph.Scorer`` on a real tiny bundle: MovieLens ids in, numpy out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import reelgraph
from reelgraph.bundle import load_bundle
from reelgraph.errors import UnknownIdsError
from reelgraph.graphs.hetero import MessageEdges
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
        expected = torch.sigmoid(
            model(g["movie_x"], MessageEdges(g["edge_index"], g["edge_time"], g["edge_rating"]), pairs)
        )
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
    rated = load_bundle(tiny_bundle).graph["edge_index"].numpy()
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
