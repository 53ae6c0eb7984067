"""The Open Inference Protocol's domain rules (``reelgraph.inference_protocol``), without a server."""

from __future__ import annotations

import numpy as np
import pytest

from reelgraph import inference_protocol as protocol
from reelgraph.errors import FieldViolation, InvalidRequestError, ModelNotFoundError
from reelgraph.inference_protocol import InferenceModel, InferInput
from reelgraph.options import ModelKind


def _raw(name: str, values: list[int], datatype: str = "INT64") -> tuple[InferInput, bytes]:
    dtype = "<i8" if datatype == "INT64" else "<i4"
    return InferInput(name, datatype, (len(values),), {}), np.asarray(values, dtype=dtype).tobytes()


def _fields(exc: pytest.ExceptionInfo[InvalidRequestError]) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_model_names_split_at_the_last_dash() -> None:
    assert protocol.parse_model_name("ml-latest-small-link") == InferenceModel("ml-latest-small", ModelKind.LINK)
    assert protocol.parse_model_name("tiny-rating").name == "tiny-rating"
    for bad in ("tiny", "tiny-ranking", "-link", "tiny-content", ""):
        with pytest.raises(ModelNotFoundError, match="<bundle>-link and <bundle>-rating"):
            protocol.parse_model_name(bad)


def test_a_bundle_serves_one_model_per_pair_kind() -> None:
    names = [m.name for m in protocol.models_of("b", {ModelKind.RATING: 1, ModelKind.RANKING: 2, ModelKind.LINK: 3})]
    assert names == ["b-link", "b-rating"]
    assert protocol.models_of("b", {ModelKind.CONTENT}) == []


def test_metadata_lists_inputs_and_outputs_with_variable_length() -> None:
    model = InferenceModel("tiny", ModelKind.RATING)
    assert [(s.name, s.datatype, s.shape) for s in model.inputs] == [
        ("user_id", "INT64", (-1,)),
        ("movie_id", "INT64", (-1,)),
    ]
    assert [(s.name, s.datatype, s.shape) for s in model.outputs] == [
        ("rating", "FP32", (-1,)),
        ("status", "UINT8", (-1,)),
    ]


def test_raw_inputs_decode_in_any_order_and_either_id_width() -> None:
    (mi, mraw), (ui, uraw) = _raw("movie_id", [10, 13], "INT32"), _raw("user_id", [1, 2**40])
    users, movies = protocol.decode_pair_inputs([mi, ui], [mraw, uraw])
    assert users.tolist() == [1, 2**40]
    assert users.dtype == np.int64
    assert movies.tolist() == [10, 13]
    assert movies.dtype == np.int32


def test_typed_contents_use_the_datatypes_field() -> None:
    inputs = [
        InferInput("user_id", "INT64", (2,), {"int64_contents": [1, 2]}),
        InferInput("movie_id", "INT32", (2,), {"int_contents": [10, 13]}),
    ]
    users, movies = protocol.decode_pair_inputs(inputs, [])
    assert (users.tolist(), movies.tolist()) == ([1, 2], [10, 13])
    empty = [InferInput("user_id", "INT64", (0,), {}), InferInput("movie_id", "INT64", (0,), {})]
    assert [c.size for c in protocol.decode_pair_inputs(empty, [])] == [0, 0]


def test_raw_and_typed_contents_in_one_request_are_refused() -> None:
    (ui, uraw), (mi, mraw) = _raw("user_id", [1]), _raw("movie_id", [10])
    typed = InferInput("movie_id", "INT64", (1,), {"int64_contents": [10]})
    with pytest.raises(InvalidRequestError, match="not both") as exc:
        protocol.decode_pair_inputs([ui, typed], [uraw, mraw])
    assert _fields(exc) == ["raw_input_contents"]
    with pytest.raises(InvalidRequestError, match="has 1 entries for 2 inputs"):
        protocol.decode_pair_inputs([ui, mi], [uraw])


