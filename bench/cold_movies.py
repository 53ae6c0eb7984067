"""New-movie benchmarks (E6, E4-cold) with their baselines in the same run.

Run: ``python -m bench.cold_movies [--quick] [--seed 0]``. Reads
``$REELGRAPH_DATA_DIR/ml-latest-small`` (``tags.csv`` included).

* **E6** (who rates a new movie): 5 % of the movies with at least 10 ratings are
  held out of training entirely — their catalogue rows stay, their ratings and
  their ``tags.csv`` rows go (tags are user activity and would reveal who
  watched them). The content model is fitted on the rest (``trainer.content``),
  written into a real bundle and loaded with ``Scorer.load``; each held-out movie,
  given as its title, genres and year, ranks every stored user by
  ``link_probability_new_movie``. Reported: the mean over held-out movies of the
  AUC of the users who rated it, next to "user activity" (``log(1 + n_u)``) and
  "activity × genre affinity" (``log(1 + n_u) + log`` of the share of the user's
  ratings that fall on movies sharing a genre with it, ``(hits + ½) / (n_u + 1)``).
  "content, no title" scores the same movies without their titles.
* **E4-cold** (a new movie's mean rating): MSE of ``movie_mean_rating_new_movie``
  against each held-out movie's mean stars, next to the genre mean (the mean
  stars of the training ratings of movies sharing a genre, averaged over the
  movie's genres) and the global mean.
* **Stars-cold**: RMSE of ``predict_rating_new_movie`` on the held-out movies'
  ratings, next to the user's mean stars and "user mean + genre-mean offset"
  (genre mean minus the global mean).

The model's settings are chosen inside ``fit_content`` on validation movies
drawn from the training part only; the held-out movies never choose anything.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.common import quality_parser, small_data_dir
from reelgraph.bundle.writer import write_bundle
from reelgraph.data.dataset import MovieLens
from reelgraph.data.readers import read_movielens
from reelgraph.graphs.hetero import build_rating_graph
from reelgraph.scoring import Scorer
from trainer.assemble import build_manifest, graph_tensors, plot_files, weight_tensors
from trainer.content import fit_content, per_movie_auc, read_tags
from trainer.hyper import ContentHyper
from trainer.progress import Progress

MIN_RATINGS = 10  # held-out movies are drawn from movies with at least this many ratings
HOLD_OUT = 0.05  # share of those movies held out


@dataclass(frozen=True)
class Split:
    """The held-out movies (MovieLens ids) and the training data without them."""

    held: np.ndarray
    train: MovieLens
    tags: pd.DataFrame | None
    full: MovieLens


def split(data: MovieLens, tags: pd.DataFrame | None, seed: int) -> Split:
    """Hold out ``HOLD_OUT`` of the movies with ≥ ``MIN_RATINGS`` ratings: their ratings and tags."""
    counts = data.ratings["movie_id"].value_counts()
    pool = np.sort(counts.index[counts >= MIN_RATINGS].to_numpy())
    held = np.sort(np.random.default_rng(seed).choice(pool, int(pool.size * HOLD_OUT), replace=False))
    keep = ~data.ratings["movie_id"].isin(held)
    kept_tags = None if tags is None else tags[~tags["movie_id"].isin(held)]
    return Split(held, data.with_ratings(data.ratings[keep]), kept_tags, data)


def bundle_scorer(s: Split, hp: ContentHyper, seed: int, progress: Progress) -> Scorer:
    """Fit the content model on the training part, write a real bundle, load it through the public Scorer."""
    rg = build_rating_graph(s.train)
    result = fit_content(s.train, rg, s.tags, hp, seed, progress)
    root = Path(tempfile.mkdtemp(prefix="rg-bench-cold-"))
    path = write_bundle(
        root,
        build_manifest("bench-cold", s.train, rg, [result]),
        weight_tensors([result]),
        graph_tensors(s.train, rg),
        plot_files([result]),
    )
    return Scorer.load(path)


@dataclass(frozen=True)
class Movie:
    """One held-out movie: its catalogue row and who rated it (full data)."""

    movie_id: int
    title: str
    year: int | None
    genres: list[str]
    genre_mask: np.ndarray
    raters: np.ndarray
    stars: np.ndarray


def held_movies(s: Split) -> list[Movie]:
    """The held-out movies' catalogue rows and ratings."""
    movies = s.full.movies.reset_index(drop=True)
    row_of = {int(m): i for i, m in enumerate(movies["movie_id"].to_numpy())}
    by_movie = s.full.ratings[s.full.ratings["movie_id"].isin(s.held)].groupby("movie_id")
    out = []
    for _, group in by_movie:
        mid = int(group["movie_id"].to_numpy()[0])
        i = row_of[mid]
        mask = s.full.genres[i].astype(bool)
        year = movies["year"].iloc[i]
        out.append(
            Movie(
                mid,
                str(movies["title"].iloc[i]),
                None if np.isnan(year) else int(year),
                [g for g, on in zip(s.full.genre_names, mask, strict=True) if on],
                mask,
                group["user_id"].to_numpy(np.int64),
                group["rating"].to_numpy(np.float64),
            )
        )
    return out


