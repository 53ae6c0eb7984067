"""Explanation jobs as the server sees them: validate, pin, queue, follow. No grpc here."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import redis
import redis.asyncio as aredis

from reelgraph.errors import (
    FieldViolation,
    InvalidOptionError,
    InvalidRequestError,
    JobNotFoundError,
    QueueUnavailableError,
    ReelgraphError,
    TooManyItemsError,
)
from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue, JobState
from reelgraph.jobs.records import ExplainMethod, ExplainRequest, ExplanationResult, JobEvent, JobStatus
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from server.registry import ModelRegistry

T = TypeVar("T")
MAX_BATCH = 1000  # pairs per ExplainBatch call
_WATCH_BLOCK_MS = 1000
# Explicit, not the client library's default: a Redis that stops answering (paused, a
# network partition) must end a call with UNAVAILABLE, never hang it to its deadline.
_REDIS_TIMEOUT_S = 5.0
MAX_GLOBAL_USERS = 1000  # users one global explanation may cover
MAX_HISTORY = 10_000  # ratings of a user given by their history


@dataclass(frozen=True)
class Options:
    """How to explain: the bundle (empty name/version: default/latest) and the run's settings.

    ``top_k`` caps every list of the result (1..100, default 10); ``offset`` (≥ 0,
    default 0) skips that many items of each list: the next page is ``offset + top_k``.
    ``kind`` ``RATING`` explains the rating model's predicted stars instead of the
    recommendation; ``history`` (movie ids, stars) explains a user given by their ratings.
    """

    model: str = ""
    version: str = ""
    method: ExplainMethod = ExplainMethod.RANKING
    n_steps: int = 50
    top_k: int = 10
    want_plots: bool = False
    offset: int = 0
    scope: GlobalScope | None = None
    kind: ModelKind = ModelKind.LINK
    history: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class GlobalScope:
    """A global explanation: these stored users, or a seeded sample of ``sample_users`` (1..1000);
    each user's top ``recommendations`` (1..50, default 10), only ``genre`` when set."""

    user_ids: tuple[int, ...] = ()
    sample_users: int = 0
    recommendations: int = 10
    genre: str = ""


@dataclass(frozen=True)
class BatchOutcome:
    """The end of one pair of a batch: ``kind`` is ``rejected`` (never queued, ``reason`` says
    why), or the job's final event kind (``done`` with its ``result``, ``failed``, ``cancelled``)."""

    index: int
    kind: str
    reason: str = ""
    job_id: str = ""
    result: ExplanationResult | None = None


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

    async def submit(self, user_id: int, movie_id: int, options: Options) -> tuple[str, bool, JobStatus]:
        """Validate against the served bundle, pin its version, queue (or dedup).

        Returns (job id, whether an identical job already existed, its status).
        """
        o = options
        scorer = await self.registry.get_async(o.model, o.version)
        _check(o.n_steps, o.top_k, o.offset)
        request = ExplainRequest(
            scorer.name, scorer.version, user_id, movie_id, o.method.value, o.n_steps, o.top_k, o.want_plots, o.offset
        )
        request = dataclasses.replace(request, kind=o.kind.value)
        if o.scope is not None:
            request = _global_request(scorer, request, o.scope)
        else:  # a history is checked by scoring it (a fold-in): off the event loop
            loop = asyncio.get_running_loop()
            request = await loop.run_in_executor(self.executor, _pair_request, scorer, request, o.history)

        def submit(q: JobQueue) -> tuple[str, bool, JobStatus]:
            q.ensure_group()
            job_id, new = q.submit(request)
            state = q.state(job_id)
            return job_id, not new, state.status if state else JobStatus.QUEUED

        return await self._call(submit)

    async def explain_batch(
        self, user_ids: Sequence[int], movie_ids: Sequence[int], options: Options
    ) -> AsyncGenerator[BatchOutcome, None]:
        """Submit every pair at once and yield each one's outcome as it ends (completion order).

        A pair that cannot be queued (unknown id, …) is ``rejected`` without failing
        the others; mismatched lengths raise ``InvalidRequestError``, more than
        ``MAX_BATCH`` pairs ``TooManyItemsError``. Closing the iterator early
        stops following the rest (their jobs stay queued).
        """
        if len(user_ids) != len(movie_ids):
            raise InvalidRequestError(
                [FieldViolation("movie_ids", f"has {len(movie_ids)} ids, user_ids {len(user_ids)}")]
            )
        if options.history is not None:
            raise InvalidOptionError("a history is explained one at a time (SubmitExplanation), not in a batch")
        if len(user_ids) > MAX_BATCH:
            raise TooManyItemsError(f"{len(user_ids)} pairs exceed the limit of {MAX_BATCH} per batch")
        tasks = [
            asyncio.ensure_future(self._outcome(i, u, m, options))
            for i, (u, m) in enumerate(zip(user_ids, movie_ids, strict=True))
        ]
        try:
            for done in asyncio.as_completed(tasks):
                yield await done
        finally:
            for t in tasks:
                t.cancel()

    async def _outcome(self, index: int, user_id: int, movie_id: int, options: Options) -> BatchOutcome:
        """Submit one pair of a batch and wait for its final event."""
        try:
            job_id, _, _ = await self.submit(user_id, movie_id, options)
        except (ReelgraphError, ValueError) as exc:
            return BatchOutcome(index, "rejected", str(exc))
        final = None
        async for _, event in self.watch(job_id, ""):
            final = event
        if final is None:
            return BatchOutcome(index, "failed", "no events", job_id)
        result = (await self.state(job_id)).result if final.kind == "done" else None
        return BatchOutcome(index, final.kind, final.reason, job_id, result)

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


