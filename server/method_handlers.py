"""Register servicers with grpc: every method wrapped once, at start-up, in the
call pipeline of ``server.calls`` (auth, request id, metrics, error mapping).

grpc deserialises before any servicer code runs and reports a parse failure
as UNKNOWN with the exception text. The deserializer here returns a marker
instead, and the wrapper answers INVALID_ARGUMENT with a BadRequest detail.

grpc.aio accepts two styles of response-streaming handler: an async generator
(reelgraph's own, reflection) and a coroutine that writes with
``context.write`` (grpc's health ``Watch``). Each is wrapped in its own style:
grpc picks how to run a handler by inspecting the function it is given. A
method the servicer leaves to its generated base class (a plain function that
raises NotImplementedError) answers UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

from reelgraph.errors import FieldViolation, InvalidRequestError
from server.calls import CallPolicy

_MESSAGE = "request is not a valid protobuf message for this method"
# A client killed mid-stream ends its request stream as a half-close would, and grpc
# cancels the call a moment later. A call that read its requests to the end waits this
# long for that cancellation before it can count as OK (it arrived within 1 ms here).
CANCEL_GRACE_S = 0.005

Behaviour = Callable[..., Any]
# The grpc factory of a method handler, by (request streaming, response streaming).
MAKERS: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


class Undecodable:
    """Stands in for a request whose bytes did not parse."""


def add_service(servicer: object, descriptor: ServiceDescriptor, server: grpc.aio.Server, policy: CallPolicy) -> None:
    """Register ``servicer``'s methods for ``descriptor`` behind ``policy``.

    Equivalent to the generated ``add_*Servicer_to_server``, except that every
    call is authorised, counted and timed, a request that does not parse is
    answered INVALID_ARGUMENT, and a domain exception becomes its mapped status.
    """
    handlers = {}
    for method in descriptor.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        shape = (method.client_streaming, method.server_streaming)
        behaviour = _wrap(getattr(servicer, method.name), policy, descriptor.full_name, method.name, shape)
        handlers[method.name] = MAKERS[shape](
            behaviour,
            request_deserializer=_safe(request_cls.FromString),
            response_serializer=response_cls.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))


def _safe(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:  # DecodeError and friends: any parse failure
            return Undecodable()

    return parse


def _parsed(request: Any) -> Any:
    if isinstance(request, Undecodable):
        raise InvalidRequestError([FieldViolation("request", _MESSAGE)])
    return request


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _parsed(request)


def _wrap(inner: Behaviour, policy: CallPolicy, service: str, method: str, shape: tuple[bool, bool]) -> Behaviour:
    """``inner`` behind the call pipeline, for its (request streaming, response streaming) shape and style."""
    if not (inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner)):
        inner = _unimplemented
    prepare: Callable[[Any], Any] = _checked if shape[0] else _parsed
    streamed_requests = shape[0]

    # Unary responses, and streamed responses a coroutine writes with context.write.
    async def returned_response(request: Any, context: Any) -> Any:
        call = policy.start(method, context)
        try:
            policy.authorize(service, context)
            response = await inner(prepare(request), context)
            if streamed_requests:
                await asyncio.sleep(CANCEL_GRACE_S)
            return response
        except BaseException as exc:
            await call.fail(exc, context)
        finally:
            call.finish(context)

    async def generated_response(request: Any, context: Any) -> AsyncIterator[Any]:
        call = policy.start(method, context)
        try:
            policy.authorize(service, context)
            async for item in inner(prepare(request), context):
                yield item
            if streamed_requests:
                await asyncio.sleep(CANCEL_GRACE_S)
        except BaseException as exc:
            await call.fail(exc, context)
        finally:
            call.finish(context)

    return generated_response if shape[1] and inspect.isasyncgenfunction(inner) else returned_response


async def _unimplemented(request: Any, context: Any) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented")
