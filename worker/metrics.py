"""Prometheus metrics of an explanation worker: job outcomes and durations, heartbeats, Redis."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# An explanation takes from ~0.1 s (tiny graphs) to minutes (dense subgraphs, many steps).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Outcome(StrEnum):
    """How one delivery of a job ended."""

    DONE = "done"
    CANCELLED = "cancelled"
    RETRY = "retry"  # failed (or left unsettled at shutdown), stays pending for another delivery
    FAILED = "failed"  # failed at its last delivery: dead-lettered


class WorkerMetrics:
    """The worker's metric families on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter(
            "reelgraph_jobs", "Job deliveries handled, by outcome.", ("outcome",), registry=self.registry
        )
        self.duration = Histogram(
            "reelgraph_job_duration_seconds", "Seconds from start to stored result or failure, by method.",
            ("method",), buckets=DURATION_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.heartbeat = Gauge(
            "reelgraph_worker_heartbeat_timestamp_seconds", "Unix time of the last heartbeat.", registry=self.registry
        )
        self.redis_up = Gauge(
            "reelgraph_worker_redis_up", "1 while Redis answers, 0 during an outage.", registry=self.registry
        )
        self.bundles = Gauge(
            "reelgraph_bundle_loaded", "1 for each bundle version this worker holds.", ("model", "version"),
            registry=self.registry,
        )  # fmt: skip

    def finished(self, outcome: Outcome, method: str, seconds: float) -> None:
        """Record one handled delivery."""
        self.jobs.labels(outcome.value).inc()
        self.duration.labels(method).observe(seconds)
