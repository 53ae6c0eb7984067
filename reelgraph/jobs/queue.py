"""Explanation jobs on Redis Streams: at-least-once, idempotent results, dead letters.

Submit puts the job's hash and a QUEUED event in place, then XADDs its id to
the jobs stream. Workers XREADGROUP it, and XACK only after the result is
stored (or the job is dead-lettered), so a worker that dies mid-job leaves the
entry pending for another worker to XAUTOCLAIM after the visibility timeout.

Every change of a job's status is one Lua script, so no crash can leave half
of one behind: starting (only a job still queued or started), and settling
(result stored once, status, final event, dead letter, XACK and XDEL
together). A delivery of a job whose result is already stored settles it
without running it again, and a job delivered more than ``max_deliveries``
times (its workers keep dying) is dead-lettered when it is claimed.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from reelgraph.jobs import failures, keys
from reelgraph.jobs.records import EventKind, ExplainRequest, ExplanationResult, JobEvent, JobStatus, RecordError

# KEYS: job hash, its events. ARGV: worker, STARTED event.
# Marks a queued or started job started; returns the status it had (false: no such job).
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' or status == 'started' then
  redis.call('HSET', KEYS[1], 'status', 'started', 'worker', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
end
return status
"""
# KEYS: job hash, its events, jobs stream, dead-letter stream.
# ARGV: group, entry id ('' = none to ack), final status, its event, now, result ('' = the
# stored one), error, job id.
# Ends a job unless it already ended: DONE only with a result (stored once), FAILED with
# its error and a dead letter, CANCELLED; then acks and deletes the entry in any case.
# Returns 1 when it ended the job.
_SETTLE = """
local status = redis.call('HGET', KEYS[1], 'status')
local settled = 0
if status == 'queued' or status == 'started' then
  if ARGV[3] == 'done' then
    if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[1], 'result', ARGV[6]) end
    settled = redis.call('HEXISTS', KEYS[1], 'result')
  else
    settled = 1
    if ARGV[3] == 'failed' then
      redis.call('HSET', KEYS[1], 'error', ARGV[7])
      redis.call('XADD', KEYS[4], '*', 'job_id', ARGV[8], 'error', string.sub(ARGV[7], 1, 2000))
    end
  end
  if settled == 1 then
    redis.call('HSET', KEYS[1], 'status', ARGV[3], 'finished_at', ARGV[5])
    redis.call('XADD', KEYS[2], '*', 'event', ARGV[4])
  end
end
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[3], ARGV[2])
end
return settled
"""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSettings:
    """Queue behaviour.

    Attributes:
        job_ttl_s: how long job hashes, events and dedup keys live (default 86,400 s).
        max_deliveries: deliveries a job gets (default 3): its last failure, or a
            claim beyond it (its workers kept dying), dead-letters it.
        visibility_timeout_s: idle time after which another worker may take a
            pending job over (default 300 s; a job must finish or heartbeat sooner).
        block_ms: how long a worker blocks waiting for jobs (default 1,000 ms).
        retry_backoff_s: a transient failure makes the job claimable again after
            this long, doubling with each delivery (default 1 s)...
        retry_backoff_cap_s: ...up to this (default 60 s; never past the visibility timeout).
    """

    job_ttl_s: int = 86_400
    max_deliveries: int = 3
    visibility_timeout_s: float = 300.0
    block_ms: int = 1_000
    retry_backoff_s: float = 1.0
    retry_backoff_cap_s: float = 60.0

    def retry_after_s(self, deliveries: int) -> float:
        """Seconds before a job that failed transiently at delivery ``deliveries`` is claimable again."""
        backoff = self.retry_backoff_s * 2.0 ** max(0, deliveries - 1)
        return min(backoff, self.retry_backoff_cap_s, self.visibility_timeout_s)


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
        self._start = client.register_script(_START)
        self._settle = client.register_script(_SETTLE)

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
        return self._end(job_id, "", JobStatus.CANCELLED, EventKind.CANCELLED, reason="cancelled by client")

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
            delivery = Delivery(entry_id, fields["job_id"], times)
            if times <= self.settings.max_deliveries:
                out.append(delivery)
            else:
                self._give_up(delivery)
        return out

    def _give_up(self, delivery: Delivery) -> None:
        """Dead-letter a job delivered more than ``max_deliveries`` times (finish it if its result is stored)."""
        if self.redis.hexists(keys.job(delivery.job_id), "result"):
            self._end(delivery.job_id, delivery.entry_id, JobStatus.DONE, EventKind.DONE)
            return
        last: Any = self.redis.hget(keys.job(delivery.job_id), "error")
        reason = (
            f"gave up after {delivery.deliveries - 1} deliveries (max_deliveries "
            f"{self.settings.max_deliveries}): " + (last or "no delivery finished; its workers died or lost Redis")
        )
        if self._end(delivery.job_id, delivery.entry_id, JobStatus.FAILED, EventKind.FAILED, reason=reason):
            log.warning("job %s dead-lettered: %s", delivery.job_id, reason)

    def start(self, delivery: Delivery, worker: str) -> ExplainRequest | None:
        """Mark started and return the request; None (and the entry acked) when the job is gone,
        final or cancelled, when its result is already stored (then it is marked DONE), or when
        its request does not parse (then it is FAILED)."""
        state = self._state_or_failure(delivery)
        if state is None:
            return None
        if state.result is not None:  # a worker stored it and died before marking DONE
            self._end(delivery.job_id, delivery.entry_id, JobStatus.DONE, EventKind.DONE)
            return None
        event = JobEvent(EventKind.STARTED.value, at=time.time()).to_json()
        before = self._start(keys=[keys.job(delivery.job_id), keys.events(delivery.job_id)], args=[worker, event])
        if before not in (JobStatus.QUEUED.value, JobStatus.STARTED.value):  # ended or gone meanwhile
            self.ack(delivery)
            return None
        return state.request

    def _state_or_failure(self, delivery: Delivery) -> JobState | None:
        """The delivered job's state; None (entry acked) when gone or final, or (FAILED) unparseable."""
        try:
            state = self.state(delivery.job_id)
        except (RecordError, ValueError, KeyError) as exc:
            reason = failures.describe(exc)
            self._end(delivery.job_id, delivery.entry_id, JobStatus.FAILED, EventKind.FAILED, reason=reason)
            return None
        if state is None or state.status.final:
            self.ack(delivery)
            return None
        return state

    def progress(self, job_id: str, fraction: float) -> bool:
        """Record progress; returns False when the job was cancelled meanwhile."""
        self.redis.xadd(
            keys.events(job_id), {"event": JobEvent(EventKind.PROGRESS.value, fraction, at=time.time()).to_json()}
        )
        return self.redis.hget(keys.job(job_id), "status") != JobStatus.CANCELLED.value

    def finish(self, delivery: Delivery, result: ExplanationResult) -> None:
        """In one step: store the result (the first stored one stays), mark DONE with its event, XACK.

        Idempotent: a repeated or late call changes nothing but the ack.
        """
        self._end(delivery.job_id, delivery.entry_id, JobStatus.DONE, EventKind.DONE, result=result.to_json())

    def fail(self, delivery: Delivery, error: str, *, permanent: bool = False) -> bool:
        """Record a failed delivery; True when it ended the job.

        A permanent failure, or one at the last delivery, dead-letters the job and marks it
        FAILED with ``error``. Otherwise the entry stays pending and becomes claimable again
        (by any worker) after ``retry_after_s``, not after the whole visibility timeout.
        """
        if permanent or delivery.deliveries >= self.settings.max_deliveries:
            self._end(delivery.job_id, delivery.entry_id, JobStatus.FAILED, EventKind.FAILED, reason=error)
            return True
        self.redis.hset(keys.job(delivery.job_id), "error", error)
        wait_s = self.settings.retry_after_s(delivery.deliveries)
        idle_ms = max(0, int((self.settings.visibility_timeout_s - wait_s) * 1000))
        self.redis.xclaim(  # same owner, no delivery counted: only its idle time moves on
            keys.JOBS_STREAM,
            keys.WORKERS_GROUP,
            self._owner(delivery),
            min_idle_time=0,
            message_ids=[delivery.entry_id],
            idle=idle_ms,
            justid=True,
        )
        return False

    def _owner(self, delivery: Delivery) -> str:
        info: Any = self.redis.xpending_range(
            keys.JOBS_STREAM, keys.WORKERS_GROUP, delivery.entry_id, delivery.entry_id, 1
        )
        return str(info[0]["consumer"]) if info else "retry"

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

    def _end(
        self, job_id: str, entry_id: str, status: JobStatus, kind: EventKind, *, reason: str = "", result: str = ""
    ) -> bool:
        """Run the settle script: end the job unless it already ended, ack ``entry_id`` if given."""
        now = time.time()
        event = JobEvent(kind.value, 1.0 if kind is EventKind.DONE else 0.0, reason, now).to_json()
        settled = self._settle(
            keys=[keys.job(job_id), keys.events(job_id), keys.JOBS_STREAM, keys.DEAD_LETTER_STREAM],
            args=[keys.WORKERS_GROUP, entry_id, status.value, event, now, result, reason, job_id],
        )
        return bool(settled)
