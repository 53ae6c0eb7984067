"""One classification of job failures, for the worker and the queue alike.

Permanent: the job cannot succeed however often it runs, so it fails at once
with the reason. That is an invalid request (a record that does not parse, a
method or option out of range), a missing or unreadable bundle or version, and
ids the bundle does not know. Everything else is transient and retried with
backoff up to ``max_deliveries``: Redis trouble, memory (``MemoryError``,
``torch.OutOfMemoryError``), device and other runtime errors.
"""

from __future__ import annotations

from reelgraph.errors import BundleError, InvalidOptionError, ModelNotFoundError, UnknownIdsError
from reelgraph.jobs.records import RecordError

PERMANENT: tuple[type[BaseException], ...] = (
    RecordError,
    InvalidOptionError,
    BundleError,
    ModelNotFoundError,
    UnknownIdsError,
)


def is_permanent(exc: BaseException) -> bool:
    """True when retrying the job that raised ``exc`` cannot help."""
    return isinstance(exc, PERMANENT)


def describe(exc: BaseException) -> str:
    """The reason stored with a failed delivery: exception type and message."""
    return f"{type(exc).__name__}: {exc}"
