"""Why the rating model predicts these stars: leave-one-out shares are what deleting a rating does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reelgraph
from reelgraph.models.pair import MAX_STARS, MIN_STARS
from reelgraph.rating_reasons import RatedHistory


@pytest.fixture(scope="module")
def scorer(tiny_bundle: Path) -> reelgraph.Scorer:
    return reelgraph.Scorer.load(tiny_bundle)


def _history(scorer: reelgraph.Scorer, user: int) -> tuple[np.ndarray, np.ndarray]:
    h = scorer.histories.rows(scorer.users.index(np.array([user])))
    return scorer.movies.raw(h.movies), h.stars


def _unrated(scorer: reelgraph.Scorer, rated: np.ndarray) -> int:
    return int(next(m for m in scorer.movies.raw(np.arange(len(scorer.movies))) if m not in set(rated.tolist())))


def test_the_bundle_blends_an_autoencoder(scorer: reelgraph.Scorer) -> None:
    assert scorer._rating_folder().model.autoencoder is not None  # the downdate path is exercised


def test_each_share_is_the_drop_when_that_rating_alone_is_deleted(scorer: reelgraph.Scorer) -> None:
    """The batched leave-one-out (GNN batch + autoencoder downdate) equals re-scoring each history alone."""
    movies, stars = _history(scorer, 3)
    target = _unrated(scorer, movies)
    fold = scorer._rating_folder()
    t = int(scorer.movies.index(np.array([target]))[0])
    user = scorer._new_user(scorer._history(movies, stars))
    shares = fold.leave_one_out(user, t)
    everything = np.arange(movies.size)
    full = fold.raw(user, [everything], t)[0]
    one_by_one = np.array([full - fold.raw(user, [np.delete(everything, i)], t)[0] for i in range(movies.size)])
    np.testing.assert_allclose(shares, one_by_one, atol=2e-4)
    # ... and raw stars are what the public fold-in API serves (clipped).
    served = scorer.predict_rating_from_ratings(movies, stars, np.array([target]))[0]
    assert np.isclose(served, np.clip(full, MIN_STARS, MAX_STARS), atol=1e-4)


def test_a_history_the_named_rating_is_the_one_whose_deletion_lowers_the_stars_most(scorer: reelgraph.Scorer) -> None:
    """Known answer by brute force through the public API: delete each rating in turn, re-predict."""
    movies, stars = _history(scorer, 7)
    target = _unrated(scorer, movies)
    why = scorer.explain_rating_from_ratings(movies, stars, target, k=3)
    full = float(scorer.predict_rating_from_ratings(movies, stars, np.array([target]))[0])
    assert why.stars == pytest.approx(full, abs=1e-4)
    assert MIN_STARS < why.raw < MAX_STARS  # unclipped here, so served drops are raw drops
    drops = []
    for i in range(movies.size):
        keep = np.arange(movies.size) != i
        drops.append(full - float(scorer.predict_rating_from_ratings(movies[keep], stars[keep], np.array([target]))[0]))
    best = int(np.argmax(drops))
    top = why.because_you_rated[0]
    assert top.movie_id == int(movies[best])
    assert top.score == pytest.approx(drops[best], abs=2e-4)
    assert top.score > 0  # deleting the named rating lowers the predicted stars
    assert why.lowered_by[0].movie_id == int(movies[int(np.argmin(drops))])
    assert why.positive + why.negative <= movies.size
    assert [r.score for r in why.because_you_rated] == sorted((r.score for r in why.because_you_rated), reverse=True)
    # The checks: the named ratings removed, as many random ones, only the named kept (raw stars).
    f = why.fidelity
    named = np.isin(movies, [r.movie_id for r in why.because_you_rated])
    without = float(scorer.predict_rating_from_ratings(movies[~named], stars[~named], np.array([target]))[0])
    assert f.deletion_drop == pytest.approx(full - without, abs=2e-4)
    only = float(scorer.predict_rating_from_ratings(movies[named], stars[named], np.array([target]))[0])
    assert np.clip(f.sufficiency, MIN_STARS, MAX_STARS) == pytest.approx(only, abs=2e-4)
    assert f.random_drop != 0.0
    assert why.sentence.startswith(f"Predicted {why.stars:.1f}★ for {why.title} because you rated {top.title} ★")


def test_a_stored_user_keeps_their_embedding_so_the_whole_history_gives_the_served_stars(
    scorer: reelgraph.Scorer,
) -> None:
    for user in (1, 5, 12):
        movies, _ = _history(scorer, user)
        target = _unrated(scorer, movies)
        why = scorer.explain_rating(user, target, k=5)
        served = float(scorer.predict_rating(np.array([user]), np.array([target]))[0])
        assert why.stars == pytest.approx(served, abs=1e-4)
        assert {r.movie_id for r in why.because_you_rated + why.lowered_by} <= set(movies.tolist())
        assert why.fidelity.full == pytest.approx(why.raw)
        assert 1 <= len(why.because_you_rated) <= 5


def test_an_empty_or_single_rating_history(scorer: reelgraph.Scorer) -> None:
    movies, stars = _history(scorer, 2)
    target = _unrated(scorer, movies)
    alone = scorer.explain_rating_from_ratings(movies[:1], stars[:1], target)
    empty = scorer.explain_rating_from_ratings(movies[:0], stars[:0], target)
    # The only rating's share is everything it adds over the empty history.
    assert alone.raw - empty.raw == pytest.approx((alone.because_you_rated + alone.lowered_by)[0].score, abs=2e-4)
    assert empty.because_you_rated == []
    assert empty.fidelity.random_drop == 0.0
    assert "none of your ratings raises it" in empty.sentence


def test_rated_history_size() -> None:
    h = RatedHistory(np.array([1, 2]), np.array([4.0, 5.0], np.float32), np.array([0, 0]))
    assert h.size == 2
