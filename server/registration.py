"""Register a servicer with grpc: parse-safe deserializers and domain-error mapping.

Two things every reelgraph RPC needs happen here, in one wrapper per method
that is built once at registration (an interceptor would run per call):

- grpc deserialises before any servicer code runs and reports a parse failure
  as UNKNOWN with the exception text. The deserializer here returns a marker
  instead, and the wrapper answers INVALID_ARGUMENT.
- A domain exception escaping a servicer method aborts the RPC with the status
  ``server.errors.to_status`` maps it to (the one place codes are chosen).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

from reelgraph.tensors import FieldViolation, InvalidRequestError
from server.errors import abort_for
from server.handlers import MAKERS

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


def add_service(servicer: object, descriptor: ServiceDescriptor, server: grpc.aio.Server) -> None:
    """Register ``servicer``'s methods for ``descriptor``, parse-safe and with errors mapped.

    Equivalent to the generated ``add_*Servicer_to_server``, except that a
    request that does not parse is answered INVALID_ARGUMENT and a domain
    exception becomes its mapped status.
    """
    handlers = {}
    for method in descriptor.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        handler = _HANDLERS[(method.client_streaming, method.server_streaming)](getattr(servicer, method.name))
        handlers[method.name] = MAKERS[(method.client_streaming, method.server_streaming)](
            handler,
            request_deserializer=_safe(request_cls.FromString),
            response_serializer=response_cls.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))


def _unary_unary(inner: Any) -> Any:
    async def unary(request: Any, context: Any) -> Any:
        try:
            if isinstance(request, Undecodable):
                raise InvalidRequestError([FieldViolation("request", _MESSAGE)])
            return await inner(request, context)
        except Exception as exc:
            await abort_for(exc, context)

    return unary


def _unary_stream(inner: Any) -> Any:
    async def unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
        try:
            if isinstance(request, Undecodable):
                raise InvalidRequestError([FieldViolation("request", _MESSAGE)])
            async for item in inner(request, context):
                yield item
        except Exception as exc:
            await abort_for(exc, context)

    return unary_stream


def _stream_unary(inner: Any) -> Any:
    async def stream_unary(requests: AsyncIterator[Any], context: Any) -> Any:
        try:
            return await inner(_checked(requests), context)
        except Exception as exc:
            await abort_for(exc, context)

    return stream_unary


def _stream_stream(inner: Any) -> Any:
    async def stream_stream(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        try:
            async for item in inner(_checked(requests), context):
                yield item
        except Exception as exc:
            await abort_for(exc, context)

    return stream_stream


_HANDLERS = {
    (False, False): _unary_unary,
    (False, True): _unary_stream,
    (True, False): _stream_unary,
    (True, True): _stream_stream,
}
