"""GRPCInferenceService (Open Inference Protocol) against a real in-process server on the tiny bundle.

These use the generated stubs of ``reelgraph_client.api.inference``; the stock
tritonclient drives the same service in ``test_inference_tritonclient.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from reelgraph.scoring import Scorer
from reelgraph_client.api.inference import open_inference_grpc_pb2 as pb
from reelgraph_client.api.inference import open_inference_grpc_pb2_grpc
from server.batch import score_batch
from tests.server.conftest import ServerThread

USERS, MOVIES = [1, 2, 999_999, 3], [10, 13, 16, 888_888]


@pytest.fixture
def stub(server: ServerThread) -> Iterator[open_inference_grpc_pb2_grpc.GRPCInferenceServiceStub]:
    with grpc.insecure_channel(server.target) as channel:
        yield open_inference_grpc_pb2_grpc.GRPCInferenceServiceStub(channel)


def _typed(name: str, values: list[int], datatype: str = "INT64") -> pb.ModelInferRequest.InferInputTensor:
    contents = pb.InferTensorContents()
    (contents.int64_contents if datatype == "INT64" else contents.int_contents).extend(values)
    return pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=[len(values)], contents=contents)


def _raw_request(model: str, users: list[int], movies: list[int], datatype: str = "INT64") -> pb.ModelInferRequest:
    dtype = "<i8" if datatype == "INT64" else "<i4"
    inputs = [
        pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=[len(ids)])
        for name, ids in (("user_id", users), ("movie_id", movies))
    ]
    raw = [np.asarray(ids, dtype=dtype).tobytes() for ids in (users, movies)]
    return pb.ModelInferRequest(model_name=model, inputs=inputs, raw_input_contents=raw)


def _outputs(response: pb.ModelInferResponse) -> dict[str, np.ndarray]:
    dtypes = {"FP32": "<f4", "UINT8": "u1"}
    assert not any(o.HasField("contents") for o in response.outputs)  # raw contents only
    return {
        o.name: np.frombuffer(raw, dtype=dtypes[o.datatype]).reshape(list(o.shape))
        for o, raw in zip(response.outputs, response.raw_output_contents, strict=True)
    }


def _expected(bundles: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
    from reelgraph.options import ModelKind

    result = score_batch(Scorer.load(bundles / "tiny"), np.array(USERS), np.array(MOVIES), [ModelKind(kind)], 10_000)
    scores = result.link_probability if kind == "link" else result.rating
    assert scores is not None
    return scores, result.status


def _failure(call: Callable[[], object]) -> tuple[grpc.StatusCode, list[str]]:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    status = rpc_status.from_call(exc.value)  # type: ignore[arg-type]
    fields = []
    for detail in status.details if status is not None else ():
        bad = error_details_pb2.BadRequest()
        detail.Unpack(bad)
        fields += [v.field for v in bad.field_violations]
    return exc.value.code(), fields  # type: ignore[attr-defined]


def test_typed_and_raw_contents_score_like_score_pairs(stub: Any, bundles: Any) -> None:
    for kind, output in (("link", "probability"), ("rating", "rating")):
        scores, status = _expected(bundles, kind)
        typed = pb.ModelInferRequest(
            model_name=f"tiny-{kind}", id="r1", inputs=[_typed("user_id", USERS), _typed("movie_id", MOVIES, "INT32")]
        )
        for request in (typed, _raw_request(f"tiny-{kind}", USERS, MOVIES, "INT32")):
            response = stub.ModelInfer(request)
            assert (response.model_name, response.model_version) == (f"tiny-{kind}", "1")
            got = _outputs(response)
            assert list(got) == [output, "status"]
            np.testing.assert_array_equal(got[output], scores)
            np.testing.assert_array_equal(got["status"], status)
        assert stub.ModelInfer(typed).id == "r1"


def test_requested_outputs_and_pinned_version(stub: Any) -> None:
    request = _raw_request("tiny-link", USERS, MOVIES)
    request.model_version = "1"
    request.outputs.add(name="status")
    response = stub.ModelInfer(request)
    assert [o.name for o in response.outputs] == ["status"]
    assert _outputs(response)["status"].tolist() == [0, 0, 1, 2]


@pytest.mark.parametrize(
    ("change", "code", "fields"),
    [
        (lambda r: setattr(r, "model_name", "nope-link"), grpc.StatusCode.NOT_FOUND, []),
        (lambda r: setattr(r, "model_name", "tiny"), grpc.StatusCode.NOT_FOUND, []),
        (lambda r: setattr(r, "model_version", "7"), grpc.StatusCode.NOT_FOUND, []),
        (
            lambda r: r.inputs[1].contents.int64_contents.extend(MOVIES),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["raw_input_contents"],
        ),
        (
            lambda r: setattr(r.inputs[0], "datatype", "FP32"),
            grpc.StatusCode.INVALID_ARGUMENT,
            ["inputs[user_id].datatype"],
        ),
        (lambda r: r.inputs[1].shape.append(1), grpc.StatusCode.INVALID_ARGUMENT, ["inputs[movie_id].shape"]),
        (lambda r: r.raw_input_contents.append(b""), grpc.StatusCode.INVALID_ARGUMENT, ["raw_input_contents"]),
        (lambda r: r.outputs.add(name="rating"), grpc.StatusCode.INVALID_ARGUMENT, ["outputs[rating]"]),
    ],
)
def test_errors_name_the_model_or_input(
    stub: Any, change: Callable[[Any], None], code: grpc.StatusCode, fields: list[str]
) -> None:
    request = _raw_request("tiny-link", USERS, MOVIES)
    change(request)
    assert _failure(lambda: stub.ModelInfer(request)) == (code, fields)


def test_limits_and_id_checks_are_score_pairs_own(stub: Any) -> None:
    too_many = _raw_request("tiny-link", [1] * 1001, [10] * 1001)  # the test server's max_pairs is 1000
    assert _failure(lambda: stub.ModelInfer(too_many))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    negative = _raw_request("tiny-link", [-1], [10])
    assert _failure(lambda: stub.ModelInfer(negative)) == (grpc.StatusCode.INVALID_ARGUMENT, ["inputs[user_id].raw"])
    short = _raw_request("tiny-link", [1, 2], [10])
    assert _failure(lambda: stub.ModelInfer(short)) == (grpc.StatusCode.INVALID_ARGUMENT, ["inputs[movie_id].shape"])


def test_health_metadata_and_index(stub: Any) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name="tiny-rating")).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name="tiny-link", version="1")).ready
    for name, version in (("tiny-link", "7"), ("nope-link", ""), ("tiny-ranking", "")):
        assert not stub.ModelReady(pb.ModelReadyRequest(name=name, version=version)).ready
    meta = stub.ServerMetadata(pb.ServerMetadataRequest())
    assert meta.name == "reelgraph"
    assert meta.version
    model = stub.ModelMetadata(pb.ModelMetadataRequest(name="tiny-rating"))
    assert (model.name, list(model.versions), model.platform) == ("tiny-rating", ["1"], "reelgraph")
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [
        ("user_id", "INT64", [-1]),
        ("movie_id", "INT64", [-1]),
    ]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.outputs] == [
        ("rating", "FP32", [-1]),
        ("status", "UINT8", [-1]),
    ]
    assert (
        _failure(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="nope-rating")))[0]
        == grpc.StatusCode.NOT_FOUND
    )
    index = stub.RepositoryIndex(pb.RepositoryIndexRequest())
    assert [(m.name, m.version, m.state) for m in index.models] == [
        ("tiny-link", "1", "READY"),
        ("tiny-rating", "1", "READY"),
    ]


def test_stream_answers_in_order_and_an_error_answers_only_its_request(stub: Any) -> None:
    good, bad = _raw_request("tiny-link", USERS, MOVIES), _raw_request("nope-link", USERS, MOVIES)
    bad.id = "b"
    answers = list(stub.ModelStreamInfer(iter([good, bad, good])))
    assert [a.error_message for a in answers[::2]] == ["", ""]
    assert answers[1].error_message.startswith("no model named 'nope'")
    assert answers[1].infer_response.id == "b"
    assert _outputs(answers[2].infer_response)["status"].tolist() == [0, 0, 1, 2]


def test_calls_are_counted_like_reelgraph_v1(server: ServerThread, stub: Any) -> None:
    stub.ModelInfer(_raw_request("tiny-link", USERS, MOVIES))
    registry = server.running.metrics.registry
    deadline = time.monotonic() + 5
    while registry.get_sample_value("reelgraph_rpc_requests_total", {"method": "ModelInfer", "code": "OK"}) != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert registry.get_sample_value("reelgraph_pairs_scored_total", {"kind": "link"}) == 2
    assert registry.get_sample_value("reelgraph_pairs_unknown_total") == 2


def test_reflection_serves_the_protocol_for_grpcurl(server: ServerThread) -> None:
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with grpc.insecure_channel(server.target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert "inference.GRPCInferenceService" in database.get_services()
        service = DescriptorPool(database).FindServiceByName("inference.GRPCInferenceService")
        assert [m.name for m in service.methods][:6] == [
            "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
        ]  # fmt: skip


def test_readiness_turns_false_when_shutdown_begins(server: ServerThread, stub: Any) -> None:
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    server.running.inference.drain()  # what RunningServer.stop does before anything else
    assert not stub.ServerReady(pb.ServerReadyRequest()).ready
    assert not stub.ModelReady(pb.ModelReadyRequest(name="tiny-link")).ready
    assert stub.ServerLive(pb.ServerLiveRequest()).live  # live until the process goes
