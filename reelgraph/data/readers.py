"""Readers for every MovieLens layout, detected from the files present."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from reelgraph.data.dataset import MovieLens
from reelgraph.data.fingerprint import fingerprint_files
from reelgraph.data.tables import (
    RATING_COLUMNS,
    RATING_DTYPES,
    TableSpec,
    check_header,
    check_known_movies,
    check_ratings,
    drop_duplicate_pairs,
    read_numeric,
    require_file,
)
from reelgraph.errors import DataError
from reelgraph.options import Layout

log = logging.getLogger(__name__)

_YEAR = re.compile(r"\((\d{4})\)\s*$")
# ml-100k ships u.genre; this is its content, used only when the file is absent.
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
DEFAULT_RATINGS = {Layout.CSV: "ratings.csv", Layout.ML100K: "u.data", Layout.DAT: "ratings.dat"}
_RATING_SPECS = {
    Layout.CSV: TableSpec(",", ("userId", "movieId", "rating", "timestamp"), (0, 1, 2, 3)),
    Layout.ML100K: TableSpec("\t", None, (0, 1, 2, 3)),
    Layout.DAT: TableSpec(":", None, (0, 2, 4, 6), "latin-1"),
}


def detect_layout(root: Path) -> Layout:
    """Tell the layout from the files present, or raise naming what was expected."""
    if not root.is_dir():
        raise DataError(f"{root}: data directory not found")
    if (root / "movies.csv").is_file():
        return Layout.CSV
    if (root / "u.item").is_file():
        return Layout.ML100K
    if (root / "movies.dat").is_file():
        return Layout.DAT
    raise DataError(
        f"{root}: no MovieLens layout found; expected movies.csv + ratings.csv (ml-latest, ml-25m, "
        "ml-32m), u.item + u.data (ml-100k) or movies.dat + ratings.dat (ml-1m, ml-10m)"
    )


def read_movielens(root: Path | str, ratings_file: str | None = None) -> MovieLens:
    """Read a MovieLens directory of any layout.

    Args:
        root: the extracted dataset directory.
        ratings_file: ratings file name inside ``root``; defaults to the
            layout's full ratings (``ratings.csv``, ``u.data``, ``ratings.dat``).
            Use e.g. ``"u1.base"`` to train on a canonical ml-100k split.

    Raises:
        DataError: naming the file and line of the first problem found.
    """
    root = Path(root)
    layout = detect_layout(root)
    movies, genres, genre_names, movie_files = _MOVIE_READERS[layout](root)
    name = ratings_file or DEFAULT_RATINGS[layout]
    path = root / name
    spec = _RATING_SPECS[layout]
    ratings = read_numeric(path, spec, RATING_COLUMNS, RATING_DTYPES)
    check_ratings(path, ratings, spec.first_line)
    check_known_movies(path, ratings, movies["movie_id"].to_numpy(), spec.first_line)
    ratings, note = drop_duplicate_pairs(path, ratings)
    if note:
        log.warning(note)
    files = (*movie_files, name)
    return MovieLens(
        layout=layout,
        ratings=ratings,
        movies=movies,
        genres=genres,
        genre_names=genre_names,
        fingerprint=fingerprint_files(root, files),
        files=files,
        notes=(note,) if note else (),
    )


def parse_years(titles: pd.Series) -> np.ndarray:
    """Release year from a title ending in ``(YYYY)``; NaN when absent."""
    return titles.str.extract(_YEAR, expand=False).astype("float32").to_numpy()


def _finish_movies(path: Path, ids: pd.Series, titles: pd.Series) -> pd.DataFrame:
    numeric = pd.to_numeric(ids, errors="coerce")
    bad = np.flatnonzero(numeric.isna().to_numpy())
    if bad.size:
        raise DataError(f"{path}: row {int(bad[0]) + 1}: column 'movieId' is not numeric: {ids.iloc[bad[0]]!r}")
    movies = pd.DataFrame(
        {"movie_id": numeric.astype("int32").to_numpy(), "title": titles.fillna("").astype(str).to_numpy()}
    )
    movies["year"] = parse_years(movies["title"])
    dup = movies["movie_id"].duplicated()
    if dup.any():
        raise DataError(f"{path}: movie {int(movies['movie_id'][dup].iloc[0])} is listed twice")
    return movies


def _split_genres(genres: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    dummies = genres.fillna("").astype(str).str.get_dummies(sep="|")
    return dummies.to_numpy(dtype=np.uint8), tuple(str(c) for c in dummies.columns)


def _read_csv_movies(root: Path) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    path = require_file(root / "movies.csv")
    check_header(path, TableSpec(",", ("movieId", "title", "genres"), (0, 1, 2)))
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c")
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed line: {exc}") from exc
    movies = _finish_movies(path, raw["movieId"], raw["title"])
    genres, names = _split_genres(raw["genres"])
    return movies, genres, names, ("movies.csv",)


def _read_dat_movies(root: Path) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    path = require_file(root / "movies.dat")
    rows = []
    with path.open(encoding="latin-1") as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("::")
            if len(fields) != 3:
                raise DataError(f"{path}:{lineno}: expected 3 '::'-separated fields, got {len(fields)}")
            rows.append(fields)
    raw = pd.DataFrame(rows, columns=["movieId", "title", "genres"])
    movies = _finish_movies(path, raw["movieId"], raw["title"])
    genres, names = _split_genres(raw["genres"])
    return movies, genres, names, ("movies.dat",)


def _read_100k_movies(root: Path) -> tuple[pd.DataFrame, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    path = require_file(root / "u.item")
    files = ["u.item"]
    names: tuple[str, ...] = ML100K_GENRES
    if (root / "u.genre").is_file():
        names = _read_100k_genre_names(root / "u.genre")
        files.append("u.genre")
    width = 5 + len(names)
    try:
        raw = pd.read_csv(path, sep="|", header=None, dtype=str, keep_default_na=False, encoding="latin-1")
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed line: {exc}") from exc
    if raw.shape[1] != width:
        raise DataError(f"{path}:1: expected {width} '|'-separated fields, got {raw.shape[1]}")
    movies = _finish_movies(path, raw[0], raw[1])
    flags = raw.iloc[:, 5:].apply(pd.to_numeric, errors="coerce")
    if flags.isna().to_numpy().any():
        row = int(np.flatnonzero(flags.isna().to_numpy().any(axis=1))[0])
        raise DataError(f"{path}:{row + 1}: genre flags must be 0 or 1")
    return movies, flags.to_numpy(dtype=np.uint8), names, tuple(files)


def _read_100k_genre_names(path: Path) -> tuple[str, ...]:
    pairs = []
    for lineno, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        name, _, index = line.partition("|")
        if not index.strip().isdigit():
            raise DataError(f"{path}:{lineno}: expected 'name|index', got {line!r}")
        pairs.append((int(index), name))
    return tuple(name for _, name in sorted(pairs))


_MOVIE_READERS = {Layout.CSV: _read_csv_movies, Layout.ML100K: _read_100k_movies, Layout.DAT: _read_dat_movies}