@pytest.mark.parametrize(
    ("user", "field", "message"),
    [
        (InferInput("user_id", "FP32", (1,), {}), "inputs[user_id].datatype", "must be INT64 or INT32, got FP32"),
        (InferInput("user_id", "", (1,), {}), "inputs[user_id].datatype", "must be INT64 or INT32, got <unset>"),
        (InferInput("user_id", "INT64", (1, 1), {}), "inputs[user_id].shape", "must be [N], got [1, 1]"),
        (
            InferInput("user_id", "INT64", (2,), {}),
            "raw_input_contents[user_id]",
            "has 8 bytes; shape [2] of INT64 needs 16",
        ),
        (
            InferInput("user_id", "INT32", (1,), {}),
            "raw_input_contents[user_id]",
            "has 8 bytes; shape [1] of INT32 needs 4",
        ),
    ],
)
def test_a_bad_raw_input_is_named(user: InferInput, field: str, message: str) -> None:
    mi, mraw = _raw("movie_id", [10])
    with pytest.raises(InvalidRequestError) as exc:
        protocol.decode_pair_inputs([user, mi], [np.asarray([1], dtype="<i8").tobytes(), mraw])
    assert exc.value.violations == [FieldViolation(field, message)]


def test_bad_typed_contents_are_named() -> None:
    mi = InferInput("movie_id", "INT64", (1,), {"int64_contents": [10]})
    wrong_field = InferInput("user_id", "INT64", (1,), {"int_contents": [1]})
    with pytest.raises(InvalidRequestError, match="INT64 values go in int64_contents, not int_contents") as exc:
        protocol.decode_pair_inputs([wrong_field, mi], [])
    assert _fields(exc) == ["inputs[user_id].contents"]
    short = InferInput("user_id", "INT64", (2,), {"int64_contents": [1]})
    with pytest.raises(InvalidRequestError, match="has 1 values; shape") as exc:
        protocol.decode_pair_inputs([short, mi], [])
    assert _fields(exc) == ["inputs[user_id].contents.int64_contents"]


def test_missing_unknown_repeated_inputs_and_lengths() -> None:
    (ui, uraw), (mi, mraw) = _raw("user_id", [1, 2]), _raw("movie_id", [10])
    with pytest.raises(InvalidRequestError) as exc:
        protocol.decode_pair_inputs([ui], [uraw])
    assert _fields(exc) == ["inputs[movie_id]"]
    with pytest.raises(InvalidRequestError) as exc:
        protocol.decode_pair_inputs([ui, ui, InferInput("age", "INT64", (2,), {})], [uraw, uraw, uraw])
    assert _fields(exc) == ["inputs[user_id]", "inputs[age]", "inputs[movie_id]"]
    with pytest.raises(InvalidRequestError, match="has 1 ids but user_id has 2") as exc:
        protocol.decode_pair_inputs([ui, mi], [uraw, mraw])
    assert _fields(exc) == ["inputs[movie_id].shape"]


def test_requested_outputs_default_to_all_and_refuse_unknown_names() -> None:
    model = InferenceModel("tiny", ModelKind.LINK)
    assert [s.name for s in protocol.requested_outputs(model, [])] == ["probability", "status"]
    assert [s.name for s in protocol.requested_outputs(model, ["status", "status"])] == ["status"]
    with pytest.raises(InvalidRequestError, match="unknown output; expected probability, status") as exc:
        protocol.requested_outputs(model, ["rating"])
    assert _fields(exc) == ["outputs[rating]"]


def test_outputs_are_little_endian_raw_bytes() -> None:
    model = InferenceModel("tiny", ModelKind.LINK)
    scores, status = np.array([0.5, np.nan], dtype=np.float32), np.array([0, 2], dtype=np.uint8)
    out = protocol.encode_outputs(model.outputs, scores, status)
    assert [(o.name, o.datatype, o.shape) for o in out] == [("probability", "FP32", (2,)), ("status", "UINT8", (2,))]
    assert out[0].raw == scores.astype("<f4").tobytes()
    assert out[1].raw == b"\x00\x02"


def test_scoring_violations_are_renamed_to_the_inputs() -> None:
    with pytest.raises(InvalidRequestError) as exc, protocol.named_as_inputs():
        raise InvalidRequestError(
            [FieldViolation("user_ids.raw", "negative id -1 at position 0"), FieldViolation("k", "x")]
        )
    assert _fields(exc) == ["inputs[user_id].raw", "k"]


def test_a_bundle_without_the_kind_does_not_serve_that_model() -> None:
    model = InferenceModel("tiny", ModelKind.RATING)
    protocol.check_held(model, {ModelKind.RATING, ModelKind.LINK}, "1")
    with pytest.raises(ModelNotFoundError, match="no model named 'tiny-rating': bundle tiny/1 has no rating model"):
        protocol.check_held(model, {ModelKind.LINK}, "1")
