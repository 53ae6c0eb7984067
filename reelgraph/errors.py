"""Domain exceptions shared by the trainer, the server and the worker.

They never mention gRPC: the server maps them to status codes in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

# The contract's errors live in the client distribution (the codec raises them on both sides).
from reelgraph_client.errors import FieldViolation as FieldViolation
from reelgraph_client.errors import InvalidRequestError as InvalidRequestError
from reelgraph_client.errors import ReelgraphError as ReelgraphError


class DataError(ReelgraphError):
    """Input data is missing or malformed; the message names file and line."""


class BundleError(ReelgraphError):
    """A model bundle is missing, half-written, tampered with or unreadable."""


class UnknownIdsError(ReelgraphError, KeyError):
    """Some MovieLens ids are not in the bundle's id maps.

    Attributes:
        kind: ``"user"`` or ``"movie"``.
        ids: the unknown MovieLens ids, in request order, deduplicated.
        positions: positions in the request that hold an unknown id.
    """

    def __init__(self, kind: str, ids: Sequence[int], positions: Sequence[int]) -> None:
        self.kind = kind
        self.ids = [int(i) for i in ids]
        self.positions = [int(p) for p in positions]
        shown = ", ".join(str(i) for i in self.ids[:20])
        more = f" (+{len(self.ids) - 20} more)" if len(self.ids) > 20 else ""
        super().__init__(f"unknown {kind} ids: {shown}{more}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class InvalidOptionError(ReelgraphError, ValueError):
    """An option value is not one of the allowed choices."""


class ModelUnavailableError(ReelgraphError):
    """The bundle holds no model of the kind a call needs."""


class ModelNotFoundError(ReelgraphError, LookupError):
    """No bundle with the requested name or version."""


class NoModelLoadedError(ReelgraphError):
    """The server has no bundle loaded yet (or none that verifies)."""


class TooManyItemsError(ReelgraphError):
    """A request carries more items than the configured limit."""


class QueueUnavailableError(ReelgraphError):
    """The job queue (Redis) is not configured or not reachable."""


class JobNotFoundError(ReelgraphError, LookupError):
    """No job with that id (unknown or expired)."""


class UnauthenticatedError(ReelgraphError):
    """The call carries no accepted bearer token."""