class Baselines:
    """User activity, genre affinity and genre means from the training ratings."""

    def __init__(self, s: Split, user_ids: np.ndarray) -> None:
        r = s.train.ratings
        movie_row = pd.Series(np.arange(len(s.full.movies)), index=s.full.movies["movie_id"].to_numpy())
        rows = movie_row.loc[r["movie_id"].to_numpy()].to_numpy()
        user_pos = pd.Series(np.arange(user_ids.size), index=user_ids).loc[r["user_id"].to_numpy()].to_numpy()
        self.genres = s.full.genres.astype(bool)
        self.rated_genres = self.genres[rows]  # per rating: the rated movie's genres
        self.user_pos = user_pos
        self.degree = np.bincount(user_pos, minlength=user_ids.size).astype(np.float64)
        self.stars = r["rating"].to_numpy(np.float64)
        self.user_mean = np.bincount(user_pos, self.stars, user_ids.size) / np.maximum(self.degree, 1)
        self.global_mean = float(self.stars.mean())
        hits = self.rated_genres.sum(axis=0)
        self.genre_mean = np.where(
            hits > 0, (self.rated_genres * self.stars[:, None]).sum(axis=0) / np.maximum(hits, 1), self.global_mean
        )

    def activity(self) -> np.ndarray:
        """``log(1 + n_u)`` per user."""
        out: np.ndarray = np.log1p(self.degree)
        return out

    def activity_genre(self, mask: np.ndarray) -> np.ndarray:
        """``log(1 + n_u) + log((hits + ½) / (n_u + 1))``: hits = the user's ratings sharing a genre with ``mask``."""
        shares = (self.rated_genres & mask).any(axis=1).astype(np.float64)
        hits = np.bincount(self.user_pos, shares, self.degree.size)
        out: np.ndarray = self.activity() + np.log((hits + 0.5) / (self.degree + 1.0))
        return out

    def genre_mean_of(self, mask: np.ndarray) -> float:
        """Mean of the genre means of the movie's genres (the global mean without genres)."""
        return float(self.genre_mean[mask].mean()) if mask.any() else self.global_mean


def e6(scorer: Scorer, movies: list[Movie], base: Baselines) -> dict[str, float]:
    """Mean per-movie AUC of each method over the held-out movies."""
    user_ids = scorer.users.ids
    labels = np.stack([np.isin(user_ids, m.raters) for m in movies]).astype(np.float64)
    methods = {
        "user activity (log degree)": np.tile(base.activity(), (len(movies), 1)),
        "activity × genre affinity": np.stack([base.activity_genre(m.genre_mask) for m in movies]),
        "content, no title": np.stack([scorer.link_probability_new_movie(user_ids, m.genres, m.year) for m in movies]),
        "content (reelgraph)": np.stack(
            [scorer.link_probability_new_movie(user_ids, m.genres, m.year, m.title) for m in movies]
        ),
    }
    return {name: float(np.nanmean(per_movie_auc(scores, labels))) for name, scores in methods.items()}


def e4_cold(scorer: Scorer, movies: list[Movie], base: Baselines) -> dict[str, float]:
    """MSE of each method's mean stars for the held-out movies."""
    truth = np.array([m.stars.mean() for m in movies])
    preds = {
        "global mean": np.full(truth.size, base.global_mean),
        "genre mean": np.array([base.genre_mean_of(m.genre_mask) for m in movies]),
        "content (reelgraph)": np.array(
            [scorer.movie_mean_rating_new_movie(m.genres, m.year, m.title) for m in movies]
        ),
    }
    return {name: float(np.mean((p - truth) ** 2)) for name, p in preds.items()}


