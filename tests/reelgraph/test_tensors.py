"""Wire tensors: id columns shrink to int32 when they fit; decode accepts either."""

from __future__ import annotations

import numpy as np
import pytest

from reelgraph.errors import InvalidRequestError
from reelgraph_client.api.v1 import tensor_pb2
from reelgraph_client.tensors import ID_TYPES, INT32, INT64, decode, encode, id_column


def test_id_column_is_int32_only_when_every_id_fits() -> None:
    assert id_column(np.array([1, 2**31 - 1, -(2**31)])).dtype == np.int32
    assert id_column(np.array([1, 2**31])).dtype == np.int64
    assert id_column(np.array([], dtype=np.int64)).dtype == np.int64
    assert id_column(np.array([5], dtype=np.int32)).dtype == np.int32


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_id_columns_round_trip(dtype: type) -> None:
    ids = np.array([3, 70000, 12], dtype=dtype)
    code, shape, raw = encode(ids)
    assert code == (INT32 if dtype is np.int32 else INT64)
    back = decode(tensor_pb2.Tensor(dtype=code, shape=shape, raw=raw), "ids", expect=ID_TYPES)  # type: ignore[arg-type]
    assert back.tolist() == ids.tolist()


def test_decode_names_every_accepted_dtype() -> None:
    float_ids = tensor_pb2.Tensor(dtype=2, shape=[1], raw=b"\0" * 4)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="must be INT64 or INT32, got FLOAT32"):
        decode(float_ids, "user_ids", expect=ID_TYPES)


def test_encode_converts_big_endian_to_little() -> None:
    code, _, raw = encode(np.array([1], dtype=">i8"))
    assert (code, raw) == (INT64, (1).to_bytes(8, "little"))