def _pair_request(
    scorer: Scorer, request: ExplainRequest, history: tuple[np.ndarray, np.ndarray] | None
) -> ExplainRequest:
    """The request checked against the served bundle before anything is queued (unknown ids, a
    missing model, bad stars), with the history when one is given."""
    rating = request.kind == ModelKind.RATING.value
    if (rating or history is not None) and request.method != ExplainMethod.RANKING.value:
        raise InvalidOptionError(f"a rating or a history is explained by the default method, not {request.method}")
    movie = np.array([request.movie_id])
    if history is None:
        users = np.array([request.user_id])
        if rating:
            scorer.predict_rating(users, movie)
        else:
            scorer.users.index(users)
            scorer.movies.index(movie)
        return request
    movie_ids, stars = history
    if movie_ids.size > MAX_HISTORY:
        raise TooManyItemsError(f"a history of {movie_ids.size} ratings exceeds the limit of {MAX_HISTORY}")
    check = scorer.predict_rating_from_ratings if rating else scorer.ranking_score_from_ratings
    check(movie_ids, stars, movie)  # UnknownIdsError, InvalidRequestError, ModelUnavailableError
    return dataclasses.replace(
        request,
        user_id=0,
        has_history=True,
        history_movie_ids=[int(m) for m in movie_ids],
        history_stars=[float(s) for s in stars],
    )


def _global_request(scorer: Scorer, request: ExplainRequest, scope: GlobalScope) -> ExplainRequest:
    """The request as a global explanation, its scope checked against the served bundle."""
    if request.method != ExplainMethod.RANKING.value:
        raise InvalidOptionError(f"a global explanation uses the Ranking method, not {request.method}")
    if request.kind != ModelKind.LINK.value:
        raise InvalidOptionError("a global explanation explains recommendations, not rating predictions")
    if not scope.user_ids and not 1 <= scope.sample_users <= MAX_GLOBAL_USERS:
        raise InvalidOptionError(f"invalid sample_users {scope.sample_users}; expected 1..{MAX_GLOBAL_USERS}")
    if len(scope.user_ids) > MAX_GLOBAL_USERS:
        raise InvalidOptionError(f"{len(scope.user_ids)} user_ids; at most {MAX_GLOBAL_USERS}")
    if not 1 <= scope.recommendations <= 50:
        raise InvalidOptionError(f"invalid recommendations {scope.recommendations}; expected 1..50")
    if scope.user_ids:
        scorer.users.index(np.asarray(scope.user_ids, dtype=np.int64))  # UnknownIdsError names them
    if scope.genre:
        scorer.genre_mask([scope.genre])  # InvalidOptionError lists the known genres
    return dataclasses.replace(
        request,
        user_id=0,
        movie_id=0,
        global_users=list(scope.user_ids),
        global_sample=0 if scope.user_ids else scope.sample_users,
        global_recommendations=scope.recommendations,
        global_genre=scope.genre,
    )


def _check(n_steps: int, top_k: int, offset: int) -> None:
    if not 1 <= n_steps <= 1000:
        raise InvalidOptionError(f"invalid n_steps {n_steps}; expected 1..1000")
    if not 1 <= top_k <= 100:
        raise InvalidOptionError(f"invalid top_k {top_k}; expected 1..100")
    if not 0 <= offset <= 100_000:
        raise InvalidOptionError(f"invalid offset {offset}; expected 0..100000")
