"""The job contract against a real redis-server."""

from __future__ import annotations

import time

import pytest
import redis

from reelgraph.errors import BundleError, InvalidOptionError, ModelNotFoundError, UnknownIdsError
from reelgraph.jobs import failures, keys
from reelgraph.jobs.queue import JobQueue, QueueSettings
from reelgraph.jobs.records import ExplainRequest, ExplanationResult, JobStatus, RecordError


@pytest.fixture
def queue(redis_url: str) -> JobQueue:
    q = JobQueue(
        redis.Redis.from_url(redis_url, decode_responses=True),
        QueueSettings(visibility_timeout_s=0.2, block_ms=50, max_deliveries=2),
    )
    q.ensure_group()
    q.ensure_group()  # idempotent
    return q


REQ = ExplainRequest("tiny", "1", user_id=1, movie_id=10)
RESULT = ExplanationResult(probability=0.8, logit=1.4, attribution_total=1.3)


def test_submit_dedups_and_emits_queued(queue: JobQueue) -> None:
    job, new = queue.submit(REQ)
    again, new_again = queue.submit(REQ)
    other, _ = queue.submit(ExplainRequest("tiny", "2", user_id=1, movie_id=10))  # another version
    assert new
    assert not new_again
    assert again == job
    assert other != job
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.QUEUED
    assert state.request == REQ
    assert [e.kind for _, e in queue.events(job)] == ["queued"]
    assert queue.state("nope") is None


