"""Errors of the reelgraph contract that both sides of the wire raise.

``ReelgraphError`` is the base of every error reelgraph raises on purpose; the
server's domain errors (``reelgraph.errors``) derive from it. ``InvalidRequestError``
is what the tensor codec raises for a malformed column: the server answers it with
INVALID_ARGUMENT and a ``google.rpc.BadRequest`` naming each bad field.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReelgraphError(Exception):
    """Base class of every error reelgraph raises on purpose."""


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field (mapped to google.rpc.BadRequest by the server)."""

    field: str
    description: str


class InvalidRequestError(ReelgraphError, ValueError):
    """The request is malformed; ``violations`` say which fields and why."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
