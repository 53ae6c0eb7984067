"""Every RPC of ScoringService against a real server and a real tiny bundle."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import reelgraph
from reelgraph.client import Client
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc, tensor_pb2
from tests.server.conftest import ServerThread


def _stub(server: ServerThread) -> scoring_pb2_grpc.ScoringServiceStub:
    return scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(server.target))


def _t(dtype: int, shape: list[int], raw: bytes) -> tensor_pb2.Tensor:
    return tensor_pb2.Tensor(dtype=dtype, shape=shape, raw=raw)  # type: ignore[arg-type]


def _ids(values: list[int]) -> tensor_pb2.Tensor:
    return _t(1, [len(values)], np.asarray(values, dtype="<i8").tobytes())


def test_score_pairs_matches_in_process_scorer(client: Client, bundles) -> None:  # type: ignore[no-untyped-def]
    users, movies = np.array([1, 2, 3, 4]), np.array([10, 13, 16, 19])
    got = client.score_pairs(users, movies, kinds=("link", "rating"))
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    np.testing.assert_allclose(got.link_probability, scorer.link_probability(users, movies), rtol=1e-6)
    np.testing.assert_allclose(got.rating, scorer.predict_rating(users, movies), rtol=1e-6)
    assert got.status.tolist() == [0, 0, 0, 0]
    assert (got.model, got.version) == ("tiny", "1")


def test_unknown_ids_are_marked_per_item(client: Client) -> None:
    got = client.score_pairs(np.array([1, 999, 2, 999]), np.array([10, 10, 11, 11]))
    assert got.status.tolist() == [0, 1, 2, 3]
    assert np.isfinite(got.link_probability[0])
    assert np.isnan(got.link_probability[1:]).all()
    assert got.rating is None  # not requested


def test_int32_and_int64_id_columns_score_alike(server: ServerThread) -> None:
    def ids(values: list[int], code: int) -> tensor_pb2.Tensor:
        return _t(code, [len(values)], np.asarray(values, dtype="<i4" if code == 4 else "<i8").tobytes())

    users, movies = [1, 2, 3], [10, 13, 16]
    wide = _stub(server).ScorePairs(pb.ScorePairsRequest(user_ids=ids(users, 1), movie_ids=ids(movies, 1)))
    narrow = _stub(server).ScorePairs(pb.ScorePairsRequest(user_ids=ids(users, 4), movie_ids=ids(movies, 1)))
    assert narrow == wide
    assert narrow.invalid_count == 0
    huge = _stub(server).ScorePairs(pb.ScorePairsRequest(user_ids=ids([2**40], 1), movie_ids=ids([10], 4)))
    assert np.frombuffer(huge.status.raw, np.uint8).tolist() == [1]  # unknown user, not an error


def test_stream_keeps_order_across_chunks(client: Client) -> None:
    chunks = [(np.array([1, 2]), np.array([10, 13])), (np.array([3]), np.array([999])), (np.array([4]), np.array([16]))]
    results = list(client.stream_score(iter(chunks)))
    assert [r.status.tolist() for r in results] == [[0, 0], [2], [0]]
    single = client.score_pairs(np.array([4]), np.array([16]))
    np.testing.assert_array_equal(results[2].link_probability, single.link_probability)


def test_recommend_streams_one_list_per_user(client: Client) -> None:
    recs = list(client.recommend([1, 12345, 2], k=4))
    assert [r.user_id for r in recs] == [1, 12345, 2]
    assert recs[1].error == "unknown user"
    assert recs[1].movie_ids == []
    assert len(recs[0].movie_ids) == 4
    assert all(t.startswith("Movie ") for t in recs[0].titles)
    assert recs[0].scores == sorted(recs[0].scores, reverse=True)
    comedy = next(iter(client.recommend([1], k=30, genres=["Comedy"], include_rated=True)))
    assert comedy.movie_ids
    assert all((m - 10) // 3 % 4 in (1, 0) for m in comedy.movie_ids)


def test_list_and_get_models(client: Client) -> None:
    (info,) = client.list_models()
    assert info.ref.name == "tiny"
    assert set(info.kinds) == {"link", "rating", "movie-gcn", "ranking", "content"}
    assert "link/e1_test_auc" in info.metrics
    assert info.num_users == 24
    assert client.get_model("tiny", "1").ref.version == "1"


def _code(exc: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    return exc.value.code()  # type: ignore[attr-defined,no-any-return]


def _violations(exc: pytest.ExceptionInfo[grpc.RpcError]) -> list[str]:
    status = rpc_status.from_call(exc.value)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return [v.field for v in bad.field_violations]


@pytest.mark.parametrize(
    ("users", "movies", "field"),
    [
        (_t(2, [1], b"\0" * 4), _ids([10]), "user_ids.dtype"),
        (_t(0, [1], b"\0" * 8), _ids([10]), "user_ids.dtype"),
        (_t(1, [2], b"\0" * 8), _ids([10]), "user_ids.raw"),
        (_t(1, [1, 1], b"\0" * 8), _ids([10]), "user_ids.shape"),
        (_ids([1, 2]), _ids([10]), "movie_ids.shape"),
        (_ids([-1]), _ids([10]), "user_ids.raw"),
        (_t(4, [2], b"\0" * 4), _ids([10]), "user_ids.raw"),
        (_ids([1]), _t(4, [1], np.array([-3], "<i4").tobytes()), "movie_ids.raw"),
    ],
)
def test_malformed_tensors_are_invalid_argument_with_details(server: ServerThread, users, movies, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as exc:
        _stub(server).ScorePairs(pb.ScorePairsRequest(user_ids=users, movie_ids=movies))
    assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(exc) == [field]


def test_error_codes(server: ServerThread) -> None:
    stub = _stub(server)
    cases = [
        (lambda: stub.GetModel(pb.GetModelRequest(model=pb.ModelRef(name="nope"))), grpc.StatusCode.NOT_FOUND),
        (
            lambda: stub.GetModel(pb.GetModelRequest(model=pb.ModelRef(name="tiny", version="7"))),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            lambda: stub.ScorePairs(pb.ScorePairsRequest(user_ids=_ids([1] * 1001), movie_ids=_ids([10] * 1001))),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ),
        (
            lambda: stub.ScorePairs(pb.ScorePairsRequest(user_ids=_ids([1]), movie_ids=_ids([10]), kinds=[9])),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (lambda: list(stub.Recommend(pb.RecommendRequest(user_ids=[1], k=5000))), grpc.StatusCode.INVALID_ARGUMENT),
        (
            lambda: list(stub.Recommend(pb.RecommendRequest(user_ids=[1], genres=["Jazz"]))),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for call, code in cases:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert _code(exc) == code, exc.value


def test_deadline_is_honoured(server: ServerThread) -> None:
    # ~20k users stream in 256-user chunks: far longer than the 50 ms deadline.
    request = pb.RecommendRequest(user_ids=list(range(1, 25)) * 900, k=100)
    with pytest.raises(grpc.RpcError) as exc:
        list(_stub(server).Recommend(request, timeout=0.05))
    assert _code(exc) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert _stub(server).ListModels(pb.ListModelsRequest(), timeout=5).models  # still serving


def _stars(values: list[float]) -> tensor_pb2.Tensor:
    return _t(2, [len(values)], np.asarray(values, dtype="<f4").tobytes())


def _history(movies: list[int], stars: list[float], **kw: tensor_pb2.Tensor) -> pb.RatingHistory:
    return pb.RatingHistory(movie_ids=_ids(movies), stars=_stars(stars), **kw)


GIVEN_MOVIES, GIVEN_STARS = [10, 13, 16, 22], [5.0, 4.5, 1.0, 3.5]


def test_recommend_for_a_history(server: ServerThread, bundles) -> None:  # type: ignore[no-untyped-def]
    request = pb.RecommendRequest(k=5, history=_history(GIVEN_MOVIES, GIVEN_STARS, timestamps=_ids([9] * 4)))
    (response,) = list(_stub(server).Recommend(request))
    assert response.user_id == -1
    assert not response.error
    expected = reelgraph.Scorer.load(bundles / "tiny").recommend_from_ratings(
        np.array(GIVEN_MOVIES), np.array(GIVEN_STARS), k=5
    )
    assert [m.movie_id for m in response.movies] == expected.movie_ids[0].tolist()
    np.testing.assert_allclose([m.score for m in response.movies], expected.scores[0], rtol=1e-6)
    assert all(m.title.startswith("Movie ") for m in response.movies)
    assert not set(GIVEN_MOVIES) & {m.movie_id for m in response.movies}
    comedy = pb.RecommendRequest(k=30, genres=["Comedy"], history=_history(GIVEN_MOVIES, GIVEN_STARS))
    (only,) = list(_stub(server).Recommend(comedy))
    assert only.movies
    assert all((m.movie_id - 10) // 3 % 4 in (1, 0) for m in only.movies)


def test_score_pairs_for_a_history(server: ServerThread, bundles) -> None:  # type: ignore[no-untyped-def]
    candidates = [19, 11, 25, 10]  # 11 is unknown; 10 was given
    request = pb.ScorePairsRequest(
        movie_ids=_ids(candidates),
        kinds=[pb.SCORE_KIND_LINK_PROBABILITY, pb.SCORE_KIND_RATING],
        history=_history(GIVEN_MOVIES, GIVEN_STARS),
    )
    got = _stub(server).ScorePairs(request)
    assert np.frombuffer(got.status.raw, np.uint8).tolist() == [0, 2, 0, 0]
    assert got.invalid_count == 1
    link, rating = np.frombuffer(got.link_probability.raw, "<f4"), np.frombuffer(got.rating.raw, "<f4")
    assert np.isnan(link[1])
    assert np.isnan(rating[1])
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    known = np.array([19, 25, 10])
    given = np.array(GIVEN_MOVIES), np.array(GIVEN_STARS)
    np.testing.assert_allclose(link[[0, 2, 3]], scorer.link_probability_from_ratings(*given, known), rtol=1e-6)
    np.testing.assert_allclose(rating[[0, 2, 3]], scorer.predict_rating_from_ratings(*given, known), rtol=1e-6)
    # An empty user_ids tensor next to a history is fine; streamed chunks take histories too.
    request.user_ids.CopyFrom(_ids([]))
    assert _stub(server).ScorePairs(request) == got
    (chunk,) = list(_stub(server).StreamScorePairs(iter([pb.StreamScorePairsRequest(batch=request)])))
    assert chunk.result == got


@pytest.mark.parametrize(
    "history",
    [pb.RatingHistory(), _history([], []), _history([], [], timestamps=_ids([]))],
    ids=["unset-tensors", "shape-0", "shape-0-with-times"],
)
def test_an_empty_history_gets_popular_movies(server: ServerThread, history: pb.RatingHistory) -> None:
    (response,) = list(_stub(server).Recommend(pb.RecommendRequest(k=3, history=history)))
    assert response.user_id == -1
    assert len(response.movies) == 3
    kinds = [pb.SCORE_KIND_LINK_PROBABILITY, pb.SCORE_KIND_RATING]
    scores = _stub(server).ScorePairs(pb.ScorePairsRequest(movie_ids=_ids([10, 13]), history=history, kinds=kinds))
    p, stars = np.frombuffer(scores.link_probability.raw, "<f4"), np.frombuffer(scores.rating.raw, "<f4")
    assert ((p > 0) & (p < 1)).all()
    assert ((stars >= 0.5) & (stars <= 5)).all()


BAD_HISTORIES = [
    (_history([10, 11, 13], [4.0, 4.0, 4.0]), ["history.movie_ids"]),
    (_history([10, 13], [4.0, 5.5]), ["history.stars"]),
    (_history([10, 13], [0.2, 4.0]), ["history.stars"]),
    (_history([10, 13], [float("nan"), 4.0]), ["history.stars"]),
    (_history([10, 13], [4.0]), ["history.stars.shape"]),
    (pb.RatingHistory(movie_ids=_ids([10])), ["history.stars.shape"]),
    (pb.RatingHistory(movie_ids=_ids([10]), stars=_ids([4])), ["history.stars.dtype"]),
    (pb.RatingHistory(movie_ids=_stars([10.0]), stars=_stars([4.0])), ["history.movie_ids.dtype"]),
    (_history([10, 13], [4.0, 4.0], timestamps=_ids([1])), ["history.timestamps.shape"]),
    (_history([10, 11], [4.0, 9.0], timestamps=_ids([1])), ["history.timestamps.shape", "history.movie_ids"]),
]


@pytest.mark.parametrize(("history", "fields"), BAD_HISTORIES)
def test_bad_histories_are_invalid_argument_naming_fields(
    server: ServerThread, history: pb.RatingHistory, fields: list[str]
) -> None:
    calls = (
        lambda: list(_stub(server).Recommend(pb.RecommendRequest(history=history))),
        lambda: _stub(server).ScorePairs(pb.ScorePairsRequest(movie_ids=_ids([19]), history=history)),
    )
    for call in calls:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
        assert _violations(exc) == fields


def test_user_ids_and_a_history_together_are_invalid(server: ServerThread) -> None:
    history = _history(GIVEN_MOVIES, GIVEN_STARS)
    calls = [
        (
            lambda: list(_stub(server).Recommend(pb.RecommendRequest(user_ids=[1], history=history))),
            ["user_ids", "history"],
        ),
        (
            lambda: _stub(server).ScorePairs(
                pb.ScorePairsRequest(user_ids=_ids([1]), movie_ids=_ids([19]), history=history)
            ),
            ["user_ids", "history"],
        ),
        (
            lambda: list(_stub(server).Recommend(pb.RecommendRequest(include_rated=True, history=history))),
            ["include_rated"],
        ),
    ]
    for call, fields in calls:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
        assert _violations(exc) == fields


def test_sdk_history_methods(client: Client, bundles) -> None:  # type: ignore[no-untyped-def]
    movies, stars = np.array(GIVEN_MOVIES), np.array(GIVEN_STARS)
    rec = client.recommend_from_ratings(movies, stars, k=4, timestamps=np.arange(4) + 10**9)
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    expected = scorer.recommend_from_ratings(movies, stars, k=4)
    assert rec.user_id == -1
    assert rec.movie_ids == expected.movie_ids[0].tolist()
    assert all(t.startswith("Movie ") for t in rec.titles)
    got = client.score_from_ratings(movies, stars, np.array([19, 11]), kinds=("link", "rating"))
    assert got.status.tolist() == [0, 2]
    assert got.link_probability is not None
    assert got.rating is not None
    np.testing.assert_allclose(got.rating[:1], scorer.predict_rating_from_ratings(movies, stars, np.array([19])))
    assert client.recommend_from_ratings(np.array([], np.int64), np.array([], np.float32), k=2).movie_ids
    with pytest.raises(grpc.RpcError) as exc:
        client.recommend_from_ratings(np.array([10]), np.array([7.0]))
    assert _code(exc) == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(exc) == ["history.stars"]