def test_claim_start_progress_finish(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    assert d.job_id == job
    assert d.deliveries == 1
    assert queue.start(d, "w1") == REQ
    assert queue.progress(job, 0.5)
    queue.finish(d, RESULT)
    queue.finish(d, RESULT)  # idempotent: one result, one DONE event
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.DONE
    assert state.result == RESULT
    assert state.attempts == 1
    kinds = [e.kind for _, e in queue.events(job)]
    assert kinds == ["queued", "started", "progress", "done"]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0
    assert queue.claim("w1") == []


def test_events_resume_after_a_seen_id(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    queue.start(d, "w1")
    first = queue.events(job)
    queue.finish(d, RESULT)
    rest = queue.events(job, after=first[-1][0])
    assert [e.kind for _, e in rest] == ["done"]
    t = time.perf_counter()
    assert queue.events(job, after=rest[-1][0], block_ms=100) == []
    assert time.perf_counter() - t >= 0.09  # it did block


def test_dead_worker_job_is_taken_over(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("dead")
    queue.start(d, "dead")  # ...and the worker dies here
    assert queue.claim("alive") == []  # not yet idle long enough
    time.sleep(0.3)
    (d2,) = queue.claim("alive")
    assert d2.job_id == job
    assert d2.deliveries == 2
    queue.start(d2, "alive")
    queue.finish(d2, RESULT)
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.DONE
    assert state.attempts == 2


def test_restarted_worker_rereads_its_own_pending(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    queue.claim("w1")
    (d,) = queue.claim("w1", own_pending=True)
    assert d.job_id == job


def test_poison_job_goes_to_dead_letter(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    assert not queue.fail(d, "boom 1")
    time.sleep(0.3)
    (d2,) = queue.claim("w2")
    assert queue.fail(d2, "boom 2")
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.FAILED
    assert state.error == "boom 2"
    dead = queue.redis.xrange(keys.DEAD_LETTER_STREAM)
    assert [f["job_id"] for _, f in dead] == [job]
    assert queue.events(job)[-1][1].reason == "boom 2"
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_a_result_stored_before_a_crash_is_finished_on_redelivery(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("dead")
    queue.start(d, "dead")
    queue.redis.hsetnx(keys.job(job), "result", RESULT.to_json())  # ...and the worker dies before DONE
    time.sleep(0.3)
    (d2,) = queue.claim("alive")
    request = queue.start(d2, "alive")  # finds the result: marks DONE instead of running again
    if request is not None:
        queue.finish(d2, ExplanationResult(probability=0.1, logit=-2.2, attribution_total=-2.0))
    state = queue.state(job)
    assert state is not None
    assert request is None
    assert state.status is JobStatus.DONE
    assert state.result == RESULT  # the first stored result stays
    assert state.attempts == 1
    assert [e.kind for _, e in queue.events(job)] == ["queued", "started", "done"]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_finish_after_cancel_leaves_it_cancelled(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    queue.start(d, "w1")
    assert queue.cancel(job)
    queue.finish(d, RESULT)
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.CANCELLED
    assert [e.kind for _, e in queue.events(job)] == ["queued", "started", "cancelled"]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_claims_beyond_max_deliveries_dead_letter_the_job(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    for worker in ("w1", "w2"):  # max_deliveries 2: each worker dies mid-job
        (d,) = queue.claim(worker)
        queue.start(d, worker)
        time.sleep(0.3)
    assert queue.claim("w3") == []
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.FAILED
    assert state.attempts == 2
    assert state.error.startswith("gave up after 2 deliveries (max_deliveries 2)")
    assert queue.events(job)[-1][1].reason == state.error
    assert [f["job_id"] for _, f in queue.redis.xrange(keys.DEAD_LETTER_STREAM)] == [job]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_own_pending_reread_beyond_max_deliveries_dead_letters_too(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    assert queue.fail(d, "RuntimeError: boom") is False
    (again,) = queue.claim("w1", own_pending=True)  # a restarted worker re-reads its own pending
    assert again.deliveries == 2
    queue.start(again, "w1")  # ...and dies again
    assert queue.claim("w1", own_pending=True) == []
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.FAILED
    assert state.error.endswith("RuntimeError: boom")  # the last recorded error is kept in the reason


def test_permanent_failure_ends_the_job_at_once(redis_url: str) -> None:
    queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True))  # default settings: 3 deliveries
    queue.ensure_group()
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    queue.start(d, "w1")
    assert queue.fail(d, "BundleError: no such version", permanent=True)
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.FAILED
    assert state.error == "BundleError: no such version"
    assert [f["job_id"] for _, f in queue.redis.xrange(keys.DEAD_LETTER_STREAM)] == [job]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_transient_failure_is_retried_after_a_backoff_not_the_visibility_timeout(redis_url: str) -> None:
    settings = QueueSettings(block_ms=50, retry_backoff_s=0.5)  # visibility timeout: the default 300 s
    queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True), settings)
    queue.ensure_group()
    job, _ = queue.submit(REQ)
    (d,) = queue.claim("w1")
    queue.start(d, "w1")
    assert not queue.fail(d, "OutOfMemoryError: CUDA out of memory")
    assert queue.claim("w2") == []  # backing off
    time.sleep(0.6)
    (d2,) = queue.claim("w2")
    assert d2.job_id == job
    assert d2.deliveries == 2
    assert queue.state(job).error == "OutOfMemoryError: CUDA out of memory"  # type: ignore[union-attr]
    assert not queue.fail(d2, "OutOfMemoryError: again")
    time.sleep(0.6)
    assert queue.claim("w3") == []  # the backoff doubles: 1 s now
    time.sleep(0.6)
    assert [x.job_id for x in queue.claim("w3")] == [job]
    assert settings.retry_after_s(10) == 60.0  # capped


def test_one_classification_of_failures() -> None:
    import torch

    permanent = [
        BundleError("tiny/99: no such bundle"),
        ModelNotFoundError("no model 'x'"),
        UnknownIdsError("user", [999], [0]),
        InvalidOptionError("invalid method 'Bogus'"),
        RecordError("ExplainRequest: invalid record"),
    ]
    transient = [
        redis.ConnectionError("Connection refused"),
        redis.TimeoutError("Timeout reading from socket"),
        MemoryError(),
        torch.OutOfMemoryError("CUDA out of memory"),
        RuntimeError("CUDA error: device-side assert triggered"),
    ]
    assert [failures.is_permanent(e) for e in permanent] == [True] * len(permanent)
    assert [failures.is_permanent(e) for e in transient] == [False] * len(transient)
    assert failures.describe(UnknownIdsError("user", [999], [0])) == "UnknownIdsError: unknown user ids: 999"


def test_a_request_that_does_not_parse_fails_at_once(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    queue.redis.hset(keys.job(job), "request", '{"schema_version": 1, "model": 7}')
    (d,) = queue.claim("w1")
    assert queue.start(d, "w1") is None
    state = queue.redis.hgetall(keys.job(job))
    assert state["status"] == "failed"
    assert state["error"].startswith("RecordError: ExplainRequest: invalid record")
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_cancel(queue: JobQueue) -> None:
    job, _ = queue.submit(REQ)
    assert queue.cancel(job)
    assert not queue.cancel(job)
    (d,) = queue.claim("w1")
    assert queue.start(d, "w1") is None  # cancelled before it started: acked, not run
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.CANCELLED


def test_records_refuse_other_schema_versions() -> None:
    with pytest.raises(RecordError, match="schema_version 9"):
        ExplainRequest.from_json('{"schema_version": 9}')
    with pytest.raises(RecordError, match="invalid record"):
        ExplainRequest.from_json("[1, 2]")
