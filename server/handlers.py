"""gRPC method handlers by shape (request streaming, response streaming), shared by the
interceptors and the parse-safe service registration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Shape = tuple[bool, bool]  # (request streaming, response streaming)
Behaviour = Callable[..., Any]

# The attribute of an RpcMethodHandler holding the behaviour, and the factory that builds one.
BEHAVIOURS: dict[Shape, str] = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}
MAKERS: dict[Shape, Callable[..., grpc.RpcMethodHandler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def shape(handler: grpc.RpcMethodHandler) -> Shape:
    """``handler``'s (request streaming, response streaming)."""
    return (bool(handler.request_streaming), bool(handler.response_streaming))


def behaviour(handler: grpc.RpcMethodHandler) -> Behaviour:
    """The function ``handler`` runs for a call."""
    fn: Behaviour = getattr(handler, BEHAVIOURS[shape(handler)])
    return fn


def rewrap(handler: grpc.RpcMethodHandler, new: Behaviour) -> grpc.RpcMethodHandler:
    """A handler of ``handler``'s shape and (de)serializers that runs ``new`` instead."""
    return MAKERS[shape(handler)](
        new, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )
