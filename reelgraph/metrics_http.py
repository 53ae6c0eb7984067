"""The Prometheus ``/metrics`` HTTP endpoint every reelgraph process can expose."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, start_http_server


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> tuple[Any, int]:
    """Serve ``registry`` at ``http://host:port/metrics`` on a daemon thread.

    Returns the HTTP server (``shutdown()`` then ``server_close()`` stop it) and the bound port
    (useful with ``port=0``).
    """
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, int(server.server_address[1])
