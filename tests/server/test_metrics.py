"""Prometheus metrics and request-id logs of a real server, scraped over HTTP."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from reelgraph import logs
from reelgraph.client import Client
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc
from tests.server.conftest import ServerThread, settings_for


def _scrape(port: int) -> dict[str, float]:
    """``name{labels}`` → value of every sample (label order as exposed)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def _scrape_until(port: int, key: str, timeout_s: float = 10) -> dict[str, float]:
    """Scrape until ``key`` shows (an aborted RPC is counted just after its status is sent)."""
    deadline = time.monotonic() + timeout_s
    while key not in (samples := _scrape(port)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return samples


@pytest.fixture
def metered(bundles: Path, redis_url: str) -> Iterator[ServerThread]:
    srv = ServerThread(settings_for(bundles, redis_url=redis_url, metrics_port=0))
    yield srv
    srv.stop()


def test_rpcs_pairs_bundle_and_queue_are_exposed(metered: ServerThread) -> None:
    port = metered.running.metrics_port
    assert port
    with Client(metered.target, retries=0) as c:
        c.score_pairs(np.array([1, 2, 3]), np.array([10, 10, 999_999]), kinds=("link", "rating"))
        with pytest.raises(grpc.RpcError):
            c.get_model("no-such-model")
        c.submit_explanation(1, 10)  # no worker: stays waiting
    m = _scrape_until(port, 'reelgraph_rpc_requests_total{code="NOT_FOUND",method="GetModel"}')
    assert m['reelgraph_rpc_requests_total{code="OK",method="ScorePairs"}'] == 1
    assert m['reelgraph_rpc_requests_total{code="NOT_FOUND",method="GetModel"}'] == 1
    assert m['reelgraph_rpc_latency_seconds_count{method="ScorePairs"}'] == 1
    assert m['reelgraph_pairs_scored_total{kind="link"}'] == 2
    assert m['reelgraph_pairs_scored_total{kind="rating"}'] == 2
    assert m["reelgraph_pairs_unknown_total"] == 1
    assert m['reelgraph_bundle_loaded{model="tiny",version="1"}'] == 1
    assert m["reelgraph_redis_up"] == 1
    assert m['reelgraph_queue_jobs{state="waiting"}'] == 1
    assert m['reelgraph_queue_jobs{state="running"}'] == 0
    assert m["reelgraph_workers_alive"] == 0


def test_unauthenticated_calls_are_counted(bundles: Path) -> None:
    srv = ServerThread(settings_for(bundles, metrics_port=0, auth_tokens=frozenset({"s3cret"})))
    try:
        with Client(srv.target, retries=0) as c, pytest.raises(grpc.RpcError):
            c.list_models()
        key = 'reelgraph_rpc_requests_total{code="UNAUTHENTICATED",method="ListModels"}'
        m = _scrape_until(srv.running.metrics_port or 0, key)
        assert m[key] == 1
        assert "reelgraph_redis_up" not in m  # no queue configured
    finally:
        srv.stop()


def test_a_scrape_still_answers_while_redis_is_down(bundles: Path) -> None:
    srv = ServerThread(settings_for(bundles, redis_url="redis://127.0.0.1:1/0", metrics_port=0))
    try:
        m = _scrape(srv.running.metrics_port or 0)
        assert m["reelgraph_redis_up"] == 0
        assert m['reelgraph_bundle_loaded{model="tiny",version="1"}'] == 1
    finally:
        srv.stop()


def _answered(stream: io.StringIO) -> list[dict[str, str]]:
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [r for r in records if re.search(r"GetModel answered NOT_FOUND", r["msg"])]


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    logs.configure(logs.LogFormat.JSON, stream=stream)
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_failed_rpcs_are_logged_as_json_with_the_callers_request_id(
    server: ServerThread, json_logs: io.StringIO
) -> None:
    stub = scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(server.target))
    with pytest.raises(grpc.RpcError):
        stub.GetModel(pb.GetModelRequest(model=pb.ModelRef(name="nope")), metadata=(("x-request-id", "req-42"),))
    # abort() sends the status before the handler unwinds: the line may land just after the reply.
    deadline = time.monotonic() + 10
    while not (answered := _answered(json_logs)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert answered, json_logs.getvalue()
    assert answered[0]["request_id"] == "req-42"
    assert answered[0]["level"] == "info"
    assert answered[0]["logger"] == "server.calls"
