"""Domain exceptions → gRPC status codes, in exactly one place."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from reelgraph.errors import (
    InvalidOptionError,
    JobNotFoundError,
    ModelNotFoundError,
    ModelUnavailableError,
    NoModelLoadedError,
    QueueUnavailableError,
    ReelgraphError,
    TooManyItemsError,
    UnknownIdsError,
)
from reelgraph.tensors import InvalidRequestError

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the code.
_CODES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidRequestError, code_pb2.INVALID_ARGUMENT),
    (InvalidOptionError, code_pb2.INVALID_ARGUMENT),
    (UnknownIdsError, code_pb2.INVALID_ARGUMENT),
    (ModelNotFoundError, code_pb2.NOT_FOUND),
    (NoModelLoadedError, code_pb2.UNAVAILABLE),
    (TooManyItemsError, code_pb2.RESOURCE_EXHAUSTED),
    (ModelUnavailableError, code_pb2.FAILED_PRECONDITION),
    (JobNotFoundError, code_pb2.NOT_FOUND),
    (QueueUnavailableError, code_pb2.UNAVAILABLE),
)


def to_status(exc: Exception) -> status_pb2.Status:
    """The google.rpc.Status for a domain exception (INTERNAL when unmapped)."""
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), code_pb2.INTERNAL)
    status = status_pb2.Status(code=code, message=str(exc) if code != code_pb2.INTERNAL else "internal error")
    if isinstance(exc, InvalidRequestError):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in exc.violations
                ]
            )
        )
        status.details.append(detail)
    return status


async def abort_for(exc: Exception, context: Any) -> NoReturn:
    """Abort the RPC with the status ``exc`` maps to; grpc's own aborts pass through.

    Unmapped exceptions are logged and answered INTERNAL without their text:
    never leak internals, never leave a client hanging.
    """
    if isinstance(exc, grpc.aio.AbortError):
        raise exc
    if not isinstance(exc, ReelgraphError | ValueError):
        log.exception("unexpected error", exc_info=exc)
    await context.abort_with_status(rpc_status.to_status(to_status(exc)))
    raise AssertionError("abort_with_status returned")  # it always raises AbortError
