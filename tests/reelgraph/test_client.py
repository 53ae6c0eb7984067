"""``reelgraph.client.Client``: deadlines and retries cover the streaming calls too (real servers on real ports)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from reelgraph.client import Client, StreamTimeoutError
from reelgraph.supervision import free_port
from reelgraph_client.client import retry_options
from tests.server.conftest import ServerThread, settings_for


def _chunks(n: int, pulled: list[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for i in range(n):
        pulled.append(i)
        yield np.full(3, 1 + i % 5, np.int64), np.array([10, 13, 11], np.int64)  # movie 11 is unknown


def _late_server(bundles: Path, port: int, after_s: float) -> tuple[threading.Thread, list[ServerThread]]:
    started: list[ServerThread] = []

    def start() -> None:
        time.sleep(after_s)
        started.append(ServerThread(settings_for(bundles, port=port)))

    thread = threading.Thread(target=start, daemon=True)
    thread.start()
    return thread, started


def test_stream_score_retries_until_the_server_is_up_and_answers_every_chunk_once(bundles: Path) -> None:
    port = free_port()
    thread, started = _late_server(bundles, port, after_s=1.0)
    pulled: list[int] = []
    try:
        with Client(f"127.0.0.1:{port}", retries=4, backoff_s=0.5, timeout_s=20) as client:
            results = list(client.stream_score(_chunks(6, pulled)))
    finally:
        thread.join(timeout=60)
        for server in started:
            server.stop()
    assert pulled == list(range(6))  # the source is read once; unanswered chunks are re-sent from memory
    assert [r.status.tolist() for r in results] == [[0, 0, 2]] * 6
    assert [r.link_probability is not None for r in results] == [True] * 6


def test_stream_score_without_retries_fails_unavailable() -> None:
    with Client(f"127.0.0.1:{free_port()}", retries=0, timeout_s=5) as client, pytest.raises(grpc.RpcError) as info:
        list(client.stream_score(_chunks(2, [])))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]


def test_a_chunk_left_unanswered_hits_the_deadline() -> None:
    silent = socket.socket()  # accepts connections, never speaks HTTP/2
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    started = time.monotonic()
    try:
        with (
            Client(f"127.0.0.1:{silent.getsockname()[1]}", retries=3, timeout_s=1.0) as client,
            pytest.raises(StreamTimeoutError) as info,
        ):
            list(client.stream_score(_chunks(2, [])))
    finally:
        silent.close()
    assert 0.9 < time.monotonic() - started < 10
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "within 1 s" in info.value.details()


def test_recommend_retries_until_the_server_is_up(bundles: Path) -> None:
    port = free_port()
    thread, started = _late_server(bundles, port, after_s=1.0)
    try:
        with Client(f"127.0.0.1:{port}", retries=4, backoff_s=0.5, timeout_s=20) as client:
            recs = list(client.recommend([1, 2, 3], k=3))
    finally:
        thread.join(timeout=60)
        for server in started:
            server.stop()
    assert [r.user_id for r in recs] == [1, 2, 3]
    assert all(len(r.movie_ids) == 3 for r in recs)


def test_recommend_takes_exclude_rated_like_the_scorer_and_its_older_inverse(bundles: Path) -> None:
    server = ServerThread(settings_for(bundles))
    try:
        with Client(server.target, retries=0, timeout_s=20) as client:
            _check_the_flag(client)
    finally:
        server.stop()


def _check_the_flag(client: Client) -> None:
    excluded = next(iter(client.recommend([1], k=30)))
    assert next(iter(client.recommend([1], k=30, exclude_rated=True))) == excluded
    assert next(iter(client.recommend([1], k=30, include_rated=False))) == excluded
    included = next(iter(client.recommend([1], k=30, exclude_rated=False)))
    assert next(iter(client.recommend([1], k=30, include_rated=True))) == included
    assert included != excluded
    with pytest.raises(ValueError, match="not both"):
        next(iter(client.recommend([1], exclude_rated=True, include_rated=False)))


def test_unary_calls_retry_through_the_channels_retry_policy(bundles: Path) -> None:
    port = free_port()
    thread, started = _late_server(bundles, port, after_s=0.2)
    try:
        # gRPC draws each retry's delay from [0, backoff]; 2 s doubling keeps all four from landing before the
        # channel's first reconnect (~1 s), which finds the server listening.
        with Client(f"127.0.0.1:{port}", retries=4, backoff_s=2.0, timeout_s=30) as client:
            scores = client.score_pairs(np.array([1, 2]), np.array([10, 13]))
    finally:
        thread.join(timeout=60)
        for server in started:
            server.stop()
    assert scores.status.tolist() == [0, 0]


def test_unary_calls_without_retries_fail_unavailable_at_once() -> None:
    started = time.monotonic()
    with Client(f"127.0.0.1:{free_port()}", retries=0, timeout_s=20) as client, pytest.raises(grpc.RpcError) as info:
        client.score_pairs(np.array([1]), np.array([10]))
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert time.monotonic() - started < 5


def test_more_retries_than_grpc_allows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"retries must be 0\.\.4"):
        Client("127.0.0.1:1", retries=5)


def test_the_retry_policy_is_grpcs_service_config() -> None:
    options = dict(retry_options(3, 0.2, 5.0, 1 << 20))
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.per_rpc_retry_buffer_size"] == 1 << 20  # bulk requests stay replayable
    (method,) = json.loads(options["grpc.service_config"])["methodConfig"]
    assert method["retryPolicy"] == {
        "maxAttempts": 4,
        "initialBackoff": "0.200s",
        "maxBackoff": "5.000s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    assert {n["service"] for n in method["name"]} == {"reelgraph.v1.ScoringService", "reelgraph.v1.ExplanationService"}
    assert dict(retry_options(0, 0.2, 5.0)) == {"grpc.enable_retries": 0}
