"""Undecodable request bytes become INVALID_ARGUMENT instead of grpc's UNKNOWN.

grpc deserialises before any servicer code runs and reports a parse failure
as UNKNOWN with the exception text. This interceptor swaps in a deserializer
that returns a marker, and the wrapped behaviour answers INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from reelgraph.tensors import FieldViolation, InvalidRequestError

_MESSAGE = "request is not a valid protobuf message for this method"


class Undecodable:
    """Stands in for a request whose bytes did not parse."""


def _safe(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    inner = deserializer

    def parse(raw: bytes) -> Any:
        try:
            return inner(raw)
        except Exception:  # DecodeError and friends: any parse failure
            return Undecodable()

    return parse


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, Undecodable):
            raise InvalidRequestError([FieldViolation("request", _MESSAGE)])
        yield request


class RequestDecodingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Wraps every handler so parse failures surface as INVALID_ARGUMENT."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        return _wrap(handler)


def _wrap(h: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    kw = {"request_deserializer": _safe(h.request_deserializer), "response_serializer": h.response_serializer}
    if h.request_streaming and h.response_streaming:
        inner_ss = h.stream_stream

        async def stream_stream(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
            async for item in inner_ss(_checked(requests), context):
                yield item

        return grpc.stream_stream_rpc_method_handler(stream_stream, **kw)
    if h.request_streaming:
        inner_su = h.stream_unary

        async def stream_unary(requests: AsyncIterator[Any], context: Any) -> Any:
            return await inner_su(_checked(requests), context)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kw)
    if h.response_streaming:
        inner_g = h.unary_stream

        async def unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
            async for item in inner_g(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, **kw)
    inner_u = h.unary_unary

    async def unary(request: Any, context: Any) -> Any:
        if isinstance(request, Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _MESSAGE)
        return await inner_u(request, context)

    return grpc.unary_unary_rpc_method_handler(unary, **kw)