def stars_cold(scorer: Scorer, movies: list[Movie], base: Baselines) -> dict[str, float]:
    """RMSE of each method's stars on the held-out movies' ratings (stored raters only)."""
    pos = pd.Series(np.arange(scorer.users.ids.size), index=scorer.users.ids)
    errors: dict[str, list[np.ndarray]] = {"user mean": [], "user mean + genre offset": [], "content (reelgraph)": []}
    for m in movies:
        known = np.isin(m.raters, scorer.users.ids)
        users, truth = m.raters[known], m.stars[known]
        u = pos.loc[users].to_numpy()
        offset = base.genre_mean_of(m.genre_mask) - base.global_mean
        errors["user mean"].append(base.user_mean[u] - truth)
        errors["user mean + genre offset"].append(np.clip(base.user_mean[u] + offset, 0.5, 5) - truth)
        pred = scorer.predict_rating_new_movie(users, m.genres, m.year, m.title)
        errors["content (reelgraph)"].append(pred - truth)
    return {name: float(np.sqrt(np.mean(np.concatenate(e) ** 2))) for name, e in errors.items()}


def render(title: str, metric: str, figures: dict[str, float], higher_is_better: bool) -> str:
    """A markdown table; the last column compares with the best baseline (every row but reelgraph's)."""
    baselines = [v for k, v in figures.items() if not k.startswith("content")]
    best = max(baselines) if higher_is_better else min(baselines)
    head = f"\n{title}\n\n| method | {metric} | vs best baseline |\n|---|---:|---:|"
    rows = [f"| {name} | {value:.4f} | {value / best:.3f}× |" for name, value in figures.items()]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    """Run E6, E4-cold and stars-cold; print the tables; exit 1 when E6 misses 1.05× the better baseline."""
    args = quality_parser(__doc__, "a smaller hyper-parameter grid").parse_args(argv)
    data_dir = small_data_dir()
    if data_dir is None:
        return 2
    t0 = time.perf_counter()
    s = split(read_movielens(data_dir), read_tags(data_dir), args.seed)
    quick = ContentHyper(
        ridge=(300.0,), year_weight=(2.0,), title_weight=(0.5,), tag_weight=(1.0,), activity=(0.0,), min_ratings=(10,)
    )
    hp = quick if args.quick else ContentHyper()
    scorer = bundle_scorer(s, hp, args.seed, Progress(not args.quiet))
    movies = held_movies(s)
    base = Baselines(s, scorer.users.ids)
    auc = e6(scorer, movies, base)
    print(f"\n{len(movies)} held-out movies (≥ {MIN_RATINGS} ratings), {scorer.users.ids.size} users")
    print(render("E6: who rates a new movie", "mean per-movie AUC", auc, higher_is_better=True))
    print(render("E4-cold: a new movie's mean stars", "MSE", e4_cold(scorer, movies, base), higher_is_better=False))
    print(render("stars for new movies", "RMSE", stars_cold(scorer, movies, base), higher_is_better=False))
    entry = scorer.bundle.manifest.models["content"]
    c, m = entry.config, entry.metrics
    stored = sum(t.numel() for t in scorer.bundle.model_weights("content").values())
    print(
        f"\nselected on the training side's validation movies: λ={m['ridge']:g} w_year={c['year_weight']:g} "
        f"w_genre={c['genre_weight']:g} w_title={c['title_weight']:g} "
        f"w_tag={c['tag_weight']:g} β={c['activity']:g}; mean λ={m['mean_ridge']:g} "
        f"(≥ {m['mean_min_ratings']:g} ratings), star λ={m['star_ridge']:g} (≥ {m['star_min_ratings']:g}), "
        f"user λ={m['user_ridge']:g}; rank {c['rank']}, {stored / 1e6:.2f} M stored floats; "
        f"fit {m['fit_seconds']:.1f} s, total {time.perf_counter() - t0:.0f} s; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}"
        f"{', --quick' if args.quick else ''}"
    )
    better = max(auc["user activity (log degree)"], auc["activity × genre affinity"])
    return 0 if auc["content (reelgraph)"] >= 1.05 * better else 1


if __name__ == "__main__":
    sys.exit(main())
