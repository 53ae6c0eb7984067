"""Explanation jobs as the server sees them: validate, pin, queue, follow. No grpc here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import numpy as np
import redis
import redis.asyncio as aredis

from reelgraph.errors import InvalidOptionError, JobNotFoundError, QueueUnavailableError
from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue, JobState
from reelgraph.jobs.records import ExplainMethod, ExplainRequest, JobEvent, JobStatus
from server.registry import ModelRegistry

T = TypeVar("T")
METHODS = tuple(m.value for m in ExplainMethod)
_WATCH_BLOCK_MS = 1000
# Explicit, not the client library's default: a Redis that stops answering (paused, a
# network partition) must end a call with UNAVAILABLE, never hang it to its deadline.
_REDIS_TIMEOUT_S = 5.0


class ExplanationJobs:
    """Submit/get/cancel through ``JobQueue`` (in ``executor``); watch with async XREAD."""

    def __init__(self, registry: ModelRegistry, redis_url: str | None, executor: Executor) -> None:
        self.registry = registry
        self.executor = executor
        self.redis_url = redis_url
        self._queue: JobQueue | None = None
        self._async: aredis.Redis | None = None
        if redis_url:
            timeouts = {"socket_timeout": _REDIS_TIMEOUT_S, "socket_connect_timeout": _REDIS_TIMEOUT_S}
            self._queue = JobQueue(redis.Redis.from_url(redis_url, decode_responses=True, **timeouts))  # type: ignore[arg-type]
            self._async = aredis.Redis.from_url(redis_url, decode_responses=True, **timeouts)  # type: ignore[arg-type]

    async def _call(self, fn: Callable[[JobQueue], T]) -> T:
        queue = self._queue
        if queue is None:
            raise QueueUnavailableError("explanations need a Redis queue: set REELGRAPH_REDIS_URL")
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, queue)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise QueueUnavailableError(f"the job queue at {self.redis_url} is unreachable: {exc}") from exc

    async def submit(
        self,
        model: str,
        version: str,
        user_id: int,
        movie_id: int,
        method: str,
        n_steps: int,
        top_k: int,
        want_plots: bool,
    ) -> tuple[str, bool, JobStatus]:
        """Validate against the served bundle, pin its version, queue (or dedup)."""
        scorer = self.registry.get(model, version)
        scorer.users.index(np.array([user_id]))  # UnknownIdsError before anything is queued
        scorer.movies.index(np.array([movie_id]))
        _check(method, n_steps, top_k)
        request = ExplainRequest(scorer.name, scorer.version, user_id, movie_id, method, n_steps, top_k, want_plots)

        def submit(q: JobQueue) -> tuple[str, bool, JobStatus]:
            q.ensure_group()
            job_id, new = q.submit(request)
            state = q.state(job_id)
            return job_id, not new, state.status if state else JobStatus.QUEUED

        return await self._call(submit)

    async def state(self, job_id: str) -> JobState:
        """The stored job; ``JobNotFoundError`` when unknown."""
        state = await self._call(lambda q: q.state(job_id))
        if state is None:
            raise JobNotFoundError(f"no job {job_id!r} (unknown or expired)")
        return state

    async def cancel(self, job_id: str) -> bool:
        """Cancel unless final."""
        await self.state(job_id)
        return await self._call(lambda q: q.cancel(job_id))

    async def watch(self, job_id: str, after: str) -> AsyncIterator[tuple[str, JobEvent]]:
        """Events after ``after`` until a final one, blocking on Redis between them.

        With Redis gone or silent it ends with ``QueueUnavailableError`` (UNAVAILABLE) within
        seconds; the caller resumes later from the last event id it saw.
        """
        await self.state(job_id)
        assert self._async is not None
        cursor = after or "0"
        while True:
            try:
                reply: Any = await self._async.xread({keys.events(job_id): cursor}, block=_WATCH_BLOCK_MS)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise QueueUnavailableError(
                    f"the job queue at {self.redis_url} is unreachable: {exc}; "
                    f"watch again with after_event={cursor!r} to resume"
                ) from exc
            for _, entries in reply or []:
                for event_id, fields in entries:
                    cursor = event_id
                    event = JobEvent.from_json(fields["event"])
                    yield event_id, event
                    if event.kind in ("done", "failed", "cancelled"):
                        return

    async def close(self) -> None:
        """Close Redis connections."""
        if self._async is not None:
            await self._async.aclose()
        if self._queue is not None:
            self._queue.redis.close()


def _check(method: str, n_steps: int, top_k: int) -> None:
    if method not in METHODS:
        raise InvalidOptionError(f"invalid method {method!r}; expected one of: {', '.join(METHODS)}")
    if not 1 <= n_steps <= 1000:
        raise InvalidOptionError(f"invalid n_steps {n_steps}; expected 1..1000")
    if not 1 <= top_k <= 100:
        raise InvalidOptionError(f"invalid top_k {top_k}; expected 1..100")
