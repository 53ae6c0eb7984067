"""Low-level table parsing with errors that name the file, line and column.

The fast path parses straight into compact dtypes; only when that fails do we
re-read the file as text in chunks to find and report the first bad cell, so
memory stays proportional to the ratings on the happy path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reelgraph.errors import DataError

RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
RATING_DTYPES = {"user_id": "int32", "movie_id": "int32", "rating": "float32", "timestamp": "int64"}
MIN_STARS, MAX_STARS = 0.5, 5.0
_DIAG_CHUNK = 1_000_000


@dataclass(frozen=True)
class TableSpec:
    """How one delimited file is laid out.

    Attributes:
        sep: field separator passed to pandas (``"::"`` files use ``":"`` and
            ``usecols`` every other field, which keeps the fast C parser).
        header: the exact header row expected, or ``None`` for headerless files.
        usecols: positions of the wanted fields in each line.
        encoding: text encoding (MovieLens ``.dat``/``u.item`` are latin-1).
    """

    sep: str
    header: tuple[str, ...] | None
    usecols: tuple[int, ...]
    encoding: str = "utf-8"

    @property
    def first_line(self) -> int:
        """1-based line number of the first data row."""
        return 2 if self.header is not None else 1


def require_file(path: Path) -> Path:
    """Return ``path`` or raise ``DataError`` naming it."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return path


def check_header(path: Path, spec: TableSpec) -> None:
    """Raise when the header row is not exactly ``spec.header``."""
    if spec.header is None:
        return
    with path.open(encoding=spec.encoding, errors="replace") as fh:
        got = tuple(c.strip() for c in fh.readline().rstrip("\r\n").split(spec.sep))
    if got != spec.header:
        raise DataError(f"{path}:1: wrong columns {list(got)}; expected {list(spec.header)}")


def read_numeric(path: Path, spec: TableSpec, names: tuple[str, ...], dtypes: dict[str, str]) -> pd.DataFrame:
    """Parse a purely numeric table into ``dtypes``, or raise naming the bad cell."""
    require_file(path)
    check_header(path, spec)
    try:
        return pd.read_csv(
            path,
            sep=spec.sep,
            header=None,
            skiprows=spec.first_line - 1,
            usecols=list(spec.usecols),
            names=None,
            dtype={pos: dtypes[name] for pos, name in zip(spec.usecols, names, strict=True)},
            encoding=spec.encoding,
            engine="c",
        ).set_axis(list(names), axis=1)
    except (ValueError, TypeError, pd.errors.ParserError) as exc:
        raise diagnose(path, spec, names, exc) from exc


def diagnose(path: Path, spec: TableSpec, names: tuple[str, ...], exc: Exception) -> DataError:
    """Find the first line whose fields are missing or not numeric."""
    if isinstance(exc, pd.errors.ParserError):
        return DataError(f"{path}: malformed line: {exc}")
    with pd.read_csv(
        path,
        sep=spec.sep,
        header=None,
        skiprows=spec.first_line - 1,
        dtype=str,
        keep_default_na=False,
        encoding=spec.encoding,
        chunksize=_DIAG_CHUNK,
        engine="c",
    ) as reader:
        offset = spec.first_line
        for chunk in reader:
            found = _first_bad_cell(path, chunk, spec, names, offset)
            if found is not None:
                return found
            offset += len(chunk)
    return DataError(f"{path}: could not parse: {exc}")


def _first_bad_cell(
    path: Path, chunk: pd.DataFrame, spec: TableSpec, names: tuple[str, ...], offset: int
) -> DataError | None:
    if chunk.shape[1] <= max(spec.usecols):
        return DataError(f"{path}:{offset}: expected {max(spec.usecols) + 1} fields, got {chunk.shape[1]}")
    for pos, name in zip(spec.usecols, names, strict=True):
        raw = chunk[pos]
        bad = np.flatnonzero(pd.to_numeric(raw, errors="coerce").isna().to_numpy())
        if bad.size:
            row = int(bad[0])
            value = raw.iloc[row]
            what = "is missing" if pd.isna(value) or value == "" else f"is not numeric: {value!r}"
            return DataError(f"{path}:{offset + row}: column {name!r} {what}")
    return None


def check_ratings(path: Path, ratings: pd.DataFrame, first_line: int) -> None:
    """Raise on negative ids or stars outside 0.5–5, naming the line."""
    stars = ratings["rating"].to_numpy()
    bad = np.flatnonzero(~((stars >= MIN_STARS) & (stars <= MAX_STARS)))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}:{first_line + row}: column 'rating' is {stars[row]:g}, outside {MIN_STARS}–{MAX_STARS}"
            f" ({bad.size} such rows)"
        )
    for column in ("user_id", "movie_id"):
        ids = ratings[column].to_numpy()
        neg = np.flatnonzero(ids < 0)
        if neg.size:
            row = int(neg[0])
            raise DataError(f"{path}:{first_line + row}: column {column!r} is negative: {ids[row]}")


def check_known_movies(path: Path, ratings: pd.DataFrame, movie_ids: np.ndarray, first_line: int) -> None:
    """Raise when a rating names a movie absent from the movie table."""
    rated = ratings["movie_id"].to_numpy()
    unknown = np.flatnonzero(~np.isin(rated, movie_ids))
    if unknown.size:
        row = int(unknown[0])
        count = np.unique(rated[unknown]).size
        raise DataError(
            f"{path}:{first_line + row}: movie {int(rated[row])} is not in the movie table"
            f" ({unknown.size} ratings name {count} unknown movies)"
        )


def drop_duplicate_pairs(path: Path, ratings: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Keep the latest rating of each (user, movie) pair; return a note if any were dropped."""
    key = ratings["user_id"].to_numpy().astype(np.int64) << 32 | ratings["movie_id"].to_numpy().astype(np.int64)
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if not dup.any():
        return ratings, None
    order = np.lexsort((ratings["timestamp"].to_numpy(), key))  # by pair, then time
    latest = pd.Series(key[order]).duplicated(keep="last").to_numpy()
    kept = np.sort(order[~latest])
    dropped = len(ratings) - kept.size
    note = (
        f"{path}: {dropped} duplicate (user, movie) ratings dropped, kept the latest of each"
        f" (first duplicate pair: user {int(key[dup][0] >> 32)}, movie {int(key[dup][0] & 0xFFFFFFFF)})"
    )
    return ratings.iloc[kept].reset_index(drop=True), note
