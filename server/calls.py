"""What every RPC goes through: bearer-token auth, a request id for logs, the
status it ends with, and its count and latency in the metrics.

``server.method_handlers`` builds one wrapper per method around a ``CallPolicy``
at start-up. grpc.aio interceptors could do the same work, but they add an
interceptor coroutine chain to every call (the README's serving section has
the measured cost).
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import time
import uuid
from contextvars import Token
from typing import Any, NoReturn

import grpc
from google.rpc import code_pb2
from grpc_status import rpc_status

from reelgraph import logs
from reelgraph.errors import UnauthenticatedError
from server.errors import to_status
from server.metrics import ServerMetrics

log = logging.getLogger(__name__)
# Load balancers probe health without credentials.
OPEN_SERVICES = frozenset({"grpc.health.v1.Health"})
_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class CallPolicy:
    """Auth, request ids and metrics for every method of a server.

    Args:
        metrics: where counts and latencies go (None: not recorded).
        tokens: accepted bearer tokens; empty means auth is off.
    """

    def __init__(self, metrics: ServerMetrics | None = None, tokens: frozenset[str] = frozenset()) -> None:
        self.metrics = metrics
        self._tokens = tuple(t.encode() for t in tokens)
        self._ids = itertools.count(1)
        self._id_prefix = uuid.uuid4().hex[:8]  # per process: ids stay unique across replicas

    def start(self, method: str, context: Any) -> Call:
        """Begin a call of ``method`` (its short name): bind its request id, start its clock."""
        return Call(self, method, logs.request_id.set(self._request_id(context)))

    def authorize(self, service: str, context: Any) -> None:
        """Raise ``UnauthenticatedError`` unless auth is off, ``service`` is open or the token is good."""
        if self._tokens and service not in OPEN_SERVICES and not self._authorized(context):
            raise UnauthenticatedError("missing or invalid bearer token")

    def _authorized(self, context: Any) -> bool:
        scheme, _, token = (_header(context, "authorization") or "").partition(" ")
        # constant-time comparison against every configured token
        return scheme.lower() == "bearer" and any(hmac.compare_digest(token.encode(), t) for t in self._tokens)

    def _request_id(self, context: Any) -> str:
        given = _header(context, "x-request-id")
        return given[:128] if given is not None else f"{self._id_prefix}-{next(self._ids):x}"


def _header(context: Any, key: str) -> str | None:
    """The first value of metadata ``key`` (gRPC metadata keys arrive lower-case), as text."""
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return None


class Call:
    """One RPC in flight: its start time, request-id binding and final status code."""

    __slots__ = ("_policy", "_token", "code", "method", "started")

    def __init__(self, policy: CallPolicy, method: str, token: Token[str]) -> None:
        self._policy, self.method, self._token = policy, method, token
        self.started, self.code = time.perf_counter(), "OK"

    async def fail(self, exc: BaseException, context: Any) -> NoReturn:
        """Record how ``exc`` ends the call and end it that way.

        Domain errors abort with their mapped status (``server.errors``); grpc's
        own aborts and cancellations pass through (a cancellation counts as
        DEADLINE_EXCEEDED once the deadline has passed, else as CANCELLED);
        anything else is logged and answered INTERNAL without its text.
        """
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            self.code = "DEADLINE_EXCEEDED" if _expired(context) else "CANCELLED"
            raise exc
        if isinstance(exc, grpc.aio.AbortError) or not isinstance(exc, Exception):
            code = context.code()
            self.code = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
            raise exc
        status = to_status(exc)
        if status.code == code_pb2.INTERNAL:
            log.error("unexpected error", exc_info=exc)
        self.code = _NAMES.get(status.code, "UNKNOWN")
        await context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("abort_with_status returned")  # it always raises AbortError

    def finish(self, context: Any) -> None:
        """Count and time the call, log a non-OK end, unbind the request id.

        A handler that returns after its deadline has passed answered nobody:
        the client already saw DEADLINE_EXCEEDED, and so do the metrics.
        """
        if self.code == "OK" and _expired(context):
            self.code = "DEADLINE_EXCEEDED"
        metrics = self._policy.metrics
        if metrics is not None:
            metrics.observe(self.method, self.code, time.perf_counter() - self.started)
        if self.code not in ("OK", "CANCELLED"):
            log.info("%s answered %s", self.method, self.code)
        logs.request_id.reset(self._token)


def _expired(context: Any) -> bool:
    """The call had a deadline and it has passed (grpc reports the time left as 0 then)."""
    remaining = context.time_remaining()
    return remaining is not None and remaining <= 0
