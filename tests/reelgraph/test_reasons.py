"""Explanations of the ranking model: the named ratings are the user's own and deleting them does what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reelgraph
from reelgraph.reasons import RatedReason, apportion, check, sentence, top_shares


def test_named_ratings_are_the_users_own_and_their_shares_are_exact(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    for user in (1, 5, 12):
        h = scorer.histories.rows(scorer.users.index(np.array([user])))
        own = set(scorer.movies.raw(h.movies).tolist())
        target = int(scorer.recommend(np.array([user]), k=1).movie_ids[0, 0])
        why = scorer.explain_recommendation(user, target, k=3)
        named = [r.movie_id for r in why.because_you_rated]
        assert set(named) <= own
        assert 1 <= len(named) <= 3
        shares = [r.score for r in why.because_you_rated]
        assert shares == sorted(shares, reverse=True)
        assert all(s > 0 for s in shares)
        # Deleting the named ratings lowers the logit by exactly the sum of their shares.
        assert np.isclose(why.fidelity.deletion_drop, sum(shares), rtol=1e-4, atol=1e-5)
        assert why.fidelity.deletion_drop > why.fidelity.random_drop
        assert 0.0 < why.probability < 1.0
        assert why.title in why.sentence
        assert why.because_you_rated[0].title in why.sentence


def test_a_constructed_case_names_the_rating_that_carries_the_score(tiny_bundle: Path) -> None:
    """A history whose only link to the target is one movie: that movie is named, and removing it drops the logit."""
    scorer = reelgraph.Scorer.load(tiny_bundle)
    ranking = scorer.ranking
    assert ranking is not None
    B = ranking.B.tocsc()
    target = int(np.argmax(np.diff(B.indptr)))  # the movie with the most incoming edges
    col = B[:, [target]].toarray().ravel()
    carrier = int(np.argmax(col))
    assert col[carrier] > 0
    unrelated = [i for i in np.flatnonzero(col == 0) if i not in (target, carrier)][:4]
    movies = scorer.movies.raw(np.array([carrier, *unrelated]))
    stars = np.array([5.0, 3.0, 3.0, 3.0, 3.0][: movies.size], np.float32)
    why = scorer.explain_from_ratings(movies, stars, int(scorer.movies.raw(np.array([target]))[0]), k=5)
    assert [r.movie_id for r in why.because_you_rated] == [int(movies[0])]
    assert why.fidelity.deletion_drop > 0
    assert np.isclose(why.fidelity.sufficiency, why.fidelity.full, atol=1e-5)  # the carrier alone keeps it all


def test_helpers() -> None:
    assert top_shares(np.array([0.1, -0.5, 0.3, 0.0]), 3).tolist() == [2, 0]

    def score(movies: np.ndarray, stars: np.ndarray) -> float:
        return float((movies * stars).sum())

    f = check(score, np.array([1, 2, 3]), np.array([1.0, 1.0, 10.0]), np.array([2]), draws=50)
    assert f.full == 33.0
    assert f.deletion_drop == 30.0
    assert f.sufficiency == 30.0
    assert 1.0 <= f.random_drop <= 30.0
    text = sentence("Heat (1995)", [RatedReason(1, "A", 5.0, 1.0), RatedReason(2, "B", 4.5, 0.5)], 3, 4.04)
    assert text == (
        "Recommended because you rated A ★5 and B ★4.5; "
        "3 people who rated those also rated Heat (1995), 4.0★ on average."
    )
    assert sentence("Heat (1995)", [], 0, 0.0) == "Recommended because Heat (1995) is popular with everyone."


def test_chains_co_raters_and_the_parts_add_up_to_the_logit(tiny_bundle: Path) -> None:
    scorer = reelgraph.Scorer.load(tiny_bundle)
    ranking = scorer.ranking
    assert ranking is not None
    user = 1
    target = int(scorer.recommend(np.array([user]), k=1).movie_ids[0, 0])
    why = scorer.explain_recommendation(user, target, k=3)
    # logit = every rating's share + popularity + calibration bias, exactly; p = σ(logit), as served
    served = scorer.link_probability_from_ratings(
        scorer.movies.raw(scorer.histories.rows(scorer.users.index(np.array([user]))).movies),
        scorer.histories.rows(scorer.users.index(np.array([user]))).stars,
        np.array([target]),
    )[0]
    assert why.probability == pytest.approx(float(served), rel=1e-4)
    assert np.isclose(why.rated_total + why.popularity + why.bias, why.fidelity.full, atol=1e-4)
    assert [c.movie_id for c in why.chains] == [r.movie_id for r in why.because_you_rated]
    for c in why.chains:
        assert np.isclose(c.score, ranking.cfg.calib_scale * c.input_weight * c.edge_weight, rtol=1e-4)
    assert all(p.user_id != user for p in why.people)
    # every co-rater rated the target and the named movies they are listed with
    raters = scorer.histories.matrix(len(scorer.movies), scorer.histories.stars).tocsr()
    for p in why.people:
        row = raters[int(scorer.users.index(np.array([p.user_id]))[0])]
        rated = set(scorer.movies.raw(row.indices).tolist())
        assert target in rated
        assert p.movie_ids
        assert set(p.movie_ids) <= rated
    assert sum(p.score for p in why.people) == pytest.approx(
        sum(c.score for c in why.chains if c.co_raters), rel=1e-4, abs=1e-6
    )
    assert why.positive >= len(why.because_you_rated)


def test_apportion_splits_each_chain_among_its_co_raters() -> None:
    users, member, scores = apportion(np.array([7, 8, 9]), [np.array([7, 8]), np.array([8])], np.array([1.0, 0.5]))
    assert users.tolist() == [1, 0]  # user 8 (position 1): 0.5 + 0.5; user 7: 0.5
    assert member.tolist() == [[True, True], [True, False]]
    assert scores.tolist() == [1.0, 0.5]
