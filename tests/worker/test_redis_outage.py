"""A real worker process rides out a restart of its real redis-server (AOF on, same port and dir)."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from reelgraph.cli.redis_process import RedisProcess, start_redis
from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue, QueueSettings
from reelgraph.jobs.records import ExplainRequest, JobStatus
from reelgraph.supervision import free_port
from tests.worker.test_worker import Workers, _wait_live, _wait_status

OUTAGE_S = 3.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[list[RedisProcess]]:
    """A private redis-server with an append-only file, restartable in place (the list holds the current one)."""
    running = [start_redis(tmp_path / "redis", appendonly=True)]
    yield running
    running[-1].stop()


def _restart_after_outage(running: list[RedisProcess], tmp_path: Path, during: object = None) -> None:
    old = running[-1]
    old.stop()  # SIGTERM: the AOF is flushed
    time.sleep(OUTAGE_S)
    if callable(during):
        during()
    running.append(start_redis(tmp_path / "redis", port=old.port, appendonly=True))


def _metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines() if line[:1] not in ("#", ""))}


def _queue(url: str) -> JobQueue:
    return JobQueue(redis.Redis.from_url(url, decode_responses=True), QueueSettings())


def test_an_idle_worker_rides_out_a_redis_restart(own_redis: list[RedisProcess], bundles: Path, tmp_path: Path) -> None:
    url = own_redis[0].url
    workers = Workers(url, bundles)
    try:
        port = free_port()
        proc = workers.start("steady", REELGRAPH_WORKER_METRICS_PORT=str(port), REELGRAPH_VISIBILITY_TIMEOUT_S="300")
        queue = _queue(url)
        _wait_live(queue, 1)
        first, _ = queue.submit(ExplainRequest("tiny", "1", user_id=1, movie_id=10))
        _wait_status(queue, first, JobStatus.DONE)
        assert _metrics(port)["reelgraph_worker_redis_up"] == 1

        down: dict[str, float] = {}
        _restart_after_outage(own_redis, tmp_path, lambda: down.update(_metrics(port)))
        assert proc.poll() is None, workers.logs[-1].read_text()
        assert down["reelgraph_worker_redis_up"] == 0
        queue = _queue(own_redis[-1].url)
        second, _ = queue.submit(ExplainRequest("tiny", "1", user_id=2, movie_id=13))
        _wait_status(queue, second, JobStatus.DONE, timeout_s=60)  # it claims again
        assert _metrics(port)["reelgraph_worker_redis_up"] == 1
        deadline = time.monotonic() + 30  # the heartbeat resumes (it beats every 10 s)
        beat = "reelgraph_worker_heartbeat_timestamp_seconds"
        while _metrics(port)[beat] <= down[beat] or queue.live_workers() < 1:
            assert time.monotonic() < deadline, "no heartbeat since Redis came back"
            time.sleep(0.2)
        log = workers.logs[-1].read_text()
        assert log.count("Redis unreachable") == 1, log  # each state change logged once
        assert log.count("Redis reachable again") == 1, log
    finally:
        workers.stop_all()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _wait_idle(pid: int, log: Path, timeout_s: float = 240) -> None:
    """Until the worker has logged the outage and stopped computing (it waits to store its result)."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = _cpu_s(pid)
        time.sleep(1.0)
        if "Redis unreachable" in log.read_text() and _cpu_s(pid) - before < 0.1:
            return
        assert time.monotonic() < deadline, "the worker kept computing"


def test_a_job_held_through_a_redis_outage_is_stored_when_redis_is_back(
    own_redis: list[RedisProcess], bundles: Path, tmp_path: Path
) -> None:
    # Visibility timeout 1 s: the heartbeat thread (every 0.33 s) notices the outage at once.
    url = own_redis[0].url
    workers = Workers(url, bundles)
    try:
        proc = workers.start("holder")
        queue = _queue(url)
        _wait_live(queue, 1)
        job, _ = queue.submit(
            ExplainRequest("tiny", "1", user_id=2, movie_id=13, n_steps=1000, method="IntegratedGradients")
        )
        _wait_status(queue, job, JobStatus.STARTED)
        old = own_redis[-1]
        old.stop()
        _wait_idle(proc.pid, workers.logs[-1])  # the job computed through the outage; its result waits
        own_redis.append(start_redis(tmp_path / "redis", port=old.port, appendonly=True))
        queue = _queue(own_redis[-1].url)
        _wait_status(queue, job, JobStatus.DONE, timeout_s=60)
        assert proc.poll() is None, workers.logs[-1].read_text()
        state = queue.state(job)
        assert state is not None
        assert state.result is not None
        assert state.attempts == 1  # stored by the worker that held it, not redelivered
        assert [e.kind for _, e in queue.events(job)].count("done") == 1
        assert queue.redis.xlen(keys.JOBS_STREAM) == 0
        log = workers.logs[-1].read_text()
        assert log.index("Redis unreachable") < log.index("Redis reachable again") < log.index("job done")
    finally:
        workers.stop_all()
