"""Domain exceptions → gRPC status codes, in exactly one place."""

from __future__ import annotations

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from reelgraph.errors import (
    InvalidOptionError,
    InvalidRequestError,
    JobNotFoundError,
    ModelNotFoundError,
    ModelUnavailableError,
    NoModelLoadedError,
    QueueUnavailableError,
    TooManyItemsError,
    UnauthenticatedError,
    UnknownIdsError,
)

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
    (UnauthenticatedError, code_pb2.UNAUTHENTICATED),
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
