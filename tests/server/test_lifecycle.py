"""Health, reflection, hot reload, tamper refusal and auth on a real server."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from reelgraph.bundle.writer import LATEST
from reelgraph.client import Client
from tests.server.conftest import ServerThread, settings_for

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _health(target: str, service: str = "") -> int:
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(target))
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status  # type: ignore[no-any-return]


def _wait(predicate, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _publish_copy(bundles: Path, version: str) -> Path:
    """Publish version 1's files as a new version, the way the writer does (rename, then LATEST)."""
    src = bundles / "tiny" / "1"
    tmp = bundles / "tiny" / f".tmp-{version}"
    shutil.copytree(src, tmp)
    manifest = tmp / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"version": "1"', f'"version": "{version}"'))
    import hashlib

    (tmp / "manifest.sha256").write_text(hashlib.sha256(manifest.read_bytes()).hexdigest() + "\n")
    tmp.rename(bundles / "tiny" / version)
    (bundles / "tiny" / LATEST).write_text(version + "\n")
    return bundles / "tiny" / version


def test_health_transitions_and_unavailable_without_bundles(tmp_path: Path, bundles: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    srv = ServerThread(settings_for(empty))
    try:
        assert _health(srv.target) == NOT_SERVING
        assert _health(srv.target, "reelgraph.v1.ScoringService") == NOT_SERVING
        with Client(srv.target, retries=0) as c, pytest.raises(grpc.RpcError) as exc:
            c.score_pairs(np.array([1]), np.array([10]))
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        shutil.copytree(bundles / "tiny", empty / "tiny")  # a bundle appears
        _wait(lambda: _health(srv.target) == SERVING)
        with Client(srv.target, retries=0) as c:
            assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
        srv.call(srv.running.health.enter_graceful_shutdown())
        assert _health(srv.target) == NOT_SERVING
    finally:
        srv.stop()


def test_reflection_lists_the_services(server: ServerThread) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(server.target))
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for s in next(iter(responses)).list_services_response.service}
    assert {"reelgraph.v1.ScoringService", "grpc.health.v1.Health"} <= names


def test_hot_reload_swaps_without_failing_a_concurrent_stream(server: ServerThread, bundles: Path) -> None:
    errors: list[BaseException] = []
    versions: set[str] = set()
    stop = threading.Event()

    def chunks():  # type: ignore[no-untyped-def]
        while not stop.is_set():
            yield np.array([1, 2, 3]), np.array([10, 13, 16])
            time.sleep(0.01)

    def stream() -> None:
        try:
            with Client(server.target, retries=0) as c:
                for r in c.stream_score(chunks()):
                    versions.add(r.version)
                    assert r.status.tolist() == [0, 0, 0]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=stream)
    worker.start()
    time.sleep(0.3)
    _publish_copy(bundles, "2")
    with Client(server.target, retries=0) as c:
        _wait(lambda: c.get_model("tiny").ref.version == "2")
    time.sleep(0.3)
    stop.set()
    worker.join(timeout=20)
    assert not errors, errors
    assert versions == {"1", "2"}


def test_tampered_new_bundle_is_refused_while_old_serves(server: ServerThread, bundles: Path) -> None:
    bad = _publish_copy(bundles, "2")
    weights = bad / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-10] ^= 0xFF
    weights.write_bytes(bytes(blob))
    time.sleep(1.0)  # several reload periods
    with Client(server.target, retries=0) as c:
        assert c.get_model("tiny").ref.version == "1"
        assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
    assert _health(server.target) == SERVING


def test_auth_on(bundles: Path) -> None:
    srv = ServerThread(settings_for(bundles, auth_tokens=frozenset({"s3cret"})))
    try:
        for token in (None, "wrong"):
            with Client(srv.target, token=token, retries=0) as c, pytest.raises(grpc.RpcError) as exc:
                c.score_pairs(np.array([1]), np.array([10]))
            assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            with Client(srv.target, token=token, retries=0) as c, pytest.raises(grpc.RpcError) as exc:
                list(c.stream_score(iter([(np.array([1]), np.array([10]))])))
            assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        with Client(srv.target, token="s3cret", retries=0) as c:
            assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
            assert next(c.recommend([1], 2)).movie_ids
        assert _health(srv.target) == SERVING  # health stays open for load balancers
    finally:
        srv.stop()


def test_auth_off_accepts_any_metadata(client: Client) -> None:
    assert client.list_models()
