"""A movie given as content over gRPC: ScorePairs with ``movie`` and the Audience stream, on a real server."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import reelgraph
from reelgraph.cli import main
from reelgraph.client import Client
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc, tensor_pb2
from tests.server.conftest import ServerThread


def _violations(exc: pytest.ExceptionInfo[grpc.RpcError]) -> dict[str, str]:
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    status = rpc_status.from_call(exc.value)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


def test_audience_streams_the_in_process_top_k(client: Client, server: ServerThread, bundles: Path) -> None:
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    expected = scorer.audience_new_movie(["Comedy", "Drama"], 1999, "A New Film", ("funny",), k=5)
    got = client.audience(["Comedy", "Drama"], 1999, "A New Film", ("funny",), k=5)
    assert (got.model, got.version) == ("tiny", "1")
    np.testing.assert_array_equal(got.user_ids, expected.user_ids)
    np.testing.assert_allclose(got.scores, expected.probabilities, rtol=1e-6)
    stub = scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(server.target))
    chunks = list(stub.Audience(pb.AudienceRequest(movie=pb.ContentMovie(genres=["Action"]), k=0)))
    assert [len(c.users) for c in chunks] == [10]  # k 0 means 10; one chunk up to 1000 users


def test_score_pairs_with_a_content_movie_marks_unknown_users(client: Client, bundles: Path) -> None:
    users = np.array([1, 999, 2])
    got = client.score_new_movie(users, ["Sci-Fi"], 2005, "Space Thing", kinds=("link", "rating"))
    assert got.link_probability is not None
    assert got.rating is not None
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    known = np.array([1, 2])
    np.testing.assert_allclose(
        got.link_probability[[0, 2]], scorer.link_probability_new_movie(known, ["Sci-Fi"], 2005, "Space Thing")
    )
    np.testing.assert_allclose(got.rating[[0, 2]], scorer.predict_rating_new_movie(known, ["Sci-Fi"], 2005))
    assert got.status.tolist() == [0, 1, 0]
    assert np.isnan(got.link_probability[1])


def test_bad_content_is_invalid_argument_with_field_violations(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        client.score_new_movie(np.array([1]), ["Western", "Comedy"], 1850, "")
    bad = _violations(exc)
    assert set(bad) == {"movie.genres", "movie.year", "movie.title"}
    assert "'Western'" in bad["movie.genres"]
    assert "Comedy" in bad["movie.genres"]  # the valid names are listed
    with pytest.raises(grpc.RpcError) as exc:
        client.audience(["Comedy"], 2101)
    assert set(_violations(exc)) == {"movie.year"}
    with pytest.raises(grpc.RpcError) as exc:
        client.audience(["Comedy"], title="  ")
    assert set(_violations(exc)) == {"movie.title"}
    with pytest.raises(grpc.RpcError) as exc:
        client.audience(["Comedy"], k=100_001)
    assert set(_violations(exc)) == {"k"}


def test_content_movie_with_movie_ids_is_rejected(server: ServerThread) -> None:
    stub = scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(server.target))
    ids = tensor_pb2.Tensor(dtype=1, shape=[1], raw=np.array([1], "<i8").tobytes())  # type: ignore[arg-type]
    request = pb.ScorePairsRequest(user_ids=ids, movie_ids=ids, movie=pb.ContentMovie(title="X", genres=["Comedy"]))
    with pytest.raises(grpc.RpcError) as exc:
        stub.ScorePairs(request)
    assert set(_violations(exc)) == {"movie_ids"}


def test_cli_audience_prints_the_ranked_users(server: ServerThread, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["audience", "--genres", "Comedy,Drama", "--year", "2024", "-k", "3", "--server", server.target])
    assert done.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["rank", "user", "P(rate)"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    with pytest.raises(SystemExit) as done:
        main(["audience", "--genres", "Westerns", "--server", server.target])
    assert done.value.code == 2
    assert "Westerns" in capsys.readouterr().err
