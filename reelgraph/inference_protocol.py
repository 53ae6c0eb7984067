"""reelgraph's bundles as Open Inference Protocol models: names, tensor metadata, input checks. No grpc here.

Each bundle ``<name>`` holding a pair model is served as one OIP model per kind:

- ``<name>-link``: output ``probability`` (FP32, P(user rates movie), 0..1);
- ``<name>-rating``: output ``rating`` (FP32, predicted stars, 0.5..5).

Both take ``user_id`` and ``movie_id`` (INT64 or INT32, shape ``[N]``, MovieLens
ids) and also give ``status`` (UINT8 ``[N]``: 0 scored, else a ``PairStatus``:
1 unknown user, 2 unknown movie, 3 both; NaN scores there), as ScorePairs does.
The OIP model version is the bundle version ("" = latest).

Requests arrive here already lifted out of protobuf (``InferInput``); every
check raises a domain error (``InvalidRequestError`` naming the input, e.g.
``inputs[user_id].datatype``; ``ModelNotFoundError`` for a name that is no
model), which the server maps to a status code in one place.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from reelgraph.errors import FieldViolation, InvalidRequestError, ModelNotFoundError
from reelgraph.options import ModelKind

USER_ID, MOVIE_ID, STATUS = "user_id", "movie_id", "status"
PLATFORM = "reelgraph"
# The kinds an OIP model can be, and the name of each one's score output.
SCORE_OUTPUTS: dict[ModelKind, str] = {ModelKind.LINK: "probability", ModelKind.RATING: "rating"}
# Accepted id datatypes: their little-endian numpy dtype and the InferTensorContents field typed values use.
ID_DATATYPES: dict[str, tuple[np.dtype[Any], str]] = {
    "INT64": (np.dtype("<i8"), "int64_contents"),
    "INT32": (np.dtype("<i4"), "int_contents"),
}
# The server's domain field names (server.batch) → the input they came from.
_RENAMES = {"user_ids": f"inputs[{USER_ID}]", "movie_ids": f"inputs[{MOVIE_ID}]"}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model, as ModelMetadata lists it (shape -1: any length)."""

    name: str
    datatype: str
    shape: tuple[int, ...] = (-1,)


INPUTS = (TensorSpec(USER_ID, "INT64"), TensorSpec(MOVIE_ID, "INT64"))  # INT32 is accepted as well


@dataclass(frozen=True)
class InferenceModel:
    """One OIP model: a bundle and the kind of score it gives."""

    bundle: str
    kind: ModelKind

    @property
    def name(self) -> str:
        """The OIP model name, ``<bundle>-<kind>``."""
        return f"{self.bundle}-{self.kind.value}"

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        """``user_id`` and ``movie_id``, INT64 (INT32 accepted too), shape [-1]."""
        return INPUTS

    @property
    def outputs(self) -> tuple[TensorSpec, ...]:
        """The score (FP32 [-1]) and ``status`` (UINT8 [-1]), in the order a response lists them by default."""
        return TensorSpec(SCORE_OUTPUTS[self.kind], "FP32"), TensorSpec(STATUS, "UINT8")


def parse_model_name(name: str) -> InferenceModel:
    """The model ``name`` means; ``ModelNotFoundError`` unless it is ``<bundle>-link`` or ``<bundle>-rating``.

    Whether that bundle exists and holds that kind is the registry's and the
    scorer's question, not this function's.
    """
    bundle, _, suffix = name.rpartition("-")
    kind = next((k for k in SCORE_OUTPUTS if k.value == suffix), None)
    if not bundle or kind is None:
        raise ModelNotFoundError(f"no model named {name!r}; models are named <bundle>-link and <bundle>-rating")
    return InferenceModel(bundle, kind)


def models_of(bundle: str, kinds: Container[ModelKind]) -> list[InferenceModel]:
    """The OIP models a bundle named ``bundle`` holding model ``kinds`` serves, link first."""
    return [InferenceModel(bundle, kind) for kind in SCORE_OUTPUTS if kind in kinds]


def check_held(model: InferenceModel, kinds: Container[ModelKind], version: str) -> None:
    """``ModelNotFoundError`` unless ``model``'s bundle, at ``version``, holds a model of its kind (in ``kinds``)."""
    if model.kind not in kinds:
        why = f"bundle {model.bundle}/{version} has no {model.kind.value} model"
        raise ModelNotFoundError(f"no model named {model.name!r}: {why}")


@dataclass(frozen=True)
class InferInput:
    """One request input lifted out of the wire message.

    Attributes:
        name: the tensor name.
        datatype: the OIP datatype name, e.g. ``"INT64"``.
        shape: its dimensions.
        contents: typed contents, by ``InferTensorContents`` field name, only the
            fields that hold values (empty when the input uses raw contents).
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    contents: Mapping[str, Sequence[Any]]


def decode_pair_inputs(inputs: Sequence[InferInput], raw: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The (user ids, movie ids) columns of a request, as 1-D int32 or int64 arrays.

    ``raw`` is the request's ``raw_input_contents`` (one entry per input, in
    input order, or empty when the inputs carry typed contents). Raises
    ``InvalidRequestError`` naming the offending input for: both raw and typed
    contents in one request, a missing, unknown or repeated input, a datatype
    other than INT64/INT32, a shape other than [N], contents whose length does
    not match the shape, and columns of different lengths.
    """
    if raw and any(i.contents for i in inputs):
        why = "give raw_input_contents or typed contents, not both in one request"
        raise InvalidRequestError([FieldViolation("raw_input_contents", why)])
    if raw and len(raw) != len(inputs):
        why = f"has {len(raw)} entries for {len(inputs)} inputs"
        raise InvalidRequestError([FieldViolation("raw_input_contents", why)])
    at = _positions(inputs)
    columns = {name: _column(inputs[at[name]], raw[at[name]] if raw else None) for name in (USER_ID, MOVIE_ID)}
    users, movies = columns[USER_ID], columns[MOVIE_ID]
    if users.size != movies.size:
        why = f"has {movies.size} ids but {USER_ID} has {users.size}"
        raise InvalidRequestError([FieldViolation(f"inputs[{MOVIE_ID}].shape", why)])
    return users, movies


