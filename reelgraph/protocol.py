"""The API's enum numbers ↔ the domain's enums: one table per concept, built from ``*_pb2``.

Every number comes from the generated constants, never copied by hand; a
boundary (the server's servicers, the client, the CLI) converts once with
these functions and works with the domain enum from then on.
``tests/reelgraph/test_protocol.py`` checks each table covers every proto
value both ways. Protobuf only: no grpc here.
"""

from __future__ import annotations

from enum import IntEnum

from reelgraph.errors import InvalidOptionError
from reelgraph.jobs.records import ExplainMethod, JobStatus
from reelgraph.options import ModelKind
from reelgraph_client.api.v1 import explanation_pb2, scoring_pb2
from reelgraph_client.client import KINDS


class PairStatus(IntEnum):
    """Per-pair outcome of ScorePairs (``reelgraph.v1.PairStatus``); ``SCORED`` is its zero value."""

    SCORED = scoring_pb2.PAIR_STATUS_UNSPECIFIED
    UNKNOWN_USER = scoring_pb2.PAIR_STATUS_UNKNOWN_USER
    UNKNOWN_MOVIE = scoring_pb2.PAIR_STATUS_UNKNOWN_MOVIE
    UNKNOWN_BOTH = scoring_pb2.PAIR_STATUS_UNKNOWN_BOTH

    @property
    def label(self) -> str:
        """Words for people: ``scored``, ``unknown user``, …, ``unknown user and movie``."""
        return "unknown user and movie" if self is PairStatus.UNKNOWN_BOTH else self.name.lower().replace("_", " ")


EXPLAIN_METHODS: dict[ExplainMethod, explanation_pb2.ExplainMethod] = {
    ExplainMethod.RANKING: explanation_pb2.EXPLAIN_METHOD_RANKING,
    ExplainMethod.INTEGRATED_GRADIENTS: explanation_pb2.EXPLAIN_METHOD_INTEGRATED_GRADIENTS,
    ExplainMethod.SALIENCY: explanation_pb2.EXPLAIN_METHOD_SALIENCY,
    ExplainMethod.INPUT_X_GRADIENT: explanation_pb2.EXPLAIN_METHOD_INPUT_X_GRADIENT,
    ExplainMethod.GUIDED_BACKPROP: explanation_pb2.EXPLAIN_METHOD_GUIDED_BACKPROP,
    ExplainMethod.DECONVOLUTION: explanation_pb2.EXPLAIN_METHOD_DECONVOLUTION,
}
_METHOD_OF: dict[int, ExplainMethod] = {number: method for method, number in EXPLAIN_METHODS.items()}
_METHOD_OF[explanation_pb2.EXPLAIN_METHOD_UNSPECIFIED] = ExplainMethod.RANKING  # the documented default

JOB_STATUSES: dict[JobStatus, explanation_pb2.JobStatus] = {
    JobStatus.QUEUED: explanation_pb2.JOB_STATUS_QUEUED,
    JobStatus.STARTED: explanation_pb2.JOB_STATUS_STARTED,
    JobStatus.DONE: explanation_pb2.JOB_STATUS_DONE,
    JobStatus.FAILED: explanation_pb2.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: explanation_pb2.JOB_STATUS_CANCELLED,
}
_STATUS_OF: dict[int, JobStatus] = {number: status for status, number in JOB_STATUSES.items()}

# The client distribution names the kinds as ModelKind does; ModelKind(name) fails at import if they drift.
SCORE_KINDS: dict[ModelKind, scoring_pb2.ScoreKind] = {ModelKind(name): number for name, number in KINDS.items()}
_KIND_OF: dict[int, ModelKind] = {number: kind for kind, number in SCORE_KINDS.items()}
_KIND_OF[scoring_pb2.SCORE_KIND_UNSPECIFIED] = ModelKind.LINK  # the documented default


def explain_method(number: int) -> ExplainMethod:
    """The method of a request's ``ExplainMethod`` number (unset: the ranking model's exact shares).

    Raises ``InvalidOptionError`` naming the accepted numbers for any other value.
    """
    if number not in _METHOD_OF:
        raise InvalidOptionError(f"invalid method {number}; expected one of {sorted(_METHOD_OF)}")
    return _METHOD_OF[number]


def job_status(number: int) -> JobStatus:
    """The status a response's ``JobStatus`` number names; ``InvalidOptionError`` for unset or unknown."""
    if number not in _STATUS_OF:
        raise InvalidOptionError(f"invalid job status {number}; expected one of {sorted(_STATUS_OF)}")
    return _STATUS_OF[number]


def score_kind(number: int) -> ModelKind:
    """The model a request's ``ScoreKind`` number asks for (unset: the link model)."""
    if number not in _KIND_OF:
        raise InvalidOptionError(f"invalid score kind {number}; expected one of {sorted(_KIND_OF)}")
    return _KIND_OF[number]
