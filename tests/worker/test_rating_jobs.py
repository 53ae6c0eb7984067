"""Rating predictions and histories explained through a real worker object and real Redis."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import reelgraph
from reelgraph.errors import InvalidOptionError
from reelgraph.jobs.records import ExplainRequest, ExplanationResult

Explain = Callable[[ExplainRequest], ExplanationResult]


def _pair(bundles: Path) -> tuple[reelgraph.Scorer, int, int]:
    """The user with the most ratings and a movie they have not rated."""
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    u = int(np.argmax(np.diff(scorer.histories.indptr)))
    rated = set(scorer.histories.rows(np.array([u])).movies.tolist())
    movie = int(scorer.movies.raw(np.array([next(m for m in range(len(scorer.movies)) if m not in rated)]))[0])
    return scorer, int(scorer.users.raw(np.array([u]))[0]), movie


def test_a_rating_prediction_of_a_stored_user_is_explained_in_stars_and_pages(explain: Explain, bundles: Path) -> None:
    scorer, user, movie = _pair(bundles)
    r = explain(ExplainRequest("tiny", "1", user, movie, top_k=2, kind="rating", want_plots=True))
    assert r.kind == "rating"
    assert r.rating is not None
    assert r.rating.stars == pytest.approx(float(scorer.predict_rating(np.array([user]), np.array([movie]))[0]), 1e-4)
    assert r.sentence.startswith(f"Predicted {r.rating.stars:.1f}★ for {r.title}")
    assert 1 <= len(r.because_you_rated) <= 2
    assert len(r.rating.lowered_by) <= 2
    assert all(m.score > 0 for m in r.because_you_rated)
    assert all(m.score < 0 for m in r.rating.lowered_by)
    own = set(scorer.movies.raw(scorer.histories.rows(scorer.users.index(np.array([user]))).movies).tolist())
    assert {m.movie_id for m in r.because_you_rated + r.rating.lowered_by} <= own
    assert r.rating.fidelity.k == len(r.because_you_rated)
    assert r.rating.fidelity.random_draws == 20
    assert r.rating.fidelity.full_stars == pytest.approx(r.rating.raw_stars)
    assert set(r.pngs) == {"attributions.png"}
    from PIL import Image

    assert Image.open(io.BytesIO(base64.b64decode(r.pngs["attributions.png"]))).width > 400
    assert ExplanationResult.from_json(r.to_json()) == r
    whole = explain(ExplainRequest("tiny", "1", user, movie, top_k=4, kind="rating"))
    nxt = explain(ExplainRequest("tiny", "1", user, movie, top_k=2, offset=2, kind="rating"))
    assert [m.movie_id for m in whole.because_you_rated] == [
        m.movie_id for m in r.because_you_rated + nxt.because_you_rated
    ]


def test_a_history_is_explained_for_both_kinds(explain: Explain, bundles: Path) -> None:
    scorer, user, movie = _pair(bundles)
    h = scorer.histories.rows(scorer.users.index(np.array([user])))
    ids, stars = scorer.movies.raw(h.movies).tolist(), h.stars.tolist()
    given = {"has_history": True, "history_movie_ids": ids, "history_stars": stars}
    rating = explain(ExplainRequest("tiny", "1", 0, movie, kind="rating", **given))  # type: ignore[arg-type]
    expected = scorer.predict_rating_from_ratings(np.array(ids), np.array(stars), np.array([movie]))[0]
    assert rating.rating is not None
    assert rating.rating.stars == pytest.approx(float(expected), abs=1e-4)
    ranking = explain(ExplainRequest("tiny", "1", 0, movie, **given))  # type: ignore[arg-type]
    why = scorer.explain_from_ratings(np.array(ids), np.array(stars), movie, k=10)
    assert [m.movie_id for m in ranking.because_you_rated] == [m.movie_id for m in why.because_you_rated]
    assert ranking.co_raters_total == len(why.people)  # nobody is left out as "the user" here


def test_a_rating_or_a_history_with_a_captum_method_is_refused(explain: Explain) -> None:
    with pytest.raises(InvalidOptionError, match="default method"):
        explain(ExplainRequest("tiny", "1", 1, 10, method="Saliency", kind="rating"))
    with pytest.raises(InvalidOptionError, match="kind"):
        explain(ExplainRequest("tiny", "1", 1, 10, kind="stars"))


def test_version_2_requests_still_parse() -> None:
    old = '{"schema_version":2,"model":"tiny","version":"1","user_id":1,"movie_id":10,"offset":3}'
    request = ExplainRequest.from_json(old)
    assert request.kind == "link"
    assert not request.has_history
    assert request.offset == 3
