"""Prometheus metrics of the server: per-RPC counts and latency, pairs scored,
loaded bundles, explanation queue depth and live workers.

Each server owns its ``CollectorRegistry`` (tests run several servers in one
process); ``serve_metrics`` exposes it over HTTP on ``--metrics-port``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reelgraph import logs
from reelgraph.jobs.queue import JobQueue
from server import handlers
from server.handlers import Behaviour
from server.registry import ModelRegistry

log = logging.getLogger(__name__)
# Scoring answers in ~0.1–10 ms, Recommend and bulk chunks in up to seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The server's metric families, registered on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpcs = Counter(
            "reelgraph_rpc_requests", "RPCs finished, by method and status code.", ("method", "code"),
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "reelgraph_rpc_latency_seconds", "RPC handling time (seconds), by method.", ("method",),
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.pairs = Counter(
            "reelgraph_pairs_scored", "(user, movie) pairs scored, by score kind.", ("kind",), registry=self.registry
        )
        self.unknown = Counter(
            "reelgraph_pairs_unknown", "Pairs not scored because an id is unknown.", registry=self.registry
        )
        self._pair_children: dict[str, Any] = {}

    def count_pairs(self, kind: str, n: int) -> None:
        """Add ``n`` scored pairs of ``kind``; the labelled child is looked up once per kind."""
        child = self._pair_children.get(kind)
        if child is None:
            child = self._pair_children[kind] = self.pairs.labels(kind)
        child.inc(n)

    def watch(self, models: ModelRegistry, queue: JobQueue | None) -> None:
        """Also report loaded bundles and, with a queue, its depth and live workers."""
        self.registry.register(_StateCollector(models, queue))


class _StateCollector(Collector):
    """Read at scrape time: bundle versions from the registry, queue state from Redis."""

    def __init__(self, models: ModelRegistry, queue: JobQueue | None) -> None:
        self.models = models
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "reelgraph_bundle_loaded", "1 for each bundle version serving.", labels=("model", "version")
        )
        for scorer in self.models.all_latest():
            info.add_metric((scorer.name, scorer.version), 1.0)
        yield info
        if self.queue is None:
            return
        up = GaugeMetricFamily("reelgraph_redis_up", "1 when the explanation queue's Redis answered this scrape.")
        try:
            depth, workers = self.queue.depth(), self.queue.live_workers()
        except Exception as exc:  # a scrape must never fail because Redis is down
            log.debug("queue metrics unavailable: %s", exc)
            up.add_metric((), 0.0)
            yield up
            return
        up.add_metric((), 1.0)
        yield up
        gauge = GaugeMetricFamily("reelgraph_queue_jobs", "Explanation jobs by queue state.", labels=("state",))
        for state, count in depth.items():
            gauge.add_metric((state,), float(count))
        yield gauge
        yield GaugeMetricFamily("reelgraph_workers_alive", "Workers with a fresh heartbeat.", value=float(workers))


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts and times every RPC and binds its request id (``x-request-id`` or a new one) for logs.

    Per call it costs a few microseconds: wrapped handlers and metric children
    are built once per method, request ids come from a counter.
    """

    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]  # per process: ids stay unique across replicas

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        cached = self._wrapped.get(details.method)
        if cached is None or cached[0] is not handler:
            cached = (handler, self._wrap(handler, details.method.rsplit("/", 1)[-1]))
            self._wrapped[details.method] = cached
        return cached[1]

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        inner = handlers.behaviour(handler)
        wrapped = self._streaming(inner, method) if handler.response_streaming else self._unary(inner, method)
        return handlers.rewrap(handler, wrapped)

    def _unary(self, inner: Behaviour, method: str) -> Behaviour:
        async def unary(request: Any, context: Any) -> Any:
            with logs.bound(logs.request_id, self._request_id(context)):
                started, code = time.perf_counter(), "OK"
                try:
                    return await inner(request, context)
                except BaseException as exc:
                    code = _code(exc, context)
                    raise
                finally:
                    self._observe(method, code, started)

        return unary

    def _streaming(self, inner: Behaviour, method: str) -> Behaviour:
        async def streaming(request: Any, context: Any) -> AsyncIterator[Any]:
            with logs.bound(logs.request_id, self._request_id(context)):
                started, code = time.perf_counter(), "OK"
                try:
                    async for item in inner(request, context):
                        yield item
                except BaseException as exc:
                    code = _code(exc, context)
                    raise
                finally:
                    self._observe(method, code, started)

        return streaming

    def _request_id(self, context: Any) -> str:
        for key, value in context.invocation_metadata() or ():
            if key == "x-request-id":  # gRPC metadata keys arrive lower-case
                text = value.decode(errors="replace") if isinstance(value, bytes) else value
                return str(text)[:128]
        return f"{self._id_prefix}-{next(self._ids):x}"

    def _observe(self, method: str, code: str, started: float) -> None:
        children = self._children.get((method, code))
        if children is None:
            children = (self.metrics.rpcs.labels(method, code), self.metrics.latency.labels(method))
            self._children[(method, code)] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
        if code not in ("OK", "CANCELLED"):
            log.info("%s answered %s", method, code)


def _code(exc: BaseException, context: Any) -> str:
    """The status an exception leaves the RPC with (abort() stores it on the context)."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "UNKNOWN"
