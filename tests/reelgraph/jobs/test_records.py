"""Typed explanation records keep the JSON that earlier versions wrote to Redis."""

from __future__ import annotations

import json

import pytest
import redis

from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue
from reelgraph.jobs.records import (
    ChainInfluence,
    CoRaterInfluence,
    Driver,
    ExplainMethod,
    ExplainRequest,
    ExplanationResult,
    GlobalSummary,
    JobEvent,
    LogitFidelity,
    MovieInfluence,
    RatedMovie,
    RatingExplanation,
    RatingInfluence,
    RecordError,
    StarFidelity,
    UserInfluence,
)

# A result as the version with untyped influences stored it (dicts; subgraph ids as JSON numbers,
# typed list[list[float]]), byte for byte: key-sorted, compact.
OLD_RESULT = (
    '{"attribution_total":1.25,"features":{"Drama":0.5},"fidelity_minus":0.02,"fidelity_plus":0.3,'
    '"logit":1.5,"pngs":{},"probability":0.8175744761936437,"random_fidelity_minus":0.1,'
    '"random_fidelity_plus":0.05,"schema_version":1,"seconds":0.7,'
    '"subgraph_edges":[[1,10,0.25],[2.0,13.0,-0.125]],'
    '"top_movies":[{"movie_id":10,"score":0.5,"title":"Movie 10"}],'
    '"top_ratings":[{"movie_id":10,"score":0.25,"user_id":1}],'
    '"top_users":[{"score":-0.75,"user_id":2}]}'
)


def test_an_old_result_parses_into_typed_records() -> None:
    r = ExplanationResult.from_json(OLD_RESULT)
    assert r.top_users == [UserInfluence(2, -0.75)]
    assert r.top_movies == [MovieInfluence(10, "Movie 10", 0.5)]
    assert r.top_ratings == [RatingInfluence(1, 10, 0.25)]
    assert r.subgraph_edges == [RatingInfluence(1, 10, 0.25), RatingInfluence(2, 13, -0.125)]
    assert all(type(e.user_id) is int and type(e.movie_id) is int for e in r.subgraph_edges)


def test_the_old_fields_keep_their_wire_format() -> None:
    r = ExplanationResult.from_json(OLD_RESULT)
    doc, old = json.loads(r.to_json()), json.loads(OLD_RESULT)
    old["subgraph_edges"] = [[int(u), int(m), s] for u, m, s in old["subgraph_edges"]]  # ids now written as ints
    assert doc.pop("schema_version") == 3
    assert old.pop("schema_version") == 1
    assert {k: doc[k] for k in old} == old
    assert ExplanationResult.from_json(r.to_json()) == r
    assert r.because_you_rated == []  # the version 2 fields at their defaults
    assert r.logit_fidelity == LogitFidelity()
    assert r.method == ""
    assert r.kind == "link"  # and the version 3 ones
    assert r.rating is None


def test_a_rating_result_round_trips() -> None:
    lowered = [RatedMovie(3, "Movie 3", 1.0, -0.2)]
    rating = RatingExplanation(4.6, 4.71, lowered, 4, StarFidelity(2, 0.5, 0.1, 20, 4.2, full_stars=4.71), 7, 4.1, 0.9)
    r = ExplanationResult(0.0, 0.0, 0.9, kind="rating", rating=rating, sentence="Predicted 4.6★ for Heat")
    assert ExplanationResult.from_json(r.to_json()) == r
    assert json.loads(r.to_json())["rating"]["fidelity"]["full_stars"] == 4.71


