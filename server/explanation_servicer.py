"""ExplanationService: translates proto ↔ ``server.explanations``; no logic of its own."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import asdict
from typing import Any

import numpy as np

from reelgraph.jobs.records import Driver, ExplanationResult, GlobalSummary, RatedMovie, RatingExplanation
from reelgraph.options import ModelKind
from reelgraph.protocol import JOB_STATUSES, SCORE_KINDS, explain_method, score_kind
from reelgraph_client.api.v1 import explanation_pb2 as pb
from reelgraph_client.api.v1 import explanation_pb2_grpc
from reelgraph_client.tensors import FLOAT32, ID_TYPES, decode
from server.explanations import BatchOutcome, ExplanationJobs, GlobalScope, Options

Context = Any  # grpc.aio.ServicerContext; grpcio ships no type information


class ExplanationServicer(explanation_pb2_grpc.ExplanationServiceServicer):  # type: ignore[misc]
    """gRPC face of ``ExplanationJobs``; domain exceptions are mapped by ``server.method_handlers``."""

    def __init__(self, jobs: ExplanationJobs) -> None:
        self.jobs = jobs

    async def SubmitExplanation(
        self, request: pb.SubmitExplanationRequest, context: Context
    ) -> pb.SubmitExplanationResponse:
        job_id, dedup, status = await self.jobs.submit(request.user_id, request.movie_id, _options(request))
        return pb.SubmitExplanationResponse(job_id=job_id, deduplicated=dedup, status=JOB_STATUSES[status])

    async def WatchExplanation(
        self, request: pb.WatchExplanationRequest, context: Context
    ) -> AsyncIterator[pb.WatchExplanationResponse]:
        async for event_id, event in self.jobs.watch(request.job_id, request.after_event):
            response = pb.WatchExplanationResponse(
                event_id=event_id, kind=event.kind, fraction=event.fraction, reason=event.reason
            )
            if event.kind == "done":
                state = await self.jobs.state(request.job_id)
                if state.result is not None:
                    response.result.CopyFrom(to_proto(state.result))
            yield response

    async def GetExplanation(self, request: pb.GetExplanationRequest, context: Context) -> pb.GetExplanationResponse:
        state = await self.jobs.state(request.job_id)
        response = pb.GetExplanationResponse(
            status=JOB_STATUSES[state.status], attempts=state.attempts, error=state.error
        )
        if state.result is not None:
            response.result.CopyFrom(to_proto(state.result))
        return response

    async def ExplainBatch(
        self, request: pb.ExplainBatchRequest, context: Context
    ) -> AsyncIterator[pb.ExplainBatchResponse]:
        outcomes = self.jobs.explain_batch(list(request.user_ids), list(request.movie_ids), _options(request.options))
        async with aclosing(outcomes):  # a caller gone early stops the waits at once
            async for outcome in outcomes:
                yield _batch_response(outcome)

    async def CancelExplanation(
        self, request: pb.CancelExplanationRequest, context: Context
    ) -> pb.CancelExplanationResponse:
        return pb.CancelExplanationResponse(cancelled=await self.jobs.cancel(request.job_id))


def _options(request: pb.SubmitExplanationRequest) -> Options:
    """The request's options, proto defaults (0, unset) resolved."""
    return Options(
        request.model.name,
        request.model.version,
        explain_method(request.method),
        request.n_steps or 50,
        request.top_k or 10,
        request.want_plots,
        request.offset,
        _scope(request),
        score_kind(request.kind),
        _history(request),
    )


def _history(request: pb.SubmitExplanationRequest) -> tuple[np.ndarray, np.ndarray] | None:
    """The user given by their ratings, when the request sets one (unset tensors: empty)."""
    if not request.HasField("history"):
        return None
    h = request.history
    ids = decode(h.movie_ids, "history.movie_ids", expect=ID_TYPES) if h.HasField("movie_ids") else np.zeros(0)
    stars = decode(h.stars, "history.stars", expect=FLOAT32) if h.HasField("stars") else np.zeros(0)
    return np.asarray(ids, np.int64), np.asarray(stars, np.float32)


def _scope(request: pb.SubmitExplanationRequest) -> GlobalScope | None:
    """The global scope, when the request sets one (user ids or a sample size)."""
    g = request.global_scope
    if not g.user_ids and not g.sample_users:
        return None
    return GlobalScope(tuple(g.user_ids), g.sample_users, g.recommendations or 10, g.genre)


