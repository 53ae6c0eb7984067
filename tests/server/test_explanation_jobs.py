"""``server.explanations.ExplanationJobs`` directly, with a real Redis; the test plays the worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from reelgraph.errors import (
    InvalidOptionError,
    InvalidRequestError,
    JobNotFoundError,
    ModelNotFoundError,
    QueueUnavailableError,
    TooManyItemsError,
    UnknownIdsError,
)
from reelgraph.jobs.queue import JobQueue
from reelgraph.jobs.records import ExplainMethod, ExplanationResult, JobStatus, UserInfluence
from server.explanations import MAX_BATCH, BatchOutcome, ExplanationJobs, Options
from server.registry import ModelRegistry

RESULT = ExplanationResult(probability=0.75, logit=1.1, attribution_total=1.0, top_users=[UserInfluence(2, 0.5)])


@pytest.fixture
def registry(bundles: Path) -> ModelRegistry:
    r = ModelRegistry(bundles)
    r.refresh()
    return r


def _run(registry: ModelRegistry, redis_url: str | None, test: object) -> None:
    """Run ``test(jobs)`` (a coroutine function) on a fresh loop, closing the jobs after."""

    async def main() -> None:
        with ThreadPoolExecutor(2) as pool:
            jobs = ExplanationJobs(registry, redis_url, pool)
            try:
                await test(jobs)  # type: ignore[operator]
            finally:
                await jobs.close()

    asyncio.run(main())


def _play_worker(redis_url: str, jobs: int, stop: threading.Event) -> threading.Thread:
    """A thread that claims ``jobs`` jobs and finishes each with ``RESULT``."""
    queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True))
    queue.ensure_group()

    def work() -> None:
        done = 0
        while done < jobs and not stop.is_set():
            for delivery in queue.claim("test-worker"):
                if queue.start(delivery, "test-worker") is not None:
                    queue.finish(delivery, RESULT)
                    done += 1

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


async def _all(batch: AsyncIterator[BatchOutcome]) -> list[BatchOutcome]:
    return [o async for o in batch]


def test_submit_validates_pins_and_dedups(registry: ModelRegistry, redis_url: str) -> None:
    async def test(jobs: ExplanationJobs) -> None:
        job, dedup, status = await jobs.submit(1, 10, Options(method=ExplainMethod.SALIENCY, top_k=3))
        assert (dedup, status) == (False, JobStatus.QUEUED)
        again = await jobs.submit(1, 10, Options("tiny", "1", ExplainMethod.SALIENCY, top_k=3))
        assert again == (job, True, JobStatus.QUEUED)  # the default bundle's version was pinned
        state = await jobs.state(job)
        assert (state.request.model, state.request.version, state.request.method) == ("tiny", "1", "Saliency")
        with pytest.raises(UnknownIdsError, match="999"):
            await jobs.submit(999, 10, Options())
        with pytest.raises(ModelNotFoundError):
            await jobs.submit(1, 10, Options("tiny", "7"))
        for bad in (Options(n_steps=0), Options(n_steps=1001), Options(top_k=101)):
            with pytest.raises(InvalidOptionError):
                await jobs.submit(1, 10, bad)
        assert await jobs.cancel(job)
        assert (await jobs.state(job)).status is JobStatus.CANCELLED
        with pytest.raises(JobNotFoundError):
            await jobs.state("nope")

    _run(registry, redis_url, test)


def test_without_redis_explanations_are_unavailable(registry: ModelRegistry) -> None:
    async def test(jobs: ExplanationJobs) -> None:
        with pytest.raises(QueueUnavailableError, match="REELGRAPH_REDIS_URL"):
            await jobs.submit(1, 10, Options())

    _run(registry, None, test)


def test_explain_batch_yields_every_outcome(registry: ModelRegistry, redis_url: str) -> None:
    stop = threading.Event()
    worker = _play_worker(redis_url, 2, stop)

    async def test(jobs: ExplanationJobs) -> None:
        batch = jobs.explain_batch([1, 999, 2], [10, 10, 13], Options(top_k=2))
        outcomes = await asyncio.wait_for(_all(batch), timeout=60)
        by_index = {o.index: o for o in outcomes}
        assert sorted(by_index) == [0, 1, 2]
        assert by_index[1].kind == "rejected"
        assert "999" in by_index[1].reason
        assert by_index[1].job_id == ""
        for i in (0, 2):
            assert by_index[i].kind == "done"
            assert by_index[i].job_id
            assert by_index[i].result == RESULT

    try:
        _run(registry, redis_url, test)
    finally:
        stop.set()
        worker.join(timeout=10)


def test_explain_batch_refuses_malformed_batches(registry: ModelRegistry, redis_url: str) -> None:
    async def test(jobs: ExplanationJobs) -> None:
        with pytest.raises(InvalidRequestError) as exc:
            [o async for o in jobs.explain_batch([1, 2], [10], Options())]
        assert [v.field for v in exc.value.violations] == ["movie_ids"]
        with pytest.raises(TooManyItemsError, match=f"limit of {MAX_BATCH}"):
            [o async for o in jobs.explain_batch([1] * (MAX_BATCH + 1), [10] * (MAX_BATCH + 1), Options())]

    _run(registry, redis_url, test)


def test_closing_a_batch_early_stops_following_it(registry: ModelRegistry, redis_url: str) -> None:
    async def test(jobs: ExplanationJobs) -> None:
        batch = jobs.explain_batch([999, 1], [10, 10], Options())
        first: BatchOutcome = await anext(batch)  # the rejected pair ends at once; pair 1 waits for a worker
        assert first.kind == "rejected"
        await asyncio.wait_for(batch.aclose(), timeout=5)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=5)
        assert all(t.cancelled() for t in pending)

    _run(registry, redis_url, test)
