"""Health probes for containers and the local stack: gRPC health and worker heartbeats."""

from __future__ import annotations

import time
import urllib.request

HEARTBEAT_METRIC = "reelgraph_worker_heartbeat_timestamp_seconds"


def grpc_serving(target: str, timeout_s: float = 3.0) -> bool:
    """True when ``grpc.health.v1`` at ``target`` (host:port) answers SERVING for the server."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def heartbeat_age_s(metrics_url: str, timeout_s: float = 3.0) -> float:
    """Seconds since the worker behind ``metrics_url`` last heartbeat (inf when unreadable)."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout_s) as resp:
            text = resp.read().decode()
    except OSError:
        return float("inf")
    for line in text.splitlines():
        if line.startswith(HEARTBEAT_METRIC + " "):
            stamp = float(line.split()[1])
            return max(0.0, time.time() - stamp) if stamp > 0 else float("inf")
    return float("inf")