def _batch_response(o: BatchOutcome) -> pb.ExplainBatchResponse:
    response = pb.ExplainBatchResponse(index=o.index, job_id=o.job_id, kind=o.kind, reason=o.reason)
    if o.result is not None:
        response.result.CopyFrom(to_proto(o.result))
    return response


def to_proto(r: ExplanationResult) -> pb.Explanation:
    """The wire form of a stored result."""

    ratings = [pb.Influence(user_id=i.user_id, movie_id=i.movie_id, score=i.score) for i in r.top_ratings]
    f = r.logit_fidelity
    return pb.Explanation(
        **_captum_fields(r, ratings),
        method=r.method,
        title=r.title,
        because_you_rated=_rated(r.because_you_rated),
        because_you_rated_total=r.because_you_rated_total,
        chains=[pb.Chain(**asdict(c)) for c in r.chains],
        co_raters=[
            pb.CoRater(user_id=c.user_id, movie_ids=c.movie_ids, target_stars=c.target_stars, score=c.score)
            for c in r.co_raters
        ],
        co_raters_total=r.co_raters_total,
        content=r.content,
        genre_shares=r.genre_shares,
        popularity=r.popularity,
        bias=r.bias,
        rated_total=r.rated_total,
        sentence=r.sentence,
        logit_fidelity=pb.LogitFidelity(**asdict(f)),  # the record's fields are the message's
        offset=r.offset,
        global_summary=_summary(r.global_summary),
        kind=SCORE_KINDS[ModelKind(r.kind)],
        rating=_rating(r.rating),
        top_users_total=r.top_users_total,
        top_movies_total=r.top_movies_total,
        top_ratings_total=r.top_ratings_total,
    )


def _rated(movies: list[RatedMovie]) -> list[pb.RatedMovie]:
    return [pb.RatedMovie(movie_id=m.movie_id, title=m.title, stars=m.stars, score=m.score) for m in movies]


def _rating(r: RatingExplanation | None) -> pb.RatingExplanation | None:
    if r is None:
        return None
    return pb.RatingExplanation(
        stars=r.stars,
        raw_stars=r.raw_stars,
        lowered_by=_rated(r.lowered_by),
        lowered_by_total=r.lowered_by_total,
        fidelity=pb.StarFidelity(**asdict(r.fidelity)),
        co_raters=r.co_raters,
        co_raters_mean_stars=r.co_raters_mean_stars,
        shares_total=r.shares_total,
    )


def _summary(s: GlobalSummary | None) -> pb.GlobalSummary | None:
    if s is None:
        return None

    def drivers(ds: list[Driver]) -> list[pb.Driver]:
        return [pb.Driver(name=d.name, movie_id=d.movie_id, share=d.share, count=d.count) for d in ds]

    return pb.GlobalSummary(
        users=s.users,
        pairs=s.pairs,
        movies=drivers(s.movies),
        genres=drivers(s.genres),
        years=drivers(s.years),
        recommended_genres=drivers(s.recommended_genres),
        mean_rated=s.mean_rated,
        mean_popularity=s.mean_popularity,
        mean_bias=s.mean_bias,
        mean_deletion_drop=s.mean_deletion_drop,
        mean_random_drop=s.mean_random_drop,
        co_rater_groups=drivers(s.co_rater_groups),
    )


def _captum_fields(r: ExplanationResult, ratings: list[pb.Influence]) -> dict[str, Any]:
    """The fields every method fills (the Captum methods' influences stay empty for RANKING)."""
    return dict(
        probability=r.probability,
        logit=r.logit,
        attribution_total=r.attribution_total,
        top_users=[pb.Influence(user_id=i.user_id, score=i.score) for i in r.top_users],
        top_movies=[pb.Influence(movie_id=i.movie_id, title=i.title, score=i.score) for i in r.top_movies],
        top_ratings=ratings,
        features=r.features,
        subgraph=[pb.Influence(user_id=e.user_id, movie_id=e.movie_id, score=e.score) for e in r.subgraph_edges],
        fidelity_plus=r.fidelity_plus,
        fidelity_minus=r.fidelity_minus,
        random_fidelity_plus=r.random_fidelity_plus,
        random_fidelity_minus=r.random_fidelity_minus,
        seconds=r.seconds,
        pngs={name: base64.b64decode(data) for name, data in r.pngs.items()},
    )
