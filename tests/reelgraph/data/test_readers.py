"""Readers for every layout, and a clear error for each kind of bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from reelgraph.data import detect_layout, read_movielens
from reelgraph.errors import DataError
from reelgraph.options import Layout
from tests.movielens_fixtures import GENRES, ML100K_GENRES, make_tiny


def test_csv_layout_reads_compact_dtypes(tiny_csv: Path) -> None:
    data = read_movielens(tiny_csv)
    tiny = make_tiny()
    assert data.layout is Layout.CSV
    assert len(data.ratings) == len(tiny.ratings)
    assert [str(t) for t in data.ratings.dtypes] == ["int32", "int32", "float32", "int64"]
    assert data.genre_names == tuple(sorted(GENRES))
    assert data.genres.shape == (len(tiny.movies), len(GENRES))
    first = data.movies.iloc[0]
    assert first["title"] == "Movie 0, Part 0 (1980)"
    assert first["year"] == 1980
    # movie 0 is Action (+ Comedy since 0 % 3 == 0)
    names = [data.genre_names[j] for j in np.flatnonzero(data.genres[0])]
    assert names == ["Action", "Comedy"]


def test_100k_layout_reads_latin1_and_split_files(tiny_100k: Path) -> None:
    data = read_movielens(tiny_100k)
    assert data.layout is Layout.ML100K
    assert data.genre_names == ML100K_GENRES
    assert data.movies["title"].iloc[0] == "Movie 0 Part 0 é (1980)"
    assert data.movies["year"].iloc[0] == 1980
    base = read_movielens(tiny_100k, "u1.base")
    test = read_movielens(tiny_100k, "u1.test")
    assert len(base.ratings) + len(test.ratings) == len(data.ratings)
    assert base.fingerprint != data.fingerprint


def test_dat_layout_reads_double_colon_files(tiny_dat: Path) -> None:
    data = read_movielens(tiny_dat)
    assert data.layout is Layout.DAT
    assert len(data.ratings) == len(make_tiny(half_stars=False).ratings)
    assert data.movies["title"].iloc[0] == "Movie 0, Part 0 (1980): Redux é"
    assert np.isnan(data.movies["year"].iloc[0])  # year is not at the end of this title


def test_detect_layout_names_what_it_expected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no MovieLens layout found"):
        detect_layout(tmp_path)
    with pytest.raises(DataError, match="not found"):
        detect_layout(tmp_path / "absent")


def test_missing_ratings_file_is_named(tiny_csv: Path) -> None:
    (tiny_csv / "ratings.csv").unlink()
    with pytest.raises(DataError, match=r"ratings\.csv: file not found"):
        read_movielens(tiny_csv)


def test_wrong_columns_are_reported(tiny_csv: Path) -> None:
    path = tiny_csv / "ratings.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["user,movie,rating,timestamp", *lines[1:]]) + "\n")
    with pytest.raises(DataError, match=r"ratings\.csv:1: wrong columns"):
        read_movielens(tiny_csv)


def _replace_line(path: Path, lineno: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("layout", "name", "lineno", "text", "message"),
    [
        ("csv", "ratings.csv", 5, "abc,10,4.0,964982703", r"ratings\.csv:5: column 'user_id' is not numeric: 'abc'"),
        ("100k", "u.data", 3, "1\tx10\t4\t964982703", r"u\.data:3: column 'movie_id' is not numeric"),
        ("csv", "ratings.csv", 7, "1,10,7.5,964982703", r"ratings\.csv:7: column 'rating' is 7.5, outside 0.5–5"),
        ("dat", "ratings.dat", 4, "1::10::4", r"ratings\.dat:4: column 'timestamp' is missing"),
        ("csv", "ratings.csv", 2, "1,99999,4.0,964982703", r"ratings\.csv:2: movie 99999 is not in the movie table"),
    ],
    ids=[
        "non_numeric_id_names_line_and_column",
        "non_numeric_id_in_tab_file",
        "rating_out_of_range_names_line",
        "too_few_fields_is_reported",
        "unknown_movie_names_line",
    ],
)
def test_bad_rating_line_is_named(
    request: pytest.FixtureRequest, layout: str, name: str, lineno: int, text: str, message: str
) -> None:
    root: Path = request.getfixturevalue(f"tiny_{layout}")
    _replace_line(root / name, lineno, text)
    with pytest.raises(DataError, match=message):
        read_movielens(root)


def test_duplicates_keep_latest_and_say_so(tiny_csv: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tiny_csv / "ratings.csv"
    with path.open("a") as fh:
        fh.write("1,10,0.5,2000000000\n1,10,5.0,1000\n")
    with caplog.at_level(logging.WARNING):
        data = read_movielens(tiny_csv)
    pair = data.ratings[(data.ratings.user_id == 1) & (data.ratings.movie_id == 10)]
    assert len(pair) == 1
    assert pair["rating"].iloc[0] == 0.5
    assert len(data.notes) == 1
    assert "duplicate" in data.notes[0]
    assert "duplicate" in caplog.text


def test_duplicate_movie_rows_are_refused(tiny_csv: Path) -> None:
    with (tiny_csv / "movies.csv").open("a") as fh:
        fh.write("10,Again (1999),Drama\n")
    with pytest.raises(DataError, match="movie 10 is listed twice"):
        read_movielens(tiny_csv)


def test_fingerprint_changes_with_any_byte(tiny_csv: Path) -> None:
    before = read_movielens(tiny_csv).fingerprint
    path = tiny_csv / "movies.csv"
    path.write_text(path.read_text().replace("Movie 3", "Movie 3 "))
    assert read_movielens(tiny_csv).fingerprint != before
