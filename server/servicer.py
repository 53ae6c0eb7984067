"""ScoringService: translates proto ↔ domain; scoring itself lives in ``server.batch``."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any, TypeVar

import numpy as np

from reelgraph.errors import FieldViolation, InvalidRequestError
from reelgraph.options import ModelKind
from reelgraph.protocol import score_kind
from reelgraph.scoring import Scorer
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc
from reelgraph_client.recommendations import UserRecommendations
from reelgraph_client.tensors import FLOAT32, ID_TYPES, decode, wire_tensor
from server.batch import (
    RECOMMEND_CHUNK,
    BatchScores,
    History,
    check_recommend,
    recommend_user_history,
    recommend_users,
    score_batch,
    score_history,
)
from server.content import audience_responses, score_content
from server.metrics import ServerMetrics
from server.registry import ModelRegistry

T = TypeVar("T")
Context = Any  # grpc.aio.ServicerContext; grpcio ships no type information
_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_STARS = np.zeros(0, dtype=np.float32)
INLINE_PAIRS = 4096  # batches up to this size are scored on the event loop


class PairServicer:
    """What both scoring faces (ScoringService and the Open Inference Protocol) hold and do.

    Args:
        registry: the loaded bundles.
        executor: where CPU work runs, off the event loop (batches above ``INLINE_PAIRS`` pairs).
        max_pairs: pairs per request above which a call is RESOURCE_EXHAUSTED.
        metrics: pair counters (None: not counted).
    """

    def __init__(
        self, registry: ModelRegistry, executor: Executor, max_pairs: int, metrics: ServerMetrics | None = None
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.max_pairs = max_pairs
        self.metrics = metrics

    async def _off_loop(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def _pairs(self, job: Callable[[], BatchScores], pairs: int) -> BatchScores:
        """``job`` (scoring ``pairs`` pairs) inline when small, a thread hop costing more, else off the loop."""
        return job() if pairs <= INLINE_PAIRS else await self._off_loop(job)

    def _count(self, result: BatchScores) -> None:
        """Count the scored pairs per kind and the unknown ones (no-op without metrics)."""
        if self.metrics is None:
            return
        scored = result.status.size - result.invalid_count
        for kind, column in ((ModelKind.LINK, result.link_probability), (ModelKind.RATING, result.rating)):
            if column is not None:
                self.metrics.count_pairs(kind.value, scored)
        if result.invalid_count:
            self.metrics.unknown.inc(result.invalid_count)


class ScoringServicer(PairServicer, scoring_pb2_grpc.ScoringServiceServicer):  # type: ignore[misc]
    """gRPC face of the registry; CPU work runs in ``executor``, off the event loop.

    Methods raise domain exceptions; ``server.method_handlers`` maps them to statuses.
    """

    async def ScorePairs(self, request: pb.ScorePairsRequest, context: Context) -> pb.ScorePairsResponse:
        return await self._score(request)

    async def _score(self, request: pb.ScorePairsRequest) -> pb.ScorePairsResponse:
        scorer = await self.registry.get_async(request.model.name, request.model.version)
        if request.HasField("movie"):  # a movie given as content
            return _response(await self._off_loop(functools.partial(score_content, scorer, request, self.max_pairs)))
        if request.HasField("history"):
            return await self._score_history(scorer, request)
        users = decode(request.user_ids, "user_ids", expect=ID_TYPES)
        movies = decode(request.movie_ids, "movie_ids", expect=ID_TYPES)
        kinds = [score_kind(k) for k in request.kinds]

        def job() -> BatchScores:
            return score_batch(scorer, users, movies, kinds, self.max_pairs)

        result = await self._pairs(job, users.size)
        self._count(result)
        return _response(result)

    async def _score_history(self, scorer: Scorer, request: pb.ScorePairsRequest) -> pb.ScorePairsResponse:
        """One user given by ratings against ``movie_ids``; the encoder pass runs off the loop."""
        if request.HasField("user_ids") and decode(request.user_ids, "user_ids", expect=ID_TYPES).size:
            raise _both_users()
        history = _history(request.history)
        movies = decode(request.movie_ids, "movie_ids", expect=ID_TYPES)
        kinds = [score_kind(k) for k in request.kinds]
        result = await self._off_loop(functools.partial(score_history, scorer, history, movies, kinds, self.max_pairs))
        self._count(result)
        return _response(result)

    async def StreamScorePairs(
        self,
        request_iterator: AsyncIterator[pb.StreamScorePairsRequest],
        context: Context,
    ) -> AsyncIterator[pb.StreamScorePairsResponse]:
        index = 0
        async for chunk in request_iterator:
            # One chunk at a time: the next is read only after this answer is
            # queued, so HTTP/2 flow control pushes back on fast senders.
            yield pb.StreamScorePairsResponse(chunk_index=index, result=await self._score(chunk.batch))
            index += 1

    async def Recommend(self, request: pb.RecommendRequest, context: Context) -> AsyncIterator[pb.RecommendResponse]:
        scorer = await self.registry.get_async(request.model.name, request.model.version)
        k, genres = request.k or 10, list(request.genres)
        check_recommend(scorer, k, genres)  # before streaming anything
        if request.HasField("history"):
            yield await self._recommend_history(scorer, request, k, genres)
            return
        users = np.asarray(request.user_ids, dtype=np.int64)
        for start in range(0, users.size, RECOMMEND_CHUNK):
            chunk = users[start : start + RECOMMEND_CHUNK]
            job = functools.partial(recommend_users, scorer, chunk, k, request.include_rated, genres)
            for user in await self._off_loop(job):
                yield _user_list(user)

    async def _recommend_history(
        self, scorer: Scorer, request: pb.RecommendRequest, k: int, genres: list[str]
    ) -> pb.RecommendResponse:
        if request.user_ids:
            raise _both_users()
        if request.include_rated:
            raise InvalidRequestError(
                [FieldViolation("include_rated", "must be false with a history: given movies are never recommended")]
            )
        history = _history(request.history)

        job = functools.partial(recommend_user_history, scorer, history, k, genres or None, self.max_pairs)
        return _user_list(await self._off_loop(job))

    async def Audience(self, request: pb.AudienceRequest, context: Context) -> AsyncIterator[pb.AudienceResponse]:
        scorer = await self.registry.get_async(request.model.name, request.model.version)
        for response in await self._off_loop(functools.partial(audience_responses, scorer, request)):
            yield response

    async def ListModels(self, request: pb.ListModelsRequest, context: Context) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[_info(s) for s in self.registry.all_latest()])

    async def GetModel(self, request: pb.GetModelRequest, context: Context) -> pb.GetModelResponse:
        scorer = await self.registry.get_async(request.model.name, request.model.version)
        return pb.GetModelResponse(model=_info(scorer))


def _history(h: pb.RatingHistory) -> History:
    """The decoded history; an unset tensor is an empty column (timestamps: absent)."""
    return History(
        decode(h.movie_ids, "history.movie_ids", expect=ID_TYPES) if h.HasField("movie_ids") else _NO_IDS,
        decode(h.stars, "history.stars", expect=FLOAT32) if h.HasField("stars") else _NO_STARS,
        decode(h.timestamps, "history.timestamps", expect=ID_TYPES) if h.HasField("timestamps") else None,
    )


def _both_users() -> InvalidRequestError:
    why = "give either user_ids or history, not both"
    return InvalidRequestError([FieldViolation("user_ids", why), FieldViolation("history", why)])


def _response(result: BatchScores) -> pb.ScorePairsResponse:
    columns = {
        field: wire_tensor(values)
        for field, values in (("link_probability", result.link_probability), ("rating", result.rating))
        if values is not None
    }
    return pb.ScorePairsResponse(
        model=pb.ModelRef(name=result.name, version=result.version),
        status=wire_tensor(result.status),
        invalid_count=result.invalid_count,
        **columns,
    )


def _user_list(user: UserRecommendations) -> pb.RecommendResponse:
    movies = [
        pb.RecommendedMovie(movie_id=m, title=t, score=s)
        for m, t, s in zip(user.movie_ids, user.titles, user.scores, strict=True)
    ]
    return pb.RecommendResponse(user_id=user.user_id, movies=movies, error=user.error)


def _info(scorer: Scorer) -> pb.ModelInfo:
    m = scorer.bundle.manifest
    metrics = {f"{kind}/{name}": float(v) for kind, entry in m.models.items() for name, v in entry.metrics.items()}
    return pb.ModelInfo(
        ref=pb.ModelRef(name=m.name, version=m.version),
        created_at=m.created_at,
        kinds=sorted(m.models),
        metrics=metrics,
        num_users=int(m.data.get("num_users", 0)),
        num_movies=int(m.data.get("num_movies", 0)),
        num_ratings=int(m.data.get("num_ratings", 0)),
        genre_names=list(m.data.get("genre_names", [])),
        manifest_json=json.dumps(asdict(m), sort_keys=True),
    )
