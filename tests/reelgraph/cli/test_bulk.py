"""``reelgraph.cli.bulk``: what ``reelgraph score --in`` reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelgraph.cli.bulk import read_pairs
from reelgraph.errors import DataError


def test_pairs_are_read_in_chunks_from_either_column_spelling(tmp_path: Path) -> None:
    src = tmp_path / "pairs.csv"
    src.write_text("userId,movieId,extra\n1,10,a\n2,20,b\n3,30,c\n")
    chunks = list(read_pairs(src, 2))
    assert [(u.tolist(), m.tolist()) for u, m in chunks] == [([1, 2], [10, 20]), ([3], [30])]


def test_parquet_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    src = tmp_path / "pairs.parquet"
    src.write_bytes(b"PAR1")
    with pytest.raises(DataError, match="Parquet is not read here; write the pairs as CSV with user_id,movie_id"):
        list(read_pairs(src, 10))
