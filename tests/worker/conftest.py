"""Worker fixtures: a ``Worker`` object on real Redis over the tiny bundle, and a way to run one request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from reelgraph.jobs.queue import JobQueue
from reelgraph.jobs.records import ExplainRequest, ExplanationResult
from reelgraph.settings import WorkerSettings
from worker.runner import Worker


@pytest.fixture
def worker(redis_url: str, bundles: Path) -> Worker:
    settings = WorkerSettings(redis_url=redis_url, bundles_dir=bundles, name="t")
    queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True), settings.queue)
    queue.ensure_group()
    return Worker(settings, queue)


@pytest.fixture
def explain(worker: Worker) -> Callable[[ExplainRequest], ExplanationResult]:
    """Queue ``request`` and explain it in this process (what the worker loop does with a delivery)."""

    def run(request: ExplainRequest) -> ExplanationResult:
        job, _ = worker.queue.submit(request)
        return worker.explain(request, job)

    return run
