"""Explanation jobs on Redis Streams: at-least-once, idempotent results, dead letters.

Submit puts the job's hash and a QUEUED event in place, then XADDs its id to
the jobs stream. Workers XREADGROUP it, and XACK only after the result is
stored (or the job is dead-lettered), so a worker that dies mid-job leaves the
entry pending for another worker to XAUTOCLAIM after the visibility timeout.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from reelgraph.jobs import keys
from reelgraph.jobs.records import EventKind, ExplainRequest, ExplanationResult, JobEvent, JobStatus


@dataclass(frozen=True)
class QueueSettings:
    """Queue behaviour.

    Attributes:
        job_ttl_s: how long job hashes, events and dedup keys live (default 86,400 s).
        max_deliveries: deliveries before a job is dead-lettered (default 3).
        visibility_timeout_s: idle time after which another worker may take a
            pending job over (default 300 s; a job must finish or heartbeat sooner).
        block_ms: how long a worker blocks waiting for jobs (default 1,000 ms).
    """

    job_ttl_s: int = 86_400
    max_deliveries: int = 3
    visibility_timeout_s: float = 300.0
    block_ms: int = 1_000


@dataclass(frozen=True)
class JobState:
    """A job as stored: status, attempts, request, result or error."""

    job_id: str
    status: JobStatus
    attempts: int
    request: ExplainRequest
    result: ExplanationResult | None
    error: str


@dataclass(frozen=True)
class Delivery:
    """A job handed to a worker: the stream entry to ack and how often it was delivered."""

    entry_id: str
    job_id: str
    deliveries: int


class JobQueue:
    """Both sides of the contract over one Redis connection (``decode_responses=True``)."""

    def __init__(self, client: redis.Redis, settings: QueueSettings | None = None) -> None:
        self.redis = client
        self.settings = settings or QueueSettings()

    def ensure_group(self) -> None:
        """Create the jobs stream and the workers' consumer group if missing."""
        try:
            self.redis.xgroup_create(keys.JOBS_STREAM, keys.WORKERS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- server side -------------------------------------------------------

    def submit(self, request: ExplainRequest) -> tuple[str, bool]:
        """Queue ``request`` unless an identical one exists; returns (job id, newly queued)."""
        dedup = keys.dedup(request.fingerprint())
        job_id = uuid.uuid4().hex
        if not self.redis.set(dedup, job_id, nx=True, ex=self.settings.job_ttl_s):
            existing: Any = self.redis.get(dedup)
            if existing and self.redis.exists(keys.job(existing)):
                return str(existing), False
            self.redis.set(dedup, job_id, ex=self.settings.job_ttl_s)  # stale pointer: take it over
        ttl = self.settings.job_ttl_s
        pipe = self.redis.pipeline()
        pipe.hset(
            keys.job(job_id),
            mapping={
                "status": JobStatus.QUEUED.value,
                "attempts": 0,
                "request": request.to_json(),
                "submitted_at": time.time(),
            },
        )
        pipe.expire(keys.job(job_id), ttl)
        pipe.xadd(keys.events(job_id), {"event": JobEvent(EventKind.QUEUED.value, at=time.time()).to_json()})
        pipe.expire(keys.events(job_id), ttl)
        pipe.xadd(keys.JOBS_STREAM, {"job_id": job_id})
        pipe.execute()
        return job_id, True

    def state(self, job_id: str) -> JobState | None:
        """The stored job, or None when unknown or expired."""
        raw: dict[str, Any] = self.redis.hgetall(keys.job(job_id))  # type: ignore[assignment]
        if not raw:
            return None
        result = ExplanationResult.from_json(raw["result"]) if raw.get("result") else None
        return JobState(
            job_id,
            JobStatus(raw["status"]),
            int(raw.get("attempts", 0)),
            ExplainRequest.from_json(raw["request"]),
            result,
            raw.get("error", ""),
        )

    def events(self, job_id: str, after: str = "0", block_ms: int | None = None) -> list[tuple[str, JobEvent]]:
        """Events after ``after`` (an event id; "0" = from the start), waiting up to ``block_ms``."""
        reply: Any = self.redis.xread({keys.events(job_id): after}, block=block_ms)
        return [(eid, JobEvent.from_json(fields["event"])) for _, entries in reply or [] for eid, fields in entries]

    def cancel(self, job_id: str) -> bool:
        """Mark a not-yet-final job cancelled; False when unknown or already final."""
        state = self.state(job_id)
        if state is None or state.status.final:
            return False
        self._set_final(job_id, JobStatus.CANCELLED, EventKind.CANCELLED, reason="cancelled by client")
        return True

    # -- worker side -------------------------------------------------------

    def claim(self, consumer: str, *, own_pending: bool = False, count: int = 1) -> list[Delivery]:
        """Jobs for ``consumer``: its own pending (after a restart), stale ones of dead workers, or new ones."""
        if own_pending:
            mine: Any = self.redis.xreadgroup(keys.WORKERS_GROUP, consumer, {keys.JOBS_STREAM: "0"}, count=count)
            entries = [e for _, es in mine or [] for e in es if e[1]]
            if entries:
                return self._deliveries(entries)
        idle_ms = int(self.settings.visibility_timeout_s * 1000)
        claimed: Any = self.redis.xautoclaim(
            keys.JOBS_STREAM, keys.WORKERS_GROUP, consumer, idle_ms, "0-0", count=count
        )
        stale = [e for e in claimed[1] if e[1]]  # entries deleted meanwhile come back empty
        if stale:
            return self._deliveries(stale)
        reply: Any = self.redis.xreadgroup(
            keys.WORKERS_GROUP, consumer, {keys.JOBS_STREAM: ">"}, count=count, block=self.settings.block_ms
        )
        return self._deliveries([e for _, es in reply or [] for e in es])

    def _deliveries(self, entries: list[Any]) -> list[Delivery]:
        out = []
        for entry_id, fields in entries:
            info: Any = self.redis.xpending_range(keys.JOBS_STREAM, keys.WORKERS_GROUP, entry_id, entry_id, 1)
            times = int(info[0]["times_delivered"]) if info else 1
            out.append(Delivery(entry_id, fields["job_id"], times))
        return out

    def start(self, delivery: Delivery, worker: str) -> ExplainRequest | None:
        """Mark started; None (and the entry acked) when the job is gone, final or cancelled."""
        state = self.state(delivery.job_id)
        if state is None or state.status.final:
            self.ack(delivery)
            return None
        pipe = self.redis.pipeline()
        pipe.hset(keys.job(delivery.job_id), mapping={"status": JobStatus.STARTED.value, "worker": worker})
        pipe.hincrby(keys.job(delivery.job_id), "attempts", 1)
        pipe.xadd(keys.events(delivery.job_id), {"event": JobEvent(EventKind.STARTED.value, at=time.time()).to_json()})
        pipe.execute()
        return state.request

    def progress(self, job_id: str, fraction: float) -> bool:
        """Record progress; returns False when the job was cancelled meanwhile."""
        self.redis.xadd(
            keys.events(job_id), {"event": JobEvent(EventKind.PROGRESS.value, fraction, at=time.time()).to_json()}
        )
        return self.redis.hget(keys.job(job_id), "status") != JobStatus.CANCELLED.value

    def finish(self, delivery: Delivery, result: ExplanationResult) -> None:
        """Store the result once (idempotent), emit DONE, then XACK."""
        job = keys.job(delivery.job_id)
        if self.redis.hsetnx(job, "result", result.to_json()):
            self._set_final(delivery.job_id, JobStatus.DONE, EventKind.DONE)
        self.ack(delivery)

    def fail(self, delivery: Delivery, error: str) -> bool:
        """Record a failed attempt; dead-letter and mark FAILED at the last delivery. True if final."""
        self.redis.hset(keys.job(delivery.job_id), "error", error)
        if delivery.deliveries < self.settings.max_deliveries:
            return False  # stays pending: retried after the visibility timeout
        self.redis.xadd(keys.DEAD_LETTER_STREAM, {"job_id": delivery.job_id, "error": error[:2000]})
        self._set_final(delivery.job_id, JobStatus.FAILED, EventKind.FAILED, reason=error)
        self.ack(delivery)
        return True

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge and drop the stream entry."""
        pipe = self.redis.pipeline()
        pipe.xack(keys.JOBS_STREAM, keys.WORKERS_GROUP, delivery.entry_id)
        pipe.xdel(keys.JOBS_STREAM, delivery.entry_id)
        pipe.execute()

    def touch(self, consumer: str, delivery: Delivery) -> None:
        """Reset a running job's idle time (XCLAIM JUSTID to its own consumer; no delivery counted)."""
        self.redis.xclaim(
            keys.JOBS_STREAM,
            keys.WORKERS_GROUP,
            consumer,
            min_idle_time=0,
            message_ids=[delivery.entry_id],
            justid=True,
        )

    def heartbeat(self, worker: str, ttl_s: int = 30) -> None:
        """Announce a live worker."""
        self.redis.set(keys.heartbeat(worker), str(time.time()), ex=ttl_s)

    # -- operations ----------------------------------------------------------

    def depth(self) -> dict[str, int]:
        """Jobs ``waiting`` (not yet delivered), ``running`` (delivered, not acked) and ``dead``."""
        pipe = self.redis.pipeline()
        pipe.xlen(keys.JOBS_STREAM)
        pipe.xpending(keys.JOBS_STREAM, keys.WORKERS_GROUP)
        pipe.xlen(keys.DEAD_LETTER_STREAM)
        try:
            total, pending, dead = pipe.execute()
        except redis.ResponseError:  # no group yet: nothing submitted, no worker started
            return {"waiting": int(self.redis.xlen(keys.JOBS_STREAM)), "running": 0, "dead": 0}
        running = int(pending["pending"])
        # Acked entries are deleted, so the stream holds exactly the waiting and running jobs.
        return {"waiting": int(total) - running, "running": running, "dead": int(dead)}

    def live_workers(self) -> int:
        """Workers whose heartbeat key has not expired."""
        return sum(1 for _ in self.redis.scan_iter(match=keys.HEARTBEAT_PATTERN, count=100))

    def _set_final(self, job_id: str, status: JobStatus, kind: EventKind, reason: str = "") -> None:
        pipe = self.redis.pipeline()
        pipe.hset(keys.job(job_id), mapping={"status": status.value, "finished_at": time.time()})
        pipe.xadd(
            keys.events(job_id),
            {"event": JobEvent(kind.value, 1.0 if kind is EventKind.DONE else 0.0, reason, time.time()).to_json()},
        )
        pipe.execute()
