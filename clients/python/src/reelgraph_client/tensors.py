"""Columnar tensors on the wire: raw little-endian bytes with dtype and shape.

Pure numpy; the proto message is duck-typed (``dtype``, ``shape``, ``raw``)
so this module does not import grpc. ``DataType``'s numbers are taken from the
generated ``tensor_pb2`` constants (protobuf only), never copied by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any, Protocol

import numpy as np

from reelgraph_client.api.v1 import tensor_pb2
from reelgraph_client.errors import FieldViolation, InvalidRequestError


class DataType(IntEnum):
    """Element types of ``reelgraph.v1.Tensor`` (``DATA_TYPE_UNSPECIFIED`` is no type: refused)."""

    INT64 = tensor_pb2.DATA_TYPE_INT64
    FLOAT32 = tensor_pb2.DATA_TYPE_FLOAT32
    UINT8 = tensor_pb2.DATA_TYPE_UINT8
    INT32 = tensor_pb2.DATA_TYPE_INT32


INT64, FLOAT32, UINT8, INT32 = DataType.INT64, DataType.FLOAT32, DataType.UINT8, DataType.INT32
ID_TYPES = (INT64, INT32)  # id columns: INT32 when every id fits, half the bytes
_DTYPES: dict[int, np.dtype[Any]] = {
    INT64: np.dtype("<i8"),
    FLOAT32: np.dtype("<f4"),
    UINT8: np.dtype("u1"),
    INT32: np.dtype("<i4"),
}
_CODES = {v.newbyteorder("="): k for k, v in _DTYPES.items()}
# dtypes whose native bytes already are the wire's (all of them on little-endian hosts)
_NATIVE_LE = {dt: code for dt, code in _CODES.items() if dt.newbyteorder("<") == dt}


# HTTP/2 settings for multi-megabyte tensor messages: a larger stream window and
# frames mean fewer flow-control round trips per batch (client and server).
HTTP2_BULK_OPTIONS = (
    ("grpc.http2.lookahead_bytes", 8 << 20),
    ("grpc.http2.max_frame_size", (1 << 24) - 1),
    ("grpc.http2.write_buffer_size", 8 << 20),
)


class WireTensor(Protocol):
    """What a reelgraph.v1.Tensor looks like (read-only view)."""

    @property
    def dtype(self) -> int: ...

    @property
    def shape(self) -> Sequence[int]: ...

    @property
    def raw(self) -> bytes: ...


def decode(t: WireTensor, field: str, *, expect: int | tuple[int, ...], max_items: int | None = None) -> np.ndarray:
    """A 1-D numpy array from a wire tensor, validated; raises ``InvalidRequestError``.

    ``expect`` is the dtype code, or the codes, the field accepts.
    """
    code, shape, raw = t.dtype, t.shape, t.raw  # each proto field read once: reads build objects
    accepted = expect if isinstance(expect, tuple) else (expect,)
    if code not in accepted:
        if code not in _DTYPES:
            raise InvalidRequestError([FieldViolation(f"{field}.dtype", f"unknown or unset dtype {code}")])
        wanted = " or ".join(map(_name, accepted))
        raise InvalidRequestError([FieldViolation(f"{field}.dtype", f"must be {wanted}, got {_name(code)}")])
    if len(shape) != 1 or shape[0] < 0:
        raise InvalidRequestError([FieldViolation(f"{field}.shape", f"must be [N] with N >= 0, got {list(shape)}")])
    n = shape[0]
    if max_items is not None and n > max_items:
        raise InvalidRequestError([FieldViolation(f"{field}.shape", f"{n} items exceed the limit {max_items}")])
    dtype = _DTYPES[code]
    if len(raw) != n * dtype.itemsize:
        raise InvalidRequestError(
            [
                FieldViolation(
                    f"{field}.raw",
                    f"has {len(raw)} bytes; shape {list(shape)} of {_name(code)} needs {n * dtype.itemsize}",
                )
            ]
        )
    array: np.ndarray = np.frombuffer(raw, dtype=dtype)
    return array


def id_column(ids: np.ndarray) -> np.ndarray:
    """``ids`` as int32 when every one fits (half the bytes on the wire), else int64."""
    ids = np.asarray(ids)
    if ids.dtype == np.int32 or (ids.size and ids.min() >= -(2**31) and ids.max() < 2**31):
        return ids.astype(np.int32, copy=False)
    return ids.astype(np.int64, copy=False)


def encode(array: np.ndarray) -> tuple[int, list[int], bytes]:
    """``(dtype code, shape, raw little-endian bytes)`` of a numpy array."""
    arr = np.asarray(array)
    code = _NATIVE_LE.get(arr.dtype)
    if code is not None:  # the per-response case: one copy, no conversion
        return code, list(arr.shape), arr.tobytes()
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"no wire dtype for {arr.dtype}")
    return code, list(arr.shape), np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()


def wire_tensor(array: np.ndarray) -> tensor_pb2.Tensor:
    """``array`` as a ``reelgraph.v1.Tensor`` message (what ``encode`` returns, wrapped)."""
    dtype, shape, raw = encode(array)
    return tensor_pb2.Tensor(dtype=dtype, shape=shape, raw=raw)  # type: ignore[arg-type]


def _name(code: int) -> str:
    return DataType(code).name if code in _DTYPES else f"<{code}>"
