"""``server.batch`` directly: per-pair status, limits, histories and titled recommendation lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelgraph.errors import InvalidOptionError, InvalidRequestError, TooManyItemsError
from reelgraph.options import ModelKind
from reelgraph.protocol import PairStatus
from reelgraph.scoring import Scorer
from server import batch
from server.batch import MAX_K, History


@pytest.fixture(scope="module")
def scorer(tiny_bundle: Path) -> Scorer:
    return Scorer.load(tiny_bundle)


def _ids(*ids: int) -> np.ndarray:
    return np.array(ids, dtype=np.int64)


def test_known_pairs_score_like_the_scorer(scorer: Scorer) -> None:
    users, movies = _ids(1, 2, 3), _ids(10, 13, 16)
    out = batch.score_batch(scorer, users, movies, [ModelKind.LINK, ModelKind.RATING], max_pairs=10)
    assert (out.name, out.version) == (scorer.name, scorer.version)
    assert out.status.tolist() == [0, 0, 0]
    assert out.invalid_count == 0
    np.testing.assert_array_equal(out.link_probability, scorer.link_probability(users, movies))
    np.testing.assert_array_equal(out.rating, scorer.predict_rating(users, movies))


def test_unknown_ids_are_marked_per_pair_and_not_scored(scorer: Scorer) -> None:
    out = batch.score_batch(scorer, _ids(1, 999, 1, 999), _ids(10, 10, 11, 11), [], max_pairs=10)
    assert [PairStatus(s) for s in out.status] == [
        PairStatus.SCORED,
        PairStatus.UNKNOWN_USER,
        PairStatus.UNKNOWN_MOVIE,
        PairStatus.UNKNOWN_BOTH,
    ]
    assert out.invalid_count == 3
    assert out.rating is None  # not asked for: the link model is the default
    assert out.link_probability is not None
    assert np.isfinite(out.link_probability[0])
    assert np.isnan(out.link_probability[1:]).all()


def test_batch_limits_and_malformed_columns(scorer: Scorer) -> None:
    with pytest.raises(TooManyItemsError, match="3 pairs exceed the limit of 2"):
        batch.score_batch(scorer, _ids(1, 2, 3), _ids(10, 13, 16), [], max_pairs=2)
    with pytest.raises(InvalidRequestError) as exc:
        batch.score_batch(scorer, _ids(1, 2), _ids(10), [], max_pairs=10)
    assert [v.field for v in exc.value.violations] == ["movie_ids.shape"]
    with pytest.raises(InvalidRequestError) as exc:
        batch.score_batch(scorer, _ids(1, -4), _ids(10, 13), [], max_pairs=10)
    assert [(v.field, v.description) for v in exc.value.violations] == [
        ("user_ids.raw", "negative id -4 at position 1")
    ]


def test_a_history_scores_candidates_and_marks_unknown_ones(scorer: Scorer) -> None:
    history = History(_ids(10, 13), np.array([5.0, 1.0], np.float32))
    out = batch.score_history(scorer, history, _ids(16, 999), [ModelKind.LINK, ModelKind.RATING], max_pairs=10)
    assert [PairStatus(s) for s in out.status] == [PairStatus.SCORED, PairStatus.UNKNOWN_MOVIE]
    assert out.rating is not None
    assert 0.5 <= out.rating[0] <= 5
    assert np.isnan(out.rating[1])


def test_a_bad_history_names_its_fields(scorer: Scorer) -> None:
    bad = History(_ids(10, 999), np.array([5.0], np.float32), field="history")
    with pytest.raises(InvalidRequestError) as exc:
        batch.score_history(scorer, bad, _ids(16), [], max_pairs=10)
    assert [v.field for v in exc.value.violations] == ["history.stars.shape", "history.movie_ids"]
    stars = History(_ids(10), np.array([9.0], np.float32))
    with pytest.raises(InvalidRequestError) as exc:
        batch.score_history(scorer, stars, _ids(16), [], max_pairs=10)
    assert [v.field for v in exc.value.violations] == ["history.stars"]  # the scorer's field, named under history
    with pytest.raises(TooManyItemsError):
        batch.score_history(scorer, History(_ids(10, 13), np.ones(2, np.float32)), _ids(16), [], max_pairs=1)


def test_recommend_users_keeps_the_order_and_marks_unknown_users(scorer: Scorer) -> None:
    lists = batch.recommend_users(scorer, _ids(2, 999, 1), 3, include_rated=False, genres=None)
    assert [u.user_id for u in lists] == [2, 999, 1]
    assert lists[1].error == "unknown user"
    assert (lists[1].movie_ids, lists[1].titles, lists[1].scores) == ([], [], [])
    expected = scorer.recommend(_ids(2, 1), 3)
    for user, ids in zip((lists[0], lists[2]), expected.movie_ids, strict=True):
        assert not user.error
        assert user.movie_ids == [int(i) for i in ids if i >= 0]
        assert user.titles == scorer.titles(np.array(user.movie_ids))
        assert all(0 <= s <= 1 for s in user.scores)


def test_recommend_user_history_is_one_titled_list(scorer: Scorer) -> None:
    history = History(_ids(10, 13), np.array([5.0, 4.0], np.float32))
    user = batch.recommend_user_history(scorer, history, 4, None, max_items=10)
    assert user.user_id == -1
    assert len(user.movie_ids) == len(user.titles) == len(user.scores) == 4
    assert {10, 13}.isdisjoint(user.movie_ids)  # given movies never come back


def test_check_recommend(scorer: Scorer) -> None:
    batch.check_recommend(scorer, MAX_K, [])
    for k in (0, MAX_K + 1):
        with pytest.raises(InvalidOptionError, match=f"invalid k {k}"):
            batch.check_recommend(scorer, k, [])
    with pytest.raises(InvalidOptionError, match="unknown genre"):
        batch.check_recommend(scorer, 5, ["NoSuchGenre"])
