"""Streaming a pairs file of any size through StreamScorePairs (``reelgraph score``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from reelgraph.client import Client
from reelgraph.errors import DataError

_ID_COLUMNS = (("user_id", "movie_id"), ("userId", "movieId"), ("user", "movie"))


def _columns(path: Path, header: list[str]) -> tuple[str, str]:
    for user, movie in _ID_COLUMNS:
        if user in header and movie in header:
            return user, movie
    raise DataError(f"{path}:1: expected columns user_id,movie_id (or userId,movieId); got {header}")


def read_pairs(path: Path, chunk_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks of (user ids, movie ids) from CSV or Parquet, never the whole file at once."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.suffix == ".parquet":
        yield from _read_parquet(path, chunk_rows)
        return
    header = pd.read_csv(path, nrows=0).columns.tolist()
    user, movie = _columns(path, header)
    line = 2
    with pd.read_csv(path, usecols=[user, movie], chunksize=chunk_rows, dtype=str, keep_default_na=False) as reader:
        for chunk in reader:
            yield _ids(path, chunk, user, line), _ids(path, chunk, movie, line)
            line += len(chunk)


def _ids(path: Path, chunk: pd.DataFrame, column: str, first_line: int) -> np.ndarray:
    values = pd.to_numeric(chunk[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() | (values.to_numpy() % 1 != 0))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}:{first_line + row}: column {column!r} is not an integer id: {chunk[column].iloc[row]!r}"
        )
    return values.to_numpy().astype(np.int64)


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow") from exc
    file = pq.ParquetFile(path)
    user, movie = _columns(path, file.schema_arrow.names)
    for batch in file.iter_batches(batch_size=chunk_rows, columns=[user, movie]):
        frame = batch.to_pandas()
        yield frame[user].to_numpy(np.int64), frame[movie].to_numpy(np.int64)


def score_file(
    client: Client,
    src: Path,
    dst: Path,
    kinds: tuple[str, ...],
    chunk_rows: int,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Score ``src`` into ``dst`` (CSV: user_id, movie_id, one column per kind, status).

    Chunks stream both ways; only chunks in flight are held in memory. Output
    goes to ``dst.tmp`` and is renamed at the end, so a failure never leaves a
    truncated file. ``on_chunk(rows)`` is called after each chunk is written.
    Returns (rows, rows not scored).
    """
    if dst.suffix != ".csv":
        raise DataError(f"{dst}: only .csv output is supported")
    in_flight: deque[tuple[np.ndarray, np.ndarray]] = deque()

    def sent() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for chunk in read_pairs(src, chunk_rows):
            in_flight.append(chunk)
            yield chunk

    tmp = dst.with_name(dst.name + ".tmp")
    rows = invalid = 0
    try:
        with tmp.open("w") as out:
            for i, scores in enumerate(client.stream_score(sent(), kinds=kinds)):
                users, movies = in_flight.popleft()
                frame = pd.DataFrame({"user_id": users, "movie_id": movies})
                for name in ("link_probability", "rating"):
                    if getattr(scores, name) is not None:
                        frame[name] = getattr(scores, name)
                frame["status"] = scores.status
                frame.to_csv(out, header=i == 0, index=False, float_format="%.6g")
                rows, invalid = rows + len(frame), invalid + int(np.count_nonzero(scores.status))
                if on_chunk is not None:
                    on_chunk(len(frame))
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return rows, invalid
