"""Prometheus metrics of the server: per-RPC counts and latency, pairs scored,
loaded bundles, explanation queue depth and live workers.

Each server owns its ``CollectorRegistry`` (tests run several servers in one
process); ``serve_metrics`` exposes it over HTTP on ``--metrics-port``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reelgraph.jobs.queue import JobQueue
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
        # Labelled children looked up once: labels() takes a lock and hashes per call.
        self._pair_children: dict[str, Any] = {}
        self._rpc_children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, code: str, seconds: float) -> None:
        """Count one finished RPC of ``method`` with status ``code`` and record its latency."""
        children = self._rpc_children.get((method, code))
        if children is None:
            children = (self.rpcs.labels(method, code), self.latency.labels(method))
            self._rpc_children[(method, code)] = children
        children[0].inc()
        children[1].observe(seconds)

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
