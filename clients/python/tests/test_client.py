"""reelgraph-client against a real reelgraph server, with no reelgraph, torch or pandas installed.

The main test suite (``tests/clients/test_python_client.py``) runs this file inside fresh
virtualenvs that hold only this distribution and its dependencies (under protobuf 6, beside
tritonclient, and under protobuf 7), against a real server with Redis and a worker, trained
on the tests' tiny MovieLens-format data (users 1-24; movies 10, 13, …, 97; genres Action,
Comedy, Drama, Sci-Fi). The environment names it:

- ``REELGRAPH_TEST_TARGET``: ``host:port`` of the server;
- ``REELGRAPH_TEST_TOKEN``: the bearer token it requires.

Without ``REELGRAPH_TEST_TARGET`` every test skips, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from reelgraph_client import Client, PairScores, UserRecommendations
from reelgraph_client.api.v1 import explanation_pb2
from reelgraph_client.tensors import INT32, decode, id_column, wire_tensor

TARGET = os.environ.get("REELGRAPH_TEST_TARGET", "")
TOKEN = os.environ.get("REELGRAPH_TEST_TOKEN", "")
pytestmark = pytest.mark.skipif(not TARGET, reason="REELGRAPH_TEST_TARGET names no reelgraph server to test against")
UNKNOWN_USER, UNKNOWN_MOVIE = 999_999, 888_888


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with Client(TARGET, token=TOKEN, timeout_s=60, retries=2) as c:
        yield c


def test_the_codec_round_trips_without_the_server() -> None:
    ids = id_column(np.array([1, 2, 3], np.int64))
    assert decode(wire_tensor(ids), "ids", expect=INT32).tolist() == [1, 2, 3]


def test_models_describe_the_served_bundle(client: Client) -> None:
    (info,) = client.list_models()
    assert info.ref.name == "tiny"
    assert {"link", "rating"} <= set(info.kinds)
    assert (info.num_users, info.num_movies) == (24, 30)
    assert client.get_model("tiny").ref.version == info.ref.version


def test_a_call_without_the_token_is_refused() -> None:
    with Client(TARGET, timeout_s=30, retries=0) as anonymous, pytest.raises(grpc.RpcError) as info:
        anonymous.list_models()
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_score_pairs_marks_unknown_ids(client: Client) -> None:
    users = np.array([1, 2, UNKNOWN_USER, 3], np.int64)
    movies = np.array([10, 13, 16, UNKNOWN_MOVIE], np.int64)
    scores = client.score_pairs(users, movies, kinds=("link", "rating"))
    assert isinstance(scores, PairScores)
    assert scores.status.tolist() == [0, 0, 1, 2]
    assert scores.link_probability is not None
    assert scores.rating is not None
    assert np.all((scores.link_probability[:2] > 0) & (scores.link_probability[:2] < 1))
    assert np.all((scores.rating[:2] >= 0.5) & (scores.rating[:2] <= 5))
    assert np.isnan(scores.link_probability[2:]).all()


def test_stream_score_answers_each_chunk_in_order_like_score_pairs(client: Client) -> None:
    chunks = [(np.full(3, u, np.int64), np.array([10, 13, 16], np.int64)) for u in (1, 2, 3)]
    streamed = list(client.stream_score(iter(chunks)))
    assert len(streamed) == 3
    for (users, movies), got in zip(chunks, streamed, strict=True):
        single = client.score_pairs(users, movies)
        assert got.link_probability is not None
        assert single.link_probability is not None
        np.testing.assert_array_equal(got.link_probability, single.link_probability)


def test_recommend_streams_each_user_and_reports_unknown_ones(client: Client) -> None:
    recs = list(client.recommend([1, UNKNOWN_USER, 2], k=3))
    assert [r.user_id for r in recs] == [1, UNKNOWN_USER, 2]
    assert all(isinstance(r, UserRecommendations) for r in recs)
    assert len(recs[0].movie_ids) == len(recs[0].titles) == 3
    assert recs[0].scores == sorted(recs[0].scores, reverse=True)
    assert recs[1].error
    assert not recs[1].movie_ids


def test_a_user_given_as_ratings(client: Client) -> None:
    movies, stars = np.array([10, 13, 16], np.int64), np.array([5.0, 4.5, 1.0], np.float32)
    recs = client.recommend_from_ratings(movies, stars, k=5)
    assert recs.user_id == -1
    assert len(recs.movie_ids) == 5
    assert not set(recs.movie_ids) & {10, 13, 16}  # rated movies are never recommended back
    scored = client.score_from_ratings(movies, stars, np.array([19, UNKNOWN_MOVIE], np.int64), kinds=("rating",))
    assert scored.status.tolist() == [0, 2]
    with pytest.raises(grpc.RpcError) as info:
        client.recommend_from_ratings(movies, np.array([5.0, 9.0, 1.0], np.float32))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_a_new_movie_given_as_content(client: Client) -> None:
    scores = client.score_new_movie(np.array([1, UNKNOWN_USER], np.int64), ["Action", "Sci-Fi"], 1999, "Brand New")
    assert scores.status.tolist() == [0, 1]
    audience = client.audience(["Comedy"], 1990, "Another One", k=5)
    assert len(audience.user_ids) == 5
    assert audience.scores.tolist() == sorted(audience.scores.tolist(), reverse=True)


def test_an_explanation_is_queued_watched_and_fetched(client: Client) -> None:
    submitted = client.submit_explanation(1, 19, top_k=3)
    events = list(client.watch_explanation(submitted.job_id, timeout_s=120))
    assert events[0].kind == "queued"
    assert events[-1].kind == "done"
    result = client.get_explanation(submitted.job_id).result
    assert 1 <= len(result.because_you_rated) <= 3
    assert result.because_you_rated[0].title in result.sentence
    assert not client.cancel_explanation(submitted.job_id)  # already final


def test_explain_batch_answers_every_pair(client: Client) -> None:
    outcomes = {o.index: o for o in client.explain_batch([1, UNKNOWN_USER, 2], [22, 22, 25], top_k=2, timeout_s=180)}
    assert sorted(outcomes) == [0, 1, 2]
    assert outcomes[1].kind == "rejected"
    assert {outcomes[0].kind, outcomes[2].kind} == {"done"}
    assert isinstance(outcomes[0].result, explanation_pb2.Explanation)
