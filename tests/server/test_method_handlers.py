"""Every method ``server.app`` registers answers through its per-method wrapper in its own
shape (async generators and reader/writer coroutines alike), and health Watch streams the
serving status and its changes up to NOT_SERVING at shutdown."""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.server.conftest import ServerThread, settings_for

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
# Codes no method may answer an empty request with: a wrapper of the wrong shape
# answers INTERNAL (TypeError), an unregistered method UNIMPLEMENTED.
BROKEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNIMPLEMENTED}
# grpcio-health-checking's aio servicer leaves List to its generated base class.
NOT_IMPLEMENTED_UPSTREAM = {"grpc.health.v1.Health/List"}


def _registered_services(channel: grpc.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    reply = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
    return [s.name for r in reply for s in r.list_services_response.service]


def _call_once(channel: grpc.Channel, service: str, method: Any) -> tuple[grpc.StatusCode, Any]:
    """Call ``method`` with an empty request; (its code, its first response or None)."""
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    path = f"/{service}/{method.name}"
    kw = {"request_serializer": request_cls.SerializeToString, "response_deserializer": response_cls.FromString}
    request: Any = iter([request_cls()]) if method.client_streaming else request_cls()
    kind = ("stream" if method.client_streaming else "unary") + "_" + ("stream" if method.server_streaming else "unary")
    stub = getattr(channel, kind)(path, **kw)
    try:
        if not method.server_streaming:
            return grpc.StatusCode.OK, stub(request, timeout=10)
        responses = stub(request, timeout=10)
        first = next(responses, None)
        responses.cancel()  # Health/Watch never ends by itself
        return grpc.StatusCode.OK, first
    except grpc.RpcError as exc:
        return exc.code(), None  # type: ignore[attr-defined]


def test_every_registered_method_answers_in_its_shape(server: ServerThread) -> None:
    channel = grpc.insecure_channel(server.target)
    services = _registered_services(channel)
    assert {"reelgraph.v1.ScoringService", "reelgraph.v1.ExplanationService", "grpc.health.v1.Health"} <= set(services)
    assert "grpc.reflection.v1alpha.ServerReflection" in services
    outcomes = {}
    for name in services:
        for method in descriptor_pool.Default().FindServiceByName(name).methods:
            outcomes[f"{name}/{method.name}"] = _call_once(channel, name, method)
    broken = {path: code for path, (code, _) in outcomes.items() if code in BROKEN}
    unimplemented = {path for path, code in broken.items() if code == grpc.StatusCode.UNIMPLEMENTED}
    assert unimplemented == NOT_IMPLEMENTED_UPSTREAM & set(outcomes), broken
    assert set(broken) == unimplemented, broken
    assert len(outcomes) >= 13
    watched = outcomes["grpc.health.v1.Health/Watch"]
    assert watched[0] == grpc.StatusCode.OK
    assert watched[1].status == SERVING
    assert outcomes["grpc.health.v1.Health/Check"][1].status == SERVING
    channel.close()


def _watch(target: str, service: str, into: queue.Queue[Any]) -> threading.Thread:
    """Collect a Watch stream's statuses (then its end: a status code) in a thread."""

    def run() -> None:
        stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(target))
        try:
            for reply in stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=60):
                into.put(reply.status)
            into.put(grpc.StatusCode.OK)
        except grpc.RpcError as exc:
            into.put(exc.code())  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _take(q: queue.Queue[Any], n: int) -> list[Any]:
    return [q.get(timeout=30) for _ in range(n)]


@pytest.fixture(params=[frozenset(), frozenset({"s3cret"})], ids=["auth-off", "auth-on"])
def empty_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerThread]:
    """A server over an empty bundles root (NOT_SERVING until a bundle appears)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    srv = ServerThread(settings_for(empty, auth_tokens=request.param, grace_s=0.5))
    yield srv
    if srv.thread.is_alive():
        srv.stop()


def test_health_watch_streams_changes_until_not_serving_at_shutdown(empty_server: ServerThread, bundles: Path) -> None:
    srv = empty_server
    overall: queue.Queue[Any] = queue.Queue()
    scoring: queue.Queue[Any] = queue.Queue()
    unknown: queue.Queue[Any] = queue.Queue()
    threads = [
        _watch(srv.target, "", overall),
        _watch(srv.target, "reelgraph.v1.ScoringService", scoring),
        _watch(srv.target, "no.such.Service", unknown),
    ]
    assert _take(overall, 1) == [NOT_SERVING]
    assert _take(scoring, 1) == [NOT_SERVING]
    assert _take(unknown, 1) == [SERVICE_UNKNOWN]
    shutil.copytree(bundles / "tiny", Path(srv.running.settings.bundles_dir) / "tiny")  # a bundle appears
    assert _take(overall, 1) == [SERVING]
    assert _take(scoring, 1) == [SERVING]
    srv.stop()
    overall_end = _take(overall, 2)
    assert overall_end[0] == NOT_SERVING
    assert overall_end[1] != grpc.StatusCode.INTERNAL  # the stream ends with the server (UNAVAILABLE/CANCELLED)
    assert _take(scoring, 2)[0] == NOT_SERVING
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
