"""Every enum number of the API maps to one domain member and back."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import pytest
from google.protobuf.descriptor import EnumDescriptor

from reelgraph.errors import InvalidOptionError
from reelgraph.jobs.records import ExplainMethod, JobStatus
from reelgraph.options import ModelKind
from reelgraph.protocol import (
    EXPLAIN_METHODS,
    JOB_STATUSES,
    SCORE_KINDS,
    PairStatus,
    explain_method,
    job_status,
    score_kind,
)
from reelgraph_client.api.v1 import explanation_pb2, scoring_pb2, tensor_pb2
from reelgraph_client.tensors import DataType


def _numbers(enum: EnumDescriptor, unset: bool) -> set[int]:
    """The enum's numbers, its zero ``*_UNSPECIFIED`` value included or not."""
    return {v.number for v in enum.values if unset or not v.name.endswith("_UNSPECIFIED")}


@pytest.mark.parametrize(
    ("table", "members", "enum", "parse"),
    [
        (
            EXPLAIN_METHODS,
            ExplainMethod,
            explanation_pb2.DESCRIPTOR.enum_types_by_name["ExplainMethod"],
            explain_method,
        ),
        (JOB_STATUSES, JobStatus, explanation_pb2.DESCRIPTOR.enum_types_by_name["JobStatus"], job_status),
    ],
)
def test_tables_cover_both_enums_one_to_one(
    table: dict[Enum, int], members: type[Enum], enum: EnumDescriptor, parse: Callable[[int], Enum]
) -> None:
    assert set(table) == set(members)  # every domain member has a number...
    assert sorted(table.values()) == sorted(_numbers(enum, unset=False))  # ...and every set number one member
    for member, number in table.items():
        assert parse(number) is member


def test_unset_numbers_mean_the_documented_defaults() -> None:
    assert explain_method(explanation_pb2.EXPLAIN_METHOD_UNSPECIFIED) is ExplainMethod.RANKING
    assert score_kind(scoring_pb2.SCORE_KIND_UNSPECIFIED) is ModelKind.LINK
    with pytest.raises(InvalidOptionError, match="invalid job status 0"):
        job_status(explanation_pb2.JOB_STATUS_UNSPECIFIED)


def test_score_kinds_cover_the_proto_enum() -> None:
    enum = scoring_pb2.DESCRIPTOR.enum_types_by_name["ScoreKind"]
    assert sorted(SCORE_KINDS.values()) == sorted(_numbers(enum, unset=False))
    for kind, number in SCORE_KINDS.items():
        assert score_kind(number) is kind


@pytest.mark.parametrize(
    ("parse", "what"), [(explain_method, "method"), (job_status, "job status"), (score_kind, "score kind")]
)
def test_unknown_numbers_are_refused_naming_the_accepted(parse: Callable[[int], Enum], what: str) -> None:
    with pytest.raises(InvalidOptionError, match=rf"invalid {what} 42; expected one of \[.*1, 2"):
        parse(42)


def test_pair_status_and_data_type_are_the_proto_enums() -> None:
    pair = scoring_pb2.DESCRIPTOR.enum_types_by_name["PairStatus"]
    assert {m.value for m in PairStatus} == _numbers(pair, unset=True)  # zero is "scored"
    assert PairStatus(scoring_pb2.PAIR_STATUS_UNKNOWN_BOTH).label == "unknown user and movie"
    assert PairStatus.SCORED.label == "scored"
    dtype = tensor_pb2.DESCRIPTOR.enum_types_by_name["DataType"]
    assert {m.value for m in DataType} == _numbers(dtype, unset=False)  # unset is no type: refused
    for m in DataType:
        assert dtype.values_by_number[m.value].name == f"DATA_TYPE_{m.name}"
