"""ExplanationService: translates proto ↔ ``server.explanations``; no logic of its own."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

from reelgraph.api.v1 import explanation_pb2 as pb
from reelgraph.api.v1 import explanation_pb2_grpc
from reelgraph.errors import ReelgraphError, TooManyItemsError
from reelgraph.jobs.records import ExplainMethod, ExplanationResult, JobStatus
from reelgraph.tensors import FieldViolation, InvalidRequestError
from server.explanations import ExplanationJobs

Context = Any  # grpc.aio.ServicerContext; grpcio ships no type information
_METHODS = {
    pb.EXPLAIN_METHOD_UNSPECIFIED: ExplainMethod.INTEGRATED_GRADIENTS.value,
    pb.EXPLAIN_METHOD_INTEGRATED_GRADIENTS: ExplainMethod.INTEGRATED_GRADIENTS.value,
    pb.EXPLAIN_METHOD_SALIENCY: ExplainMethod.SALIENCY.value,
    pb.EXPLAIN_METHOD_INPUT_X_GRADIENT: ExplainMethod.INPUT_X_GRADIENT.value,
    pb.EXPLAIN_METHOD_GUIDED_BACKPROP: ExplainMethod.GUIDED_BACKPROP.value,
    pb.EXPLAIN_METHOD_DECONVOLUTION: ExplainMethod.DECONVOLUTION.value,
}
_STATUS = {
    JobStatus.QUEUED: pb.JOB_STATUS_QUEUED,
    JobStatus.STARTED: pb.JOB_STATUS_STARTED,
    JobStatus.DONE: pb.JOB_STATUS_DONE,
    JobStatus.FAILED: pb.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: pb.JOB_STATUS_CANCELLED,
}


class ExplanationServicer(explanation_pb2_grpc.ExplanationServiceServicer):  # type: ignore[misc]
    """gRPC face of ``ExplanationJobs``; domain exceptions are mapped by ``server.registration``."""

    def __init__(self, jobs: ExplanationJobs) -> None:
        self.jobs = jobs

    async def SubmitExplanation(
        self, request: pb.SubmitExplanationRequest, context: Context
    ) -> pb.SubmitExplanationResponse:
        job_id, dedup, status = await self.jobs.submit(
            request.model.name,
            request.model.version,
            request.user_id,
            request.movie_id,
            _METHODS.get(request.method, f"<{request.method}>"),
            request.n_steps or 50,
            request.top_k or 10,
            request.want_plots,
        )
        return pb.SubmitExplanationResponse(job_id=job_id, deduplicated=dedup, status=_STATUS[status])

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
        response = pb.GetExplanationResponse(status=_STATUS[state.status], attempts=state.attempts, error=state.error)
        if state.result is not None:
            response.result.CopyFrom(to_proto(state.result))
        return response

    async def ExplainBatch(
        self, request: pb.ExplainBatchRequest, context: Context
    ) -> AsyncIterator[pb.ExplainBatchResponse]:
        users, movies = list(request.user_ids), list(request.movie_ids)
        if len(users) != len(movies):
            raise InvalidRequestError([FieldViolation("movie_ids", f"has {len(movies)} ids, user_ids {len(users)}")])
        if len(users) > MAX_BATCH:
            raise TooManyItemsError(f"{len(users)} pairs exceed the limit of {MAX_BATCH} per batch")
        o = request.options
        method = _METHODS.get(o.method, f"<{o.method}>")
        tasks = [
            asyncio.ensure_future(
                _outcome(
                    self.jobs,
                    i,
                    self.jobs.submit(
                        o.model.name, o.model.version, u, m, method, o.n_steps or 50, o.top_k or 10, o.want_plots
                    ),
                )
            )
            for i, (u, m) in enumerate(zip(users, movies, strict=True))
        ]
        try:
            for done in asyncio.as_completed(tasks):
                yield await done
        finally:
            for t in tasks:
                t.cancel()

    async def CancelExplanation(
        self, request: pb.CancelExplanationRequest, context: Context
    ) -> pb.CancelExplanationResponse:
        return pb.CancelExplanationResponse(cancelled=await self.jobs.cancel(request.job_id))


MAX_BATCH = 1000


async def _outcome(jobs: ExplanationJobs, index: int, submit: Any) -> pb.ExplainBatchResponse:
    """Submit one pair of a batch and wait for its final event."""
    try:
        job_id, _, _ = await submit
    except (ReelgraphError, ValueError) as exc:
        return pb.ExplainBatchResponse(index=index, kind="rejected", reason=str(exc))
    final = None
    async for _, event in jobs.watch(job_id, ""):
        final = event
    response = pb.ExplainBatchResponse(
        index=index,
        job_id=job_id,
        kind=final.kind if final else "failed",
        reason=final.reason if final else "no events",
    )
    if final is not None and final.kind == "done":
        state = await jobs.state(job_id)
        if state.result is not None:
            response.result.CopyFrom(to_proto(state.result))
    return response


def to_proto(r: ExplanationResult) -> pb.Explanation:
    """The wire form of a stored result."""

    def influences(items: list[dict[str, Any]]) -> list[pb.Influence]:
        return [
            pb.Influence(**{k: v for k, v in i.items() if k in ("user_id", "movie_id", "title", "score")})
            for i in items
        ]

    return pb.Explanation(
        probability=r.probability,
        logit=r.logit,
        attribution_total=r.attribution_total,
        top_users=influences(r.top_users),
        top_movies=influences(r.top_movies),
        top_ratings=influences(r.top_ratings),
        features=r.features,
        subgraph=[pb.Influence(user_id=int(u), movie_id=int(m), score=s) for u, m, s in r.subgraph_edges],
        fidelity_plus=r.fidelity_plus,
        fidelity_minus=r.fidelity_minus,
        random_fidelity_plus=r.random_fidelity_plus,
        random_fidelity_minus=r.random_fidelity_minus,
        seconds=r.seconds,
        pngs={name: base64.b64decode(data) for name, data in r.pngs.items()},
    )
