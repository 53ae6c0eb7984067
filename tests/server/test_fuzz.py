"""Property test: nothing a client sends crashes or wedges the server."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelgraph.api.v1 import scoring_pb2 as pb
from reelgraph.api.v1 import scoring_pb2_grpc, tensor_pb2
from tests.server.conftest import ServerThread

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}

tensors = st.builds(
    lambda dtype, shape, raw: tensor_pb2.Tensor(dtype=dtype, shape=shape, raw=raw),
    st.integers(-3, 6),
    st.lists(st.integers(-5, 2000), max_size=3),
    st.binary(max_size=2048),
)
id_tensors = st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300).map(
    lambda v: tensor_pb2.Tensor(dtype=1, shape=[len(v)], raw=np.asarray(v, dtype="<i8").tobytes())
)
requests = st.builds(
    lambda u, m, kinds, name, version: pb.ScorePairsRequest(
        user_ids=u, movie_ids=m, kinds=kinds, model=pb.ModelRef(name=name, version=version)
    ),
    st.one_of(tensors, id_tensors),
    st.one_of(tensors, id_tensors),
    st.lists(st.integers(-2, 4), max_size=3),
    st.sampled_from(["", "tiny", "x" * 50]),
    st.sampled_from(["", "1", "0", "../1", "99"]),
)


def test_random_requests_get_a_proper_status(server: ServerThread) -> None:
    channel = grpc.insecure_channel(server.target)
    stub = scoring_pb2_grpc.ScoringServiceStub(channel)
    raw_call = channel.unary_unary("/reelgraph.v1.ScoringService/ScorePairs")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=requests, garbage=st.binary(max_size=512))
    def check(request: pb.ScorePairsRequest, garbage: bytes) -> None:
        for call in (lambda: stub.ScorePairs(request, timeout=10), lambda: raw_call(garbage, timeout=10)):
            try:
                call()
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()  # type: ignore[attr-defined]
            assert code in ALLOWED, code

    check()
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    ok = stub.ScorePairs(
        pb.ScorePairsRequest(
            user_ids=tensor_pb2.Tensor(dtype=1, shape=[1], raw=np.array([1], "<i8").tobytes()),
            movie_ids=tensor_pb2.Tensor(dtype=1, shape=[1], raw=np.array([10], "<i8").tobytes()),
        ),
        timeout=10,
    )
    assert ok.invalid_count == 0


def test_garbage_inside_a_stream_is_invalid_argument(server: ServerThread) -> None:
    channel = grpc.insecure_channel(server.target)
    call = channel.stream_stream("/reelgraph.v1.ScoringService/StreamScorePairs")
    with pytest.raises(grpc.RpcError) as exc:
        list(call(iter([b"\xff\xff\xff"]), timeout=10))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