def test_a_ranking_result_round_trips() -> None:
    r = ExplanationResult(
        probability=0.8,
        logit=1.4,
        attribution_total=1.0,
        method="Ranking",
        title="Heat (1995)",
        because_you_rated=[RatedMovie(10, "Movie 10", 4.5, 0.6)],
        because_you_rated_total=7,
        chains=[ChainInfluence(10, "Movie 10", 4.5, 1.1, 0.02, 0.6, 3, 4.2)],
        co_raters=[CoRaterInfluence(2, [10], 4.0, 0.2)],
        co_raters_total=3,
        genre_shares={"Action": 0.6},
        popularity=0.3,
        bias=-0.1,
        rated_total=1.2,
        sentence="Recommended because you rated Movie 10 ★4.5.",
        logit_fidelity=LogitFidelity(1, 0.6, 0.1, 20, 0.9, full_logit=1.4),
        offset=0,
    )
    assert ExplanationResult.from_json(r.to_json()) == r
    assert json.loads(r.to_json())["schema_version"] == 3


def test_each_record_type_has_its_own_schema_version() -> None:
    """A result format change (version 2) leaves queued requests and events readable."""
    old_request = '{"method":"Saliency","model":"tiny","movie_id":10,"n_steps":50,"schema_version":1,'
    old_request += '"top_k":10,"user_id":1,"version":"1","want_plots":false}'
    request = ExplainRequest.from_json(old_request)
    assert request.method == "Saliency"
    assert request.offset == 0
    assert json.loads(request.to_json())["schema_version"] == ExplainRequest.SCHEMA == 3
    assert request.kind == "link"  # the version 3 fields at their defaults
    assert not request.has_history
    assert JobEvent.SCHEMA == 1
    assert JobEvent.from_json('{"at":1.0,"fraction":0.5,"kind":"progress","reason":"","schema_version":1}').fraction
    with pytest.raises(RecordError, match="schema_version 4, expected one of 1, 2, 3"):
        ExplanationResult.from_json(OLD_RESULT.replace('"schema_version":1', '"schema_version":4'))
    with pytest.raises(RecordError, match="JobEvent: schema_version 2, expected one of 1"):
        JobEvent.from_json('{"kind":"queued","schema_version":2}')


def test_a_result_written_by_an_older_worker_is_read_from_redis(redis_url: str) -> None:
    queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True))
    queue.ensure_group()
    job, _ = queue.submit(ExplainRequest("tiny", "1", user_id=1, movie_id=10))
    queue.redis.hset(keys.job(job), "result", OLD_RESULT)
    state = queue.state(job)
    assert state is not None
    assert state.result == ExplanationResult.from_json(OLD_RESULT)
    assert state.result.top_movies[0].title == "Movie 10"


@pytest.mark.parametrize(
    "broken",
    [
        OLD_RESULT.replace('"user_id":2', '"uid":2'),  # a renamed key
        OLD_RESULT.replace("[1,10,0.25]", "[1,10]"),  # a short edge
        OLD_RESULT.replace('"Movie 10"', "null").replace('"title"', '"titel"'),
    ],
)
def test_a_malformed_result_is_a_record_error(broken: str) -> None:
    with pytest.raises(RecordError, match="ExplanationResult: invalid record"):
        ExplanationResult.from_json(broken)


def test_a_request_keeps_the_method_string_and_its_fingerprint() -> None:
    request = ExplainRequest("tiny", "1", user_id=1, movie_id=10, method=ExplainMethod.SALIENCY)
    same = ExplainRequest.from_json(request.to_json())
    assert json.loads(request.to_json())["method"] == "Saliency"
    assert same.fingerprint() == request.fingerprint()
    assert ExplainRequest("tiny", "1", 1, 10).method == "Ranking"  # the default


def test_a_global_request_and_summary_round_trip() -> None:
    request = ExplainRequest("tiny", "1", 0, 0, global_users=[1, 2], global_recommendations=3, global_genre="Drama")
    assert request.is_global
    assert not ExplainRequest("tiny", "1", 1, 10).is_global
    assert ExplainRequest.from_json(request.to_json()) == request
    summary = GlobalSummary(
        users=2, pairs=6, movies=[Driver("Heat (1995)", 6, 1.5, 3)], genres=[Driver("Drama", 0, 2.0, 4)]
    )
    r = ExplanationResult(probability=0.0, logit=0.0, attribution_total=0.0, global_summary=summary)
    assert ExplanationResult.from_json(r.to_json()) == r
