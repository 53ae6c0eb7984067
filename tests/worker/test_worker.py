"""Real worker processes against a real redis-server and a real tiny bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue, QueueSettings
from reelgraph.jobs.records import ExplainRequest, ExplanationResult, JobStatus
from reelgraph.supervision import free_port


@pytest.fixture
def queue(redis_url: str) -> JobQueue:
    q = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True), QueueSettings(visibility_timeout_s=1.0))
    q.ensure_group()
    return q


class Workers:
    """Starts ``reelgraph work`` processes and cleans them up."""

    def __init__(self, redis_url: str, bundles: Path) -> None:
        self.redis_url, self.bundles = redis_url, bundles
        self.procs: list[subprocess.Popen[str]] = []
        self.logs: list[Path] = []

    def start(self, name: str, **env: str) -> subprocess.Popen[str]:
        log = self.bundles.parent / f"worker-{name}.log"
        self.logs.append(log)
        with log.open("w") as err:
            proc = self._spawn(name, err, env)
        self.procs.append(proc)
        return proc

    def _spawn(self, name: str, err: object, env: dict[str, str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reelgraph",
                "work",
                "--redis",
                self.redis_url,
                "--bundles",
                str(self.bundles),
                "--name",
                name,
            ],
            env={**os.environ, "REELGRAPH_VISIBILITY_TIMEOUT_S": "1", "REELGRAPH_MAX_DELIVERIES": "2", **env},
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,  # type: ignore[arg-type]
        )

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


@pytest.fixture
def workers(redis_url: str, bundles: Path) -> Iterator[Workers]:
    w = Workers(redis_url, bundles)
    yield w
    w.stop_all()


def _wait_status(queue: JobQueue, job: str, status: JobStatus, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        state = queue.state(job)
        if state is not None and state.status is status:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job} is {state.status if state else None}, wanted {status}")
        time.sleep(0.1)


def test_submit_to_done_with_a_sensible_result(queue: JobQueue, workers: Workers) -> None:
    workers.start("w1")
    job, _ = queue.submit(ExplainRequest("tiny", "1", user_id=1, movie_id=10, top_k=5, method="IntegratedGradients"))
    _wait_status(queue, job, JobStatus.DONE)
    state = queue.state(job)
    assert state is not None
    assert state.result is not None
    r = state.result
    assert 0.0 < r.probability < 1.0
    assert len(r.top_users) == 5
    assert len(r.top_movies) == 5
    assert len(r.top_ratings) == 5
    assert abs(r.top_users[0].score) >= abs(r.top_users[-1].score)
    assert all(m.title.startswith("Movie ") for m in r.top_movies)
    assert set(r.features) >= {"Action", "Comedy", "year"}
    kinds = [e.kind for _, e in queue.events(job)]
    assert kinds[0] == "queued"
    assert kinds[1] == "started"
    assert "progress" in kinds
    assert kinds[-1] == "done"
    assert queue.redis.get(keys.heartbeat("w1")) is not None


def test_killed_worker_job_is_finished_by_another_exactly_once(queue: JobQueue, workers: Workers) -> None:
    slow = workers.start("slow")
    job, _ = queue.submit(
        ExplainRequest("tiny", "1", user_id=2, movie_id=13, n_steps=1500, method="IntegratedGradients")
    )  # ~7 s of work
    _wait_status(queue, job, JobStatus.STARTED)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=10)
    workers.start("rescuer")
    _wait_status(queue, job, JobStatus.DONE, timeout_s=180)
    state = queue.state(job)
    assert state is not None
    assert state.attempts == 2
    kinds = [e.kind for _, e in queue.events(job)]
    assert kinds.count("done") == 1
    assert kinds.count("started") == 2
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0  # acked and removed


def _wait_live(queue: JobQueue, n: int, timeout_s: float = 120) -> None:
    """Until ``n`` workers heartbeat (they start once bundles are preloaded)."""
    deadline = time.monotonic() + timeout_s
    while queue.live_workers() < n:
        assert time.monotonic() < deadline, "workers did not come up"
        time.sleep(0.1)


def test_jobs_that_cannot_succeed_fail_at_once(queue: JobQueue, workers: Workers) -> None:
    # The default visibility timeout: a retry would come only after 300 s.
    workers.start("w1", REELGRAPH_VISIBILITY_TIMEOUT_S="300", REELGRAPH_MAX_DELIVERIES="3")
    _wait_live(queue, 1)
    hopeless = {
        "BundleError": ExplainRequest("tiny", "99", user_id=1, movie_id=10),  # no such version
        "UnknownIdsError": ExplainRequest("tiny", "1", user_id=999_999, movie_id=10),
        "InvalidOptionError": ExplainRequest("tiny", "1", user_id=1, movie_id=10, method="Bogus"),
    }
    submitted = time.monotonic()
    jobs = {error: queue.submit(request)[0] for error, request in hopeless.items()}
    for job in jobs.values():
        _wait_status(queue, job, JobStatus.FAILED, timeout_s=20)
    assert time.monotonic() - submitted < 20
    for error, job in jobs.items():
        state = queue.state(job)
        assert state is not None
        assert state.error.startswith(error + ":")
        assert state.attempts == 1
        assert queue.events(job)[-1][1].reason == state.error
    assert {f["job_id"] for _, f in queue.redis.xrange(keys.DEAD_LETTER_STREAM)} == set(jobs.values())
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_a_result_stored_before_a_crash_is_finished_on_redelivery(queue: JobQueue, workers: Workers) -> None:
    job, _ = queue.submit(ExplainRequest("tiny", "1", user_id=1, movie_id=10))
    (delivery,) = queue.claim("ghost")
    queue.start(delivery, "ghost")
    stored = ExplanationResult(probability=0.123, logit=-1.96, attribution_total=-1.9)
    queue.redis.hsetnx(keys.job(job), "result", stored.to_json())  # ...and "ghost" dies before DONE
    # Restarted under the same name it re-reads its own pending entry (no 300 s takeover wait).
    workers.start("ghost", REELGRAPH_VISIBILITY_TIMEOUT_S="300")
    _wait_status(queue, job, JobStatus.DONE, timeout_s=120)
    state = queue.state(job)
    assert state is not None
    assert state.result == stored  # finished, not run again
    assert state.attempts == 1
    assert [e.kind for _, e in queue.events(job)] == ["queued", "started", "done"]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_a_job_that_kills_its_workers_is_dead_lettered(queue: JobQueue, workers: Workers) -> None:
    # MAX_DELIVERIES=2 (fixture env); each worker is SIGKILLed while it runs the job and a
    # new one starts under the same name, so it re-reads its own pending entry at once.
    env = {"REELGRAPH_VISIBILITY_TIMEOUT_S": "300"}
    job, _ = queue.submit(
        ExplainRequest("tiny", "1", user_id=2, movie_id=13, n_steps=4000, method="IntegratedGradients")
    )
    for attempt in (1, 2):
        proc = workers.start("doomed", **env)
        deadline = time.monotonic() + 120
        while (state := queue.state(job)) is None or state.attempts < attempt:
            assert time.monotonic() < deadline, "the job was not started"
            assert proc.poll() is None, workers.logs[-1].read_text()
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=10)
    workers.start("doomed", **env)
    _wait_status(queue, job, JobStatus.FAILED, timeout_s=120)
    state = queue.state(job)
    assert state is not None
    assert state.attempts == 2  # not run a third time
    assert state.error.startswith("gave up after 2 deliveries (max_deliveries 2)")
    assert [f["job_id"] for _, f in queue.redis.xrange(keys.DEAD_LETTER_STREAM)] == [job]
    assert queue.redis.xlen(keys.JOBS_STREAM) == 0


def test_sigterm_finishes_the_current_job_then_exits(queue: JobQueue, workers: Workers) -> None:
    proc = workers.start("w1")
    job, _ = queue.submit(
        ExplainRequest("tiny", "1", user_id=3, movie_id=16, n_steps=1000, method="IntegratedGradients")
    )
    _wait_status(queue, job, JobStatus.STARTED)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0
    state = queue.state(job)
    assert state is not None
    assert state.status is JobStatus.DONE


def test_metrics_and_json_logs(queue: JobQueue, workers: Workers) -> None:
    port = free_port()
    workers.start("metered", REELGRAPH_WORKER_METRICS_PORT=str(port), REELGRAPH_LOG_FORMAT="json")
    job, _ = queue.submit(ExplainRequest("tiny", "1", user_id=1, movie_id=10, top_k=3))
    _wait_status(queue, job, JobStatus.DONE)
    poison, _ = queue.submit(ExplainRequest("tiny", "99", user_id=1, movie_id=10))
    _wait_status(queue, poison, JobStatus.FAILED, timeout_s=60)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples['reelgraph_jobs_total{outcome="done"}']) == 1
    assert float(samples['reelgraph_jobs_total{outcome="failed"}']) == 1  # a missing version: no retry
    assert 'reelgraph_jobs_total{outcome="retry"}' not in samples
    assert float(samples['reelgraph_job_duration_seconds_count{method="Ranking"}']) == 2  # the default method
    assert float(samples["reelgraph_worker_heartbeat_timestamp_seconds"]) > time.time() - 60
    assert float(samples['reelgraph_bundle_loaded{model="tiny",version="1"}']) == 1
    records = [json.loads(line) for line in workers.logs[-1].read_text().splitlines() if line.startswith("{")]
    done = [r for r in records if r["msg"].startswith("job done")]
    assert [r["job_id"] for r in done] == [job]
    assert any(r.get("job_id") == poison and "exc" in r for r in records)


def test_cuda_without_a_gpu_is_one_clear_error(redis_url: str, bundles: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    args = ["work", "--redis", redis_url, "--bundles", str(bundles), "--device", "cuda"]
    proc = subprocess.run([sys.executable, "-m", "reelgraph", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "no CUDA device is available" in proc.stderr


def test_concurrency_runs_jobs_at_once_on_parallel_consumers(queue: JobQueue, workers: Workers) -> None:
    # A long visibility timeout: no loop may take over the other's job while it runs.
    workers.start("multi", REELGRAPH_WORKER_CONCURRENCY="2", REELGRAPH_VISIBILITY_TIMEOUT_S="300")
    _wait_live(queue, 1)
    requests = [
        ExplainRequest("tiny", "1", 1, 10, n_steps=1000, method="IntegratedGradients", want_plots=True),
        ExplainRequest("tiny", "1", user_id=2, movie_id=13, method="GuidedBackprop", want_plots=True),
    ]
    jobs = [queue.submit(r)[0] for r in requests]
    for job in jobs:
        _wait_status(queue, job, JobStatus.DONE)
    spans = []
    for job in jobs:
        events = {e.kind: e.at for _, e in queue.events(job)}
        spans.append((events["started"], events["done"]))
    # One loop takes one job at a time, so overlapping runs prove two loops.
    (a_start, a_done), (b_start, b_done) = spans
    assert a_start < b_done
    assert b_start < a_done
    assert {queue.redis.hget(keys.job(job), "worker") for job in jobs} == {"multi-1", "multi-2"}


def test_a_live_workers_long_job_is_not_taken_over(queue: JobQueue, workers: Workers) -> None:
    # Visibility timeout 1 s (fixture env). A first 4,000-step job runs for seconds
    # (computing the Gauss–Legendre rule alone takes that long), far past it.
    for name in ("a", "b"):
        workers.start(name)
    _wait_live(queue, 2)
    job, _ = queue.submit(
        ExplainRequest("tiny", "1", user_id=2, movie_id=13, n_steps=4000, method="IntegratedGradients")
    )
    _wait_status(queue, job, JobStatus.DONE, timeout_s=180)
    kinds = [e.kind for _, e in queue.events(job)]
    assert kinds.count("started") == 1  # the idle worker never took it over
    state = queue.state(job)
    assert state is not None
    assert state.attempts == 1
    spans = {e.kind: e.at for _, e in queue.events(job)}
    assert spans["done"] - spans["started"] > 2.0  # it did outlast the visibility timeout
