"""GRPCInferenceService (the Open Inference Protocol): translates proto ↔ domain only.

Model names, input checks and output encoding live in
``reelgraph.inference_protocol``; scoring is ``server.batch.score_batch``, the
same call ScorePairs makes. Registered behind the same call pipeline as
reelgraph.v1 (``server.method_handlers``): auth, limits, metrics, error mapping.
"""

# ruff: noqa: N802  (gRPC servicer methods are named by the .proto: PascalCase)

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from importlib import metadata

from reelgraph.errors import ReelgraphError
from reelgraph.inference_protocol import (
    PLATFORM,
    InferenceModel,
    InferInput,
    OutputTensor,
    TensorSpec,
    check_held,
    decode_pair_inputs,
    encode_outputs,
    models_of,
    named_as_inputs,
    parse_model_name,
    requested_outputs,
)
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from reelgraph_client.api.inference import open_inference_grpc_pb2 as pb
from reelgraph_client.api.inference import open_inference_grpc_pb2_grpc
from server.batch import BatchScores, score_batch
from server.errors import to_status
from server.servicer import Context, PairServicer

_Tensor = pb.ModelMetadataResponse.TensorMetadata
_Output = pb.ModelInferResponse.InferOutputTensor


class InferenceServicer(PairServicer, open_inference_grpc_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    """The Open Inference Protocol over the registry (arguments: ``PairServicer``'s).

    Methods raise domain exceptions; ``server.method_handlers`` maps them to statuses.
    """

    draining = False  # set by drain()

    @functools.cached_property
    def version(self) -> str:
        """The server's version, as ServerMetadata reports it."""
        return metadata.version("reelgraph")

    def drain(self) -> None:
        """From now on ServerReady and ModelReady answer false (the server is shutting down)."""
        self.draining = True

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Context) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Context) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.registry.ready and not self.draining)

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Context) -> pb.ModelReadyResponse:
        if self.draining:
            return pb.ModelReadyResponse(ready=False)
        try:
            await self._scorer(parse_model_name(request.name), request.version)
        except ReelgraphError:  # unknown model or version, nothing loaded yet: not ready
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Context) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(name=PLATFORM, version=self.version)

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Context) -> pb.ModelMetadataResponse:
        model = parse_model_name(request.name)
        scorer = await self._scorer(model, request.version)
        return pb.ModelMetadataResponse(
            name=model.name,
            versions=[scorer.version],
            platform=PLATFORM,
            inputs=[_metadata(s) for s in model.inputs],
            outputs=[_metadata(s) for s in model.outputs],
        )

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Context) -> pb.ModelInferResponse:
        return await self._infer(request)

    async def ModelStreamInfer(
        self, request_iterator: AsyncIterator[pb.ModelInferRequest], context: Context
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        # One request at a time, answered in order; a domain error answers that
        # request (Triton's convention) and the stream goes on.
        async for request in request_iterator:
            try:
                response = pb.ModelStreamInferResponse(infer_response=await self._infer(request))
            except ReelgraphError as exc:
                failed = pb.ModelInferResponse(model_name=request.model_name, id=request.id)
                response = pb.ModelStreamInferResponse(error_message=to_status(exc).message, infer_response=failed)
            yield response

    async def RepositoryIndex(self, request: pb.RepositoryIndexRequest, context: Context) -> pb.RepositoryIndexResponse:
        entries = [
            pb.RepositoryIndexResponse.ModelIndex(name=model.name, version=scorer.version, state="READY")
            for scorer in self.registry.all_latest()
            for model in models_of(scorer.name, scorer.heads)
        ]
        return pb.RepositoryIndexResponse(models=entries)

    async def _scorer(self, model: InferenceModel, version: str) -> Scorer:
        """The scorer serving ``model`` at ``version`` ("" = latest); NOT_FOUND when the bundle lacks the kind."""
        scorer = await self.registry.get_async(model.bundle, version)
        check_held(model, scorer.heads, scorer.version)
        return scorer

    async def _infer(self, request: pb.ModelInferRequest) -> pb.ModelInferResponse:
        model = parse_model_name(request.model_name)
        scorer = await self._scorer(model, request.model_version)
        wanted = requested_outputs(model, [o.name for o in request.outputs])
        users, movies = decode_pair_inputs([_input(i) for i in request.inputs], list(request.raw_input_contents))
        job = functools.partial(score_batch, scorer, users, movies, (model.kind,), self.max_pairs)
        with named_as_inputs():
            result = await self._pairs(job, users.size)
        scores = result.link_probability if model.kind is ModelKind.LINK else result.rating
        assert scores is not None  # score_batch computes every kind it is asked for (and only those)
        self._count(result)
        return _response(model, result, encode_outputs(wanted, scores, result.status), request.id)


def _input(tensor: pb.ModelInferRequest.InferInputTensor) -> InferInput:
    contents = {f.name: v for f, v in tensor.contents.ListFields()} if tensor.HasField("contents") else {}
    return InferInput(tensor.name, tensor.datatype, tuple(tensor.shape), contents)


def _metadata(spec: TensorSpec) -> pb.ModelMetadataResponse.TensorMetadata:
    return _Tensor(name=spec.name, datatype=spec.datatype, shape=spec.shape)


def _response(
    model: InferenceModel, result: BatchScores, outputs: list[OutputTensor], id_: str
) -> pb.ModelInferResponse:
    return pb.ModelInferResponse(
        model_name=model.name,
        model_version=result.version,
        id=id_,
        outputs=[_Output(name=o.name, datatype=o.datatype, shape=o.shape) for o in outputs],
        raw_output_contents=[o.raw for o in outputs],
    )
