"""The per-call pipeline on a real grpc.aio server: unexpected errors, domain errors,
undecodable requests, counts by status, and the open health service under auth."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from reelgraph.api.v1 import scoring_pb2 as pb
from reelgraph.api.v1 import scoring_pb2_grpc
from reelgraph.errors import ModelNotFoundError
from server.app import HEALTH_DESCRIPTOR, SCORING_DESCRIPTOR
from server.calls import CallPolicy
from server.metrics import ServerMetrics
from server.registration import add_service


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