def _positions(inputs: Sequence[InferInput]) -> dict[str, int]:
    """Each input's position, by name; refuses unknown, repeated and missing ones."""
    found: dict[str, int] = {}
    violations = []
    for position, given in enumerate(inputs):
        if given.name not in (USER_ID, MOVIE_ID):
            violations.append(FieldViolation(f"inputs[{given.name}]", f"unknown input; expected {USER_ID}, {MOVIE_ID}"))
        elif given.name in found:
            violations.append(FieldViolation(f"inputs[{given.name}]", "given more than once"))
        found[given.name] = position
    violations += [FieldViolation(f"inputs[{n}]", "missing") for n in (USER_ID, MOVIE_ID) if n not in found]
    if violations:
        raise InvalidRequestError(violations)
    return found


def _column(given: InferInput, raw: bytes | None) -> np.ndarray:
    """One id column from raw little-endian bytes or from its typed contents field."""
    field = f"inputs[{given.name}]"
    if given.datatype not in ID_DATATYPES:
        why = f"must be {' or '.join(ID_DATATYPES)}, got {given.datatype or '<unset>'}"
        raise InvalidRequestError([FieldViolation(f"{field}.datatype", why)])
    if len(given.shape) != 1 or given.shape[0] < 0:
        raise InvalidRequestError([FieldViolation(f"{field}.shape", f"must be [N], got {list(given.shape)}")])
    n = given.shape[0]
    dtype, typed_field = ID_DATATYPES[given.datatype]
    if raw is not None:
        if len(raw) != n * dtype.itemsize:
            why = f"has {len(raw)} bytes; shape [{n}] of {given.datatype} needs {n * dtype.itemsize}"
            raise InvalidRequestError([FieldViolation(f"raw_input_contents[{given.name}]", why)])
        column: np.ndarray = np.frombuffer(raw, dtype=dtype)
        return column
    others = sorted(set(given.contents) - {typed_field})
    if others:
        why = f"{given.datatype} values go in {typed_field}, not {', '.join(others)}"
        raise InvalidRequestError([FieldViolation(f"{field}.contents", why)])
    values = given.contents.get(typed_field, ())
    if len(values) != n:
        why = f"has {len(values)} values; shape [{n}] needs {n}"
        raise InvalidRequestError([FieldViolation(f"{field}.contents.{typed_field}", why)])
    return np.asarray(values, dtype=dtype.newbyteorder("="))


def requested_outputs(model: InferenceModel, names: Sequence[str]) -> tuple[TensorSpec, ...]:
    """The outputs a request asks for, in its order (repeats once); empty ``names`` means all of them.

    Raises ``InvalidRequestError`` naming an output the model does not have.
    """
    if not names:
        return model.outputs
    specs = {spec.name: spec for spec in model.outputs}
    unknown = [n for n in names if n not in specs]
    if unknown:
        expected = ", ".join(specs)
        raise InvalidRequestError(
            [FieldViolation(f"outputs[{n}]", f"unknown output; expected {expected}") for n in unknown]
        )
    return tuple(specs[n] for n in dict.fromkeys(names))


@dataclass(frozen=True)
class OutputTensor:
    """One response output: name, OIP datatype, shape and raw little-endian bytes."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    raw: bytes


def encode_outputs(wanted: Sequence[TensorSpec], scores: np.ndarray, status: np.ndarray) -> list[OutputTensor]:
    """``wanted`` outputs of one answer: ``scores`` (float32 [N]) for the score output, ``status`` (uint8 [N])."""
    arrays = {"FP32": np.asarray(scores, dtype="<f4"), "UINT8": np.asarray(status, dtype=np.uint8)}
    return [OutputTensor(s.name, s.datatype, (int(status.size),), arrays[s.datatype].tobytes()) for s in wanted]


@contextmanager
def named_as_inputs() -> Iterator[None]:
    """Re-raise scoring's ``InvalidRequestError`` with its fields named after this protocol's inputs.

    ``server.batch`` names the id columns ``user_ids`` and ``movie_ids`` (the
    reelgraph.v1 fields); an OIP client sent ``user_id`` and ``movie_id``.
    """
    try:
        yield
    except InvalidRequestError as exc:
        raise InvalidRequestError([FieldViolation(_renamed(v.field), v.description) for v in exc.violations]) from exc


def _renamed(field: str) -> str:
    head, dot, rest = field.partition(".")
    return _RENAMES.get(head, head) + dot + rest
