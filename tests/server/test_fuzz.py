"""Property tests: nothing a client sends crashes or wedges the server, and a malformed
tensor is INVALID_ARGUMENT with a field violation naming exactly the bad field."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc, tensor_pb2
from reelgraph_client.tensors import DataType
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


_ID_TYPES = {DataType.INT64: 8, DataType.INT32: 4}


def _good(n: int) -> tensor_pb2.Tensor:
    return tensor_pb2.Tensor(dtype=DataType.INT64, shape=[n], raw=np.ones(n, "<i8").tobytes())


# (tensor, the part of it that is wrong): each strategy breaks one thing and keeps the checks before it valid.
wrong_dtype = st.builds(
    lambda dtype, n: (tensor_pb2.Tensor(dtype=dtype, shape=[n], raw=b"\0" * 8 * n), "dtype"),
    st.integers(-3, 9).filter(lambda d: d not in _ID_TYPES),
    st.integers(0, 4),
)
wrong_shape = st.builds(
    lambda dtype, shape: (tensor_pb2.Tensor(dtype=dtype, shape=shape, raw=b""), "shape"),
    st.sampled_from(sorted(_ID_TYPES)),
    st.one_of(st.just([]), st.lists(st.integers(0, 4), min_size=2, max_size=3), st.integers(-5, -1).map(lambda n: [n])),
)
wrong_raw = st.builds(
    lambda dtype, n, extra: (
        tensor_pb2.Tensor(dtype=dtype, shape=[n], raw=b"\1" * max(0, _ID_TYPES[dtype] * n + extra)),
        "raw",
    ),
    st.sampled_from(sorted(_ID_TYPES)),
    st.integers(0, 4),
    st.integers(-7, 7).filter(lambda e: e != 0),
)
malformed = st.one_of(wrong_dtype, wrong_shape, wrong_raw).filter(
    lambda tp: tp[1] != "raw" or len(tp[0].raw) != _ID_TYPES[tp[0].dtype] * tp[0].shape[0]
)


def _violated_fields(exc: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT without a google.rpc.Status"
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details), "no BadRequest detail"
    return [v.field for v in bad.field_violations]


def test_a_malformed_tensor_names_its_field(server: ServerThread) -> None:
    stub = scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(server.target))

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bad=malformed, column=st.sampled_from(["user_ids", "movie_ids"]), n=st.integers(0, 4))
    def check(bad: tuple[tensor_pb2.Tensor, str], column: str, n: int) -> None:
        tensor, part = bad
        other = "movie_ids" if column == "user_ids" else "user_ids"
        request = pb.ScorePairsRequest(**{column: tensor, other: _good(n)})
        with pytest.raises(grpc.RpcError) as exc:
            stub.ScorePairs(request, timeout=10)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        assert _violated_fields(exc.value) == [f"{column}.{part}"]

    check()
