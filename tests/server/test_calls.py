"""The per-call pipeline on a real grpc.aio server: unexpected errors, domain errors,
undecodable requests, counts by status (calls past their deadline and calls of a
killed client included), and the open health service under auth."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from reelgraph.errors import ModelNotFoundError
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc
from server.app import HEALTH_DESCRIPTOR, SCORING_DESCRIPTOR
from server.calls import CallPolicy
from server.method_handlers import add_service
from server.metrics import ServerMetrics
from tests.server.conftest import ServerThread


class Faulty:
    """ListModels fails unexpectedly; GetModel raises a domain error."""

    async def ListModels(self, request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:  # noqa: N802
        raise RuntimeError("secret internal detail")

    async def GetModel(self, request: pb.GetModelRequest, context: Any) -> pb.GetModelResponse:  # noqa: N802
        raise ModelNotFoundError(f"no model {request.model.name!r}")

    def __getattr__(self, name: str) -> Any:  # the other methods are not called here
        async def unused(*_: Any) -> None:
            raise NotImplementedError(name)

        return unused


async def _serve(policy: CallPolicy) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    add_service(Faulty(), SCORING_DESCRIPTOR, server, policy)
    add_service(health.aio.HealthServicer(), HEALTH_DESCRIPTOR, server, policy)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


def test_errors_map_to_codes_and_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    metrics = ServerMetrics()

    async def main() -> list[tuple[grpc.StatusCode, str]]:
        server, target = await _serve(CallPolicy(metrics))
        out = []
        async with grpc.aio.insecure_channel(target) as channel:
            stub = scoring_pb2_grpc.ScoringServiceStub(channel)
            calls = (
                stub.ListModels(pb.ListModelsRequest()),
                stub.GetModel(pb.GetModelRequest(model=pb.ModelRef(name="nope"))),
                channel.unary_unary("/reelgraph.v1.ScoringService/GetModel")(b"\xff\xff\xff"),
            )
            for call in calls:
                with pytest.raises(grpc.aio.AioRpcError) as exc:
                    await call
                out.append((exc.value.code(), exc.value.details() or ""))
        await server.stop(None)
        return out

    with caplog.at_level(logging.INFO, logger="server.calls"):
        internal, not_found, undecodable = asyncio.run(main())
    assert internal == (grpc.StatusCode.INTERNAL, "internal error")  # no internals leak
    assert not_found == (grpc.StatusCode.NOT_FOUND, "no model 'nope'")
    assert undecodable[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf message" in undecodable[1]
    assert any(r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records)
    counted = {
        (s.labels["method"], s.labels["code"]): s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "reelgraph_rpc_requests_total"
    }
    assert counted == {("ListModels", "INTERNAL"): 1, ("GetModel", "NOT_FOUND"): 1, ("GetModel", "INVALID_ARGUMENT"): 1}


def test_with_auth_on_health_is_open_and_the_rest_is_not() -> None:
    async def main() -> tuple[int, grpc.StatusCode]:
        server, target = await _serve(CallPolicy(None, frozenset({"s3cret"})))
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await scoring_pb2_grpc.ScoringServiceStub(channel).ListModels(pb.ListModelsRequest())
        await server.stop(None)
        return reply.status, exc.value.code()

    status, code = asyncio.run(main())
    assert status == health_pb2.HealthCheckResponse.SERVING
    assert code == grpc.StatusCode.UNAUTHENTICATED


class Slow:
    """ListModels and Recommend take longer than any deadline the tests give them."""

    async def ListModels(self, request: pb.ListModelsRequest, context: Any) -> pb.ListModelsResponse:  # noqa: N802
        await asyncio.sleep(30)
        return pb.ListModelsResponse()

    async def Recommend(self, request: pb.RecommendRequest, context: Any) -> Any:  # noqa: N802
        yield pb.RecommendResponse(user_id=1)
        await asyncio.sleep(30)

    def __getattr__(self, name: str) -> Any:
        async def unused(*_: Any) -> None:
            raise NotImplementedError(name)

        return unused


def _counted(metrics: ServerMetrics) -> dict[tuple[str, str], float]:
    return {
        (s.labels["method"], s.labels["code"]): s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "reelgraph_rpc_requests_total"
    }


def _counted_until(metrics: ServerMetrics, method: str, n: int) -> dict[tuple[str, str], float]:
    """The counts once ``n`` calls of ``method`` are in (a call is counted as its handler unwinds)."""
    deadline = time.monotonic() + 20
    while True:
        counts = _counted(metrics)
        if sum(v for (m, _), v in counts.items() if m == method) >= n:
            return counts
        assert time.monotonic() < deadline, counts
        time.sleep(0.05)


def test_calls_past_their_deadline_are_counted_deadline_exceeded() -> None:
    metrics = ServerMetrics()

    async def main() -> list[grpc.StatusCode]:
        server = grpc.aio.server()
        add_service(Slow(), SCORING_DESCRIPTOR, server, CallPolicy(metrics))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        codes = []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = scoring_pb2_grpc.ScoringServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                await stub.ListModels(pb.ListModelsRequest(), timeout=0.3)
            codes.append(exc.value.code())
            with pytest.raises(grpc.aio.AioRpcError) as exc:
                async for _ in stub.Recommend(pb.RecommendRequest(), timeout=0.3):
                    pass
            codes.append(exc.value.code())
            await asyncio.to_thread(_counted_until, metrics, "Recommend", 1)
        await server.stop(None)
        return codes

    assert asyncio.run(main()) == [grpc.StatusCode.DEADLINE_EXCEEDED] * 2
    counts = _counted(metrics)
    assert counts == {("ListModels", "DEADLINE_EXCEEDED"): 1, ("Recommend", "DEADLINE_EXCEEDED"): 1}


# A bulk-scoring client that streams a chunk every 10 ms until it is killed.
_STREAMER = """
import sys, time
import numpy as np
from reelgraph.client import Client

def chunks():
    while True:
        yield np.array([1, 2, 3]), np.array([10, 13, 16])
        time.sleep(0.01)

with Client(sys.argv[1], retries=0) as c:
    for i, _ in enumerate(c.stream_score(chunks())):
        if i == 5:
            print("streaming", flush=True)
"""


def test_streams_of_a_killed_client_are_counted_cancelled(server: ServerThread) -> None:
    kills = 4
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", _STREAMER, server.target], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "streaming"
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    counts = _counted_until(server.running.metrics, "StreamScorePairs", kills)
    assert counts[("StreamScorePairs", "CANCELLED")] == kills, counts
    assert ("StreamScorePairs", "OK") not in counts
