"""Streaming a pairs file of any size through StreamScorePairs (``reelgraph score``), and
reading a user's own ratings file for ``--ratings`` (``reelgraph recommend`` / ``score``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from reelgraph.client import Client, PairScores
from reelgraph.errors import DataError

_ID_COLUMNS = (("user_id", "movie_id"), ("userId", "movieId"), ("user", "movie"))
_MOVIE_COLUMNS = ("movie_id", "movieId", "movie")
_RATING_COLUMNS = (("movie_id", "stars"), ("movieId", "rating"))
MIN_STARS, MAX_STARS = 0.5, 5.0


@dataclass(frozen=True)
class RatingsFile:
    """One user's ratings read from a CSV: MovieLens movie ids, stars, optional Unix times."""

    movie_ids: np.ndarray
    stars: np.ndarray
    timestamps: np.ndarray | None


def read_ratings(path: Path) -> RatingsFile:
    """A CSV with header ``movie_id,stars[,timestamp]`` (or MovieLens' ``movieId,rating[,timestamp]``).

    Raises ``DataError`` naming the file and line of the first bad value. A
    header without rows is an empty history.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a CSV with header movie_id,stars[,timestamp]: {exc}") from exc
    header = frame.columns.tolist()
    movie, stars = next(
        (pair for pair in _RATING_COLUMNS if set(pair) <= set(header)),
        (None, None),
    )
    if movie is None or stars is None:
        raise DataError(f"{path}:1: expected columns movie_id,stars[,timestamp]; got {header}")
    values = _numbers(path, frame, stars, 2, "a number")
    bad = np.flatnonzero(~((values >= MIN_STARS) & (values <= MAX_STARS)))
    if bad.size:
        row = int(bad[0])
        raise DataError(f"{path}:{2 + row}: stars must be {MIN_STARS}-{MAX_STARS}, got {frame[stars].iloc[row]!r}")
    times = _ids(path, frame, "timestamp", 2) if "timestamp" in header else None
    return RatingsFile(_ids(path, frame, movie, 2), values.astype(np.float32), times)


def read_movie_ids(path: Path, chunk_rows: int) -> Iterator[np.ndarray]:
    """Chunks of movie ids from a CSV with a movie_id (or movieId) column; other columns are ignored."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    header = pd.read_csv(path, nrows=0).columns.tolist()
    movie = next((c for c in _MOVIE_COLUMNS if c in header), None)
    if movie is None:
        raise DataError(f"{path}:1: expected a movie_id (or movieId) column; got {header}")
    line = 2
    with pd.read_csv(path, usecols=[movie], chunksize=chunk_rows, dtype=str, keep_default_na=False) as reader:
        for chunk in reader:
            yield _ids(path, chunk, movie, line)
            line += len(chunk)


def _columns(path: Path, header: list[str]) -> tuple[str, str]:
    for user, movie in _ID_COLUMNS:
        if user in header and movie in header:
            return user, movie
    raise DataError(f"{path}:1: expected columns user_id,movie_id (or userId,movieId); got {header}")


def read_pairs(path: Path, chunk_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks of (user ids, movie ids) from a CSV file, never the whole file at once."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.suffix.lower() in (".parquet", ".pq"):
        raise DataError(f"{path}: Parquet is not read here; write the pairs as CSV with user_id,movie_id columns")
    header = pd.read_csv(path, nrows=0).columns.tolist()
    user, movie = _columns(path, header)
    line = 2
    with pd.read_csv(path, usecols=[user, movie], chunksize=chunk_rows, dtype=str, keep_default_na=False) as reader:
        for chunk in reader:
            yield _ids(path, chunk, user, line), _ids(path, chunk, movie, line)
            line += len(chunk)


def _ids(path: Path, chunk: pd.DataFrame, column: str, first_line: int) -> np.ndarray:
    values = pd.to_numeric(chunk[column], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(np.isnan(values) | (values % 1 != 0))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}:{first_line + row}: column {column!r} is not an integer id: {chunk[column].iloc[row]!r}"
        )
    return values.astype(np.int64)


def _numbers(path: Path, chunk: pd.DataFrame, column: str, first_line: int, what: str) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(chunk[column], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        row = int(bad[0])
        raise DataError(f"{path}:{first_line + row}: column {column!r} is not {what}: {chunk[column].iloc[row]!r}")
    return values


def score_file(
    client: Client,
    src: Path,
    dst: Path,
    kinds: tuple[str, ...],
    chunk_rows: int,
    on_chunk: Callable[[int], None] | None = None,
    ratings: RatingsFile | None = None,
) -> tuple[int, int]:
    """Score ``src`` into ``dst`` (CSV: user_id, movie_id, one column per kind, status).

    Chunks stream both ways; only chunks in flight are held in memory. With
    ``ratings`` (a user given by their ratings), ``src`` lists movies: columns
    movie_id, one per kind, status (2 = unknown movie), one ScorePairs call per
    ``chunk_rows`` movies, each carrying the history. Output goes to ``dst.tmp``
    and is renamed at the end, so a failure never leaves a truncated file.
    ``on_chunk(rows)`` is called after each chunk is written. Returns (rows,
    rows not scored).
    """
    if ratings is not None:
        return _write(dst, _movies_for(client, ratings, src, kinds, chunk_rows), on_chunk)
    in_flight: deque[tuple[np.ndarray, np.ndarray]] = deque()

    def sent() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for chunk in read_pairs(src, chunk_rows):
            in_flight.append(chunk)
            yield chunk

    def frames() -> Iterator[tuple[pd.DataFrame, PairScores]]:
        for scores in client.stream_score(sent(), kinds=kinds):
            users, movies = in_flight.popleft()
            yield pd.DataFrame({"user_id": users, "movie_id": movies}), scores

    return _write(dst, frames(), on_chunk)


def _movies_for(
    client: Client, ratings: RatingsFile, src: Path, kinds: tuple[str, ...], chunk_rows: int
) -> Iterator[tuple[pd.DataFrame, PairScores]]:
    for movies in read_movie_ids(src, chunk_rows):
        scores = client.score_from_ratings(
            ratings.movie_ids, ratings.stars, movies, kinds=kinds, timestamps=ratings.timestamps
        )
        yield pd.DataFrame({"movie_id": movies}), scores


def _write(
    dst: Path, frames: Iterator[tuple[pd.DataFrame, PairScores]], on_chunk: Callable[[int], None] | None
) -> tuple[int, int]:
    """Write id frames with their scores to ``dst`` via ``dst.tmp`` (renamed at the end).

    Raises ``DataError`` for a ``dst`` other than ``.csv`` before the first frame is asked for
    (``frames`` is lazy: nothing is read or sent).
    """
    if dst.suffix != ".csv":
        raise DataError(f"{dst}: only .csv output is supported")
    tmp = dst.with_name(dst.name + ".tmp")
    rows = invalid = 0
    try:
        with tmp.open("w") as out:
            for i, (frame, scores) in enumerate(frames):
                _write_chunk(out, frame, scores, header=i == 0)
                rows, invalid = rows + len(frame), invalid + int(np.count_nonzero(scores.status))
                if on_chunk is not None:
                    on_chunk(len(frame))
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return rows, invalid


def _write_chunk(out: TextIO, frame: pd.DataFrame, scores: PairScores, header: bool) -> None:
    for name in ("link_probability", "rating"):
        if getattr(scores, name) is not None:
            frame[name] = getattr(scores, name)
    frame["status"] = scores.status
    frame.to_csv(out, header=header, index=False, float_format="%.6g")
