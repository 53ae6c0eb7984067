"""Tiny MovieLens-format datasets written by the tests (never real data).

Ratings are synthetic with structure: two taste groups of users who prefer
different genres, so models have something to learn in a few steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENRES = ("Action", "Comedy", "Drama", "Sci-Fi")
ML100K_GENRES = ("unknown", "Action", "Comedy", "Drama", "Sci-Fi")


@dataclass(frozen=True)
class Tiny:
    """The content written: ``ratings`` rows are (user, movie, stars, time)."""

    ratings: list[tuple[int, int, float, int]]
    movies: list[tuple[int, str, list[str]]]


def make_tiny(n_users: int = 24, n_movies: int = 30, seed: int = 0, half_stars: bool = True) -> Tiny:
    """Two user groups; group g rates movies of its favourite genres high."""
    rng = np.random.default_rng(seed)
    movies = []
    for i in range(n_movies):
        mid = 10 + 3 * i  # non-contiguous ids on purpose
        genres = [GENRES[i % 4]] + ([GENRES[(i + 1) % 4]] if i % 3 == 0 else [])
        movies.append((mid, f"Movie {i}, Part {i % 3} ({1980 + i})", genres))
    ratings = []
    for u in range(1, n_users + 1):
        group = u % 2
        chosen = rng.choice(n_movies, size=rng.integers(8, 16), replace=False)
        for i in chosen:
            liked = (i % 4 in (0, 3)) == (group == 0)
            stars = float(np.clip(rng.normal(4.2 if liked else 2.3, 0.6), 1, 5))
            stars = round(stars * 2) / 2 if half_stars else float(round(stars))
            ratings.append((u, movies[i][0], stars, 900_000_000 + int(rng.integers(0, 10**8))))
    return Tiny(ratings, movies)


def write_csv_layout(root: Path, tiny: Tiny) -> Path:
    """ml-latest-small layout: ratings.csv, movies.csv (titles with commas quoted)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["userId,movieId,rating,timestamp"] + [f"{u},{m},{r:.1f},{t}" for u, m, r, t in tiny.ratings]
    (root / "ratings.csv").write_text("\n".join(lines) + "\n")
    movies = ["movieId,title,genres"] + [f'{m},"{title}",{"|".join(g)}' for m, title, g in tiny.movies]
    (root / "movies.csv").write_text("\n".join(movies) + "\n")
    return root


def write_100k_layout(root: Path, tiny: Tiny) -> Path:
    """ml-100k layout: u.data (tabs), u.item ('|', latin-1), u.genre, u1.base/u1.test."""
    root.mkdir(parents=True, exist_ok=True)
    rows = [f"{u}\t{m}\t{int(r)}\t{t}" for u, m, r, t in tiny.ratings]
    (root / "u.data").write_text("\n".join(rows) + "\n")
    cut = len(rows) * 4 // 5
    (root / "u1.base").write_text("\n".join(rows[:cut]) + "\n")
    (root / "u1.test").write_text("\n".join(rows[cut:]) + "\n")
    (root / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES)) + "\n")
    items = []
    for m, title, genres in tiny.movies:
        flags = "|".join("1" if g in genres else "0" for g in ML100K_GENRES)
        items.append(f"{m}|{title.replace(',', '').replace(' (', ' é (')}|01-Jan-1995||http://x|{flags}")
    (root / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    return root


def write_dat_layout(root: Path, tiny: Tiny) -> Path:
    """ml-1m layout: ratings.dat and movies.dat, '::'-separated, latin-1."""
    root.mkdir(parents=True, exist_ok=True)
    rows = [f"{u}::{m}::{int(r)}::{t}" for u, m, r, t in tiny.ratings]
    (root / "ratings.dat").write_text("\n".join(rows) + "\n")
    movies = [f"{m}::{title}: Redux é::{'|'.join(g)}" for m, title, g in tiny.movies]
    (root / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode("latin-1"))
    return root
