"""Fit the content model (``reelgraph.models.content``) in closed form, selected on held-out movies.

1. Hold out ``val_fraction`` of the movies with at least ``val_min_ratings``
   ratings, every rating of them (and their tags): validation movies are new movies.
2. On the other rated movies, solve ``W = (FᵀF + λI)⁻¹FᵀXᵀ`` per candidate (the
   Gram matrix computed once; block weights rescale it; at most
   ``max_val_users`` sampled users); pick ``λ``, then the title and tag
   weights, then the activity weight ``β``, by the validation movies' mean
   per-movie AUC over users.
3. Calibrate ``P(rate) = σ(a·s + c)`` on the validation movies (raters against
   as many random users).
4. Pick the movie-mean ridge and its least rating count by validation MSE of
   the movies' mean stars, the stars' movie term likewise by validation RMSE of
   "user mean + movie term", then the per-user star ridge by validation RMSE.
   Every ridge grid may end in a value so large that the term is off, leaving
   the genre-mean baseline the model is built on.
5. Refit every array on all rated movies with the chosen values; the link
   weights keep their best rank-``r`` part (computed in user chunks, so the
   dense ``dim × users`` matrix is never formed).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import linalg
from scipy.stats import rankdata

from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.hetero import RatingGraph
from reelgraph.models.content import ContentConfig, ContentModel, content_matrix, genre_base, year_knots_until
from reelgraph.options import ModelKind
from trainer.hyper import ContentHyper
from trainer.loop import Curve
from trainer.progress import Progress
from trainer.ranking import _logistic
from trainer.result import TrainResult

_MEAN_SHRINK = 5.0  # in the movie-mean ridge, a mean backed by n ratings weighs n / (n + 5)
_USER_CHUNK = 4096  # users per block in the per-user solves and the rank-r link refit
_MOVIE_CHUNK = 8192  # movies per block of outer products in the per-user star solves


@dataclass(frozen=True)
class MovieContent:
    """Catalogue inputs of every bundle movie, in bundle (movie index) order."""

    genres: np.ndarray
    years: np.ndarray
    titles: list[str]
    tags: list[list[str]]


def read_tags(root: Path) -> pd.DataFrame | None:
    """``tags.csv`` of a MovieLens directory as columns ``movie_id``, ``tag``; None when absent."""
    path = Path(root) / "tags.csv"
    if not path.is_file():
        return None
    tags = pd.read_csv(path, usecols=["movieId", "tag"], dtype={"movieId": "int64", "tag": "string"})
    return tags.rename(columns={"movieId": "movie_id"}).dropna()


def movie_content(data: MovieLens, rg: RatingGraph, tags: pd.DataFrame | None) -> MovieContent:
    """Genres, years, titles and tags of ``rg``'s movies (tags of movies outside it are ignored)."""
    index = rg.movies.index(data.movies["movie_id"].to_numpy().astype(np.int64))
    order = np.argsort(index)
    per_movie: list[list[str]] = [[] for _ in range(len(rg.movies))]
    if tags is not None:
        ids = tags["movie_id"].to_numpy().astype(np.int64)
        known = np.isin(ids, rg.movies.ids)
        for m, tag in zip(rg.movies.index(ids[known]), tags["tag"].to_numpy()[known], strict=True):
            per_movie[int(m)].append(str(tag))
    return MovieContent(
        genres=np.asarray(data.genres)[order],
        years=data.movies["year"].to_numpy(dtype=np.float64)[order],
        titles=[str(t) for t in data.movies["title"].to_numpy()[order]],
        tags=per_movie,
    )


def per_movie_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC of each row's ``scores`` for its 0/1 ``labels`` (ties count half); NaN without both classes."""
    ranks = rankdata(scores, axis=1)
    pos = labels.sum(axis=1)
    neg = labels.shape[1] - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc: np.ndarray = ((ranks * labels).sum(axis=1) - pos * (pos + 1) / 2) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


@dataclass(frozen=True)
class _Choice:
    ridge: float
    year_weight: float
    genre_weight: float
    title_weight: float
    tag_weight: float
    activity: float
    auc: float = 0.0


class _Ratings:
    """The rating edges as sparse matrices (movies × users) of a subset of movies."""

    def __init__(self, users: np.ndarray, movies: np.ndarray, stars: np.ndarray, shape: tuple[int, int]) -> None:
        self.seen = sp.csr_matrix((np.ones(users.size, np.float64), (movies, users)), shape=shape)
        self.stars = sp.csr_matrix((stars.astype(np.float64), (movies, users)), shape=shape)
        self.users, self.movies, self.values = users, movies, stars.astype(np.float64)

    def subset(self, keep: np.ndarray) -> _Ratings:
        """Only the ratings of movies where ``keep`` (a boolean mask over movies) holds."""
        sel = keep[self.movies]
        return _Ratings(self.users[sel], self.movies[sel], self.values[sel], self.seen.shape)

    @property
    def counts(self) -> np.ndarray:
        """Ratings per movie."""
        return np.asarray(self.seen.sum(axis=1)).ravel()

    @property
    def log_degree(self) -> np.ndarray:
        """``log(1 + n_u)`` per user."""
        out: np.ndarray = np.log1p(np.asarray(self.seen.sum(axis=0)).ravel())
        return out

    @property
    def means(self) -> np.ndarray:
        """Mean stars per movie (0 where unrated)."""
        out: np.ndarray = np.asarray(self.stars.sum(axis=1)).ravel() / np.maximum(self.counts, 1)
        return out

    @property
    def mean_stars(self) -> float:
        """``ȳ``: mean of all the ratings (3.5 without any)."""
        return float(self.values.mean()) if self.values.size else 3.5

    def user_means(self) -> np.ndarray:
        """Mean stars per user (``ȳ`` for a user without ratings here)."""
        n = np.bincount(self.users, minlength=self.seen.shape[1])
        total = np.bincount(self.users, self.values, self.seen.shape[1])
        out: np.ndarray = np.where(n > 0, total / np.maximum(n, 1), self.mean_stars)
        return out

    def genre_stars(self, genres: np.ndarray) -> np.ndarray:
        """Mean stars of the ratings of movies in each genre (``ȳ`` for a genre nobody rated); ``genres`` movies × G."""
        on = np.asarray(genres, np.float64)
        hits = on.T @ self.counts
        total = on.T @ np.asarray(self.stars.sum(axis=1)).ravel()
        out: np.ndarray = np.where(hits > 0, total / np.maximum(hits, 1), self.mean_stars)
        return out


class _LinkSystem:
    """``FᵀF`` and ``FᵀXᵀ`` (the ``users`` columns) of one movie subset at unit block weights; solves any rescaling."""

    def __init__(self, F: np.ndarray, r: _Ratings, rows: np.ndarray, users: np.ndarray) -> None:
        Fr = F[rows].astype(np.float64)
        self.gram = Fr.T @ Fr
        self.cross = np.asarray((r.seen[rows][:, users].T @ Fr).T)
        self.log_degree = r.log_degree[users]

    def solve(self, scale: np.ndarray, ridge: float) -> np.ndarray:
        """``W`` ``(d, users)`` for content columns multiplied by ``scale``."""
        A = self.gram * np.outer(scale, scale)
        A[np.diag_indices_from(A)] += ridge
        W: np.ndarray = np.linalg.solve(A, scale[:, None] * self.cross)
        return W


def _scale(cfg: ContentConfig, c: _Choice) -> np.ndarray:
    """Column scales of the block weights in ``c`` (features built at unit weights)."""
    genres = len(cfg.genre_names)
    s = np.ones(cfg.dim)
    s[1 : 1 + genres] = c.genre_weight
    s[1 + genres : cfg.base_dim] = c.year_weight
    s[cfg.base_dim : cfg.base_dim + cfg.title_dim] = c.title_weight
    s[cfg.base_dim + cfg.title_dim :] = c.tag_weight
    return s


def fit_content(
    data: MovieLens, rg: RatingGraph, tags: pd.DataFrame | None, hp: ContentHyper, seed: int, progress: Progress
) -> TrainResult:
    """Select on held-out movies, calibrate, then refit on all rated movies (module docstring)."""
    t0 = time.perf_counter()
    content = movie_content(data, rg, tags)
    e = rg.message_edges()
    ratings = _Ratings(
        e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.rating.numpy(), (len(rg.movies), len(rg.users))
    )
    rated = ratings.counts > 0
    known_years = content.years[rated & ~np.isnan(content.years)]
    base = ContentConfig(
        num_users=len(rg.users),
        genre_names=tuple(data.genre_names),
        year_knots=year_knots_until(known_years.max() if known_years.size else 2018.0),
        title_dim=hp.title_dim,
        tag_dim=hp.tag_dim if any(content.tags) else 0,
    )
    base = dataclasses.replace(base, rank=max(1, min(hp.rank, base.dim, base.num_users)))
    F = content_matrix(base, content.genres, content.years, content.titles, content.tags)
    val = _validation_movies(ratings.counts, hp, seed)
    fit_mask = rated & ~val
    fit = ratings.subset(fit_mask)
    held = ratings.subset(val)
    # A new movie has no tags yet (tags are user activity): validation movies are scored without theirs.
    F_val = F.copy()
    F_val[np.ix_(val, np.arange(base.base_dim + base.title_dim, base.dim))] = 0.0
    users = _user_sample(base.num_users, hp.max_val_users, seed)
    curve = Curve("val_auc")
    choice = _select_link(F_val, base, fit, held, val, users, hp, progress, curve)
    scale = _scale(base, choice).astype(np.float32)
    Fs, Fs_val = F * scale, F_val * scale
    W = _LinkSystem(Fs, fit, np.flatnonzero(fit_mask), users).solve(np.ones(base.dim), choice.ridge)
    calib = _calibrate(
        Fs_val[val] @ W + choice.activity * fit.log_degree[users], held.seen[val][:, users].toarray(), seed
    )
    stars = _select_stars(Fs_val, base, fit, held, val, hp, content.genres)
    progress.log(
        f"content: λ={choice.ridge:g} w_year={choice.year_weight:g} w_genre={choice.genre_weight:g} "
        f"w_title={choice.title_weight:g} w_tag={choice.tag_weight:g} "
        f"β={choice.activity:g} val AUC {choice.auc:.4f}; mean λ={stars.mean_ridge:g} (≥ {stars.mean_min} ratings) "
        f"MSE {stars.mean_mse:.4f}; star λ={stars.star_ridge:g} (≥ {stars.star_min}) RMSE {stars.star_rmse:.4f}; "
        f"user λ={stars.user_ridge:g} RMSE {stars.rmse:.4f}; refit on all rated movies"
    )
    everything = ratings.subset(rated)
    P, Q = _low_rank_link(Fs, everything, np.flatnonzero(rated), choice.ridge, base.rank)
    cfg = dataclasses.replace(
        base,
        genre_weight=choice.genre_weight,
        year_weight=choice.year_weight,
        title_weight=choice.title_weight,
        tag_weight=choice.tag_weight,
        activity=choice.activity,
        calib_scale=calib[0],
        calib_bias=calib[1],
        mean_stars=everything.mean_stars,
    )
    arrays = {
        "link_p": P,
        "link_q": Q,
        "log_degree": everything.log_degree,
        **_fit_stars(Fs, base, everything, stars, content.genres),
    }
    metrics = {
        "val_auc": choice.auc,
        "val_mean_mse": stars.mean_mse,
        "val_rmse": stars.rmse,
        "ridge": choice.ridge,
        "mean_ridge": stars.mean_ridge,
        "mean_min_ratings": float(stars.mean_min),
        "star_ridge": stars.star_ridge,
        "star_min_ratings": float(stars.star_min),
        "user_ridge": stars.user_ridge,
        "val_movies": float(val.sum()),
        "fit_seconds": time.perf_counter() - t0,
        "best_epoch": float(int(np.nanargmax(curve.metric))) if np.isfinite(curve.metric).any() else 0.0,
    }
    model = ContentModel.from_arrays(cfg, arrays)
    return TrainResult(ModelKind.CONTENT.value, model, cfg.to_dict(), hp.to_dict(), metrics, curve)


def _validation_movies(counts: np.ndarray, hp: ContentHyper, seed: int) -> np.ndarray:
    """Boolean mask of the held-out movies (seeded)."""
    pool = np.flatnonzero(counts >= hp.val_min_ratings)
    n = min(int(pool.size * hp.val_fraction), hp.max_val_movies)
    mask = np.zeros(counts.size, bool)
    mask[np.random.default_rng(seed).choice(pool, n, replace=False)] = True
    return mask


def _user_sample(n_users: int, most: int, seed: int) -> np.ndarray:
    """Sorted user indices the link search scores: all of them, or ``most`` drawn (seeded)."""
    if n_users <= most:
        return np.arange(n_users)
    return np.sort(np.random.default_rng(seed + 1).choice(n_users, most, replace=False))


def _select_link(
    F: np.ndarray,
    cfg: ContentConfig,
    fit: _Ratings,
    held: _Ratings,
    val: np.ndarray,
    users: np.ndarray,
    hp: ContentHyper,
    progress: Progress,
    curve: Curve,
) -> _Choice:
    """Greedy search: λ first (unit block weights, β = 0), then w_year, w_genre, w_title, w_tag, β."""
    system = _LinkSystem(F, fit, np.flatnonzero(fit.counts > 0), users)
    Fv = F[val].astype(np.float64)
    labels = held.seen[val][:, users].toarray()

    def auc(c: _Choice) -> _Choice:
        if not val.any():
            return dataclasses.replace(c, auc=float("nan"))
        scale = _scale(cfg, c)
        scores = (Fv * scale) @ system.solve(scale, c.ridge) + c.activity * system.log_degree
        return dataclasses.replace(c, auc=float(np.nanmean(per_movie_auc(scores, labels))))

    tag_grid = hp.tag_weight if cfg.tag_dim else (0.0,)
    fields = (
        ("ridge", hp.ridge),
        ("year_weight", hp.year_weight),
        ("genre_weight", hp.genre_weight),
        ("title_weight", hp.title_weight),
        ("tag_weight", tag_grid),
        ("activity", hp.activity),
    )
    # Start from the grids' values nearest unit weight and no activity term; every choice stays on its grid.
    start = {field: _nearest(grid, 0.0 if field == "activity" else 1.0) for field, grid in fields[1:]}
    best = _Choice(hp.ridge[0], auc=-1.0, **start)
    with progress.task("content: validation search", sum(len(grid) for _, grid in fields)) as advance:
        for field, grid in fields:
            for value in grid:
                c = auc(dataclasses.replace(best, **{field: value}))
                curve.loss.append(float("nan"))  # closed form: one point per candidate
                curve.metric.append(c.auc)
                advance(f"{field}={value:g} AUC {c.auc:.4f}")
                if c.auc > best.auc:  # a NaN AUC (no validation movies) never wins: the start stays
                    best = c
    return best if best.auc >= 0 else dataclasses.replace(best, auc=float("nan"))


def _nearest(grid: tuple[float, ...], value: float) -> float:
    return min(grid, key=lambda v: abs(v - value))


def _select(grid: tuple[float, ...], loss: Callable[[float], float]) -> tuple[float, float]:
    """The grid value with the lowest ``loss(value)`` (NaN losses lose), and that loss."""
    losses = [float(loss(v)) for v in grid]
    finite = [(x, v) for x, v in zip(losses, grid, strict=True) if np.isfinite(x)]
    if not finite:
        return grid[0], float("nan")
    x, v = min(finite)
    return v, x


def _low_rank_link(
    F: np.ndarray, r: _Ratings, rows: np.ndarray, ridge: float, rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(P, Q)`` with ``P · Q`` the best rank-``rank`` part of ``W = (FᵀF + λI)⁻¹FᵀXᵀ`` in the fitted scores.

    ``W = S·C`` (``S = (FᵀF + λI)⁻¹``, ``C = FᵀXᵀ``); the fitted scores ``F·W``
    have ``WᵀFᵀF W = BᵀB`` with ``B = Lᵀ C``, ``L Lᵀ = S FᵀF S``. The top right
    singular vectors ``V`` of ``B`` come from the ``dim × dim`` matrix ``B Bᵀ``,
    accumulated over user chunks; then ``P = S C V`` and ``Q = Vᵀ``.
    """
    Fr = F[rows].astype(np.float64)
    gram = Fr.T @ Fr
    d = gram.shape[0]
    S = np.linalg.inv(gram + ridge * np.eye(d))
    M = S @ gram @ S
    M = (M + M.T) / 2
    try:
        L = linalg.cholesky(M + (1e-12 * np.trace(M) / d + 1e-300) * np.eye(d), lower=True)
    except linalg.LinAlgError:  # numerically indefinite: the symmetric square root instead
        evals, evecs = np.linalg.eigh(M)
        L = evecs * np.sqrt(np.clip(evals, 0.0, None))
    X = r.seen[rows].tocsc()
    n_users = X.shape[1]
    chunks = [slice(s, min(s + _USER_CHUNK, n_users)) for s in range(0, n_users, _USER_CHUNK)]
    K = np.zeros_like(gram)
    for c in chunks:
        B = L.T @ np.asarray((X[:, c].T @ Fr).T)
        K += B @ B.T
    sig2, U = linalg.eigh(K, subset_by_index=[d - rank, d - 1])
    sig = np.sqrt(np.clip(sig2[::-1], 0.0, None))
    keep = sig > 1e-9 * max(float(sig.max(initial=0.0)), 1e-300)
    U_r = U[:, ::-1] * np.where(keep, 1.0 / np.where(keep, sig, 1.0), 0.0)
    Q = np.zeros((rank, n_users))
    SC_V = np.zeros((gram.shape[0], rank))
    for c in chunks:
        C = np.asarray((X[:, c].T @ Fr).T)
        Vc = U_r.T @ (L.T @ C)
        Q[:, c] = Vc
        SC_V += C @ Vc.T
    return S @ SC_V, Q


@dataclass(frozen=True)
class _Stars:
    """The chosen star settings and their validation losses."""

    mean_ridge: float
    mean_min: int
    mean_mse: float
    star_ridge: float
    star_min: int
    star_rmse: float
    user_ridge: float
    rmse: float


class _Offset:
    """Weighted ridge from content to a movie's mean stars minus its genre base.

    Each candidate least rating count keeps the movies with at least that many
    ratings; the Gram matrices are summed from disjoint count bands, so every
    movie's outer product is formed once.
    """

    def __init__(self, F: np.ndarray, r: _Ratings, base: np.ndarray, least: tuple[int, ...], by_rating: bool) -> None:
        edges = sorted({max(int(k), 1) for k in least})
        n_all = r.counts
        omega_all = n_all if by_rating else n_all / (n_all + _MEAN_SHRINK)
        y_all = omega_all * (r.means - base)
        self.systems: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        gram = np.zeros((F.shape[1], F.shape[1]))
        cross = np.zeros(F.shape[1])
        for lo, hi in reversed(list(zip(edges, [*edges[1:], np.inf], strict=True))):
            rows = np.flatnonzero((n_all >= lo) & (n_all < hi))
            Fr = F[rows].astype(np.float64)
            gram = gram + (Fr * omega_all[rows, None]).T @ Fr
            cross = cross + Fr.T @ y_all[rows]
            self.systems[lo] = (gram, cross)

    def solve(self, least: int, ridge: float) -> np.ndarray:
        """``w`` ``(dim,)`` from the movies with at least ``least`` ratings."""
        gram, cross = self.systems[max(int(least), 1)]
        A = gram.copy()
        A[np.diag_indices_from(A)] += ridge
        w: np.ndarray = np.linalg.solve(A, cross)
        return w


def _select_offset(
    F: np.ndarray,
    r: _Ratings,
    base: np.ndarray,
    hp: ContentHyper,
    ridges: tuple[float, ...],
    by_rating: bool,
    loss: Callable[[np.ndarray], float],
) -> tuple[float, int, float]:
    """``(λ, least rating count, loss)`` of the best ``_Offset`` over the grids."""
    best = (ridges[0], hp.min_ratings[0], float("inf"))
    system = _Offset(F, r, base, hp.min_ratings, by_rating)
    for least in hp.min_ratings:
        ridge, x = _select(ridges, lambda lam, least=least: loss(system.solve(least, lam)))  # type: ignore[misc]
        if x < best[2]:
            best = (ridge, least, x)
    return best


def _select_stars(
    F: np.ndarray,
    cfg: ContentConfig,
    fit: _Ratings,
    held: _Ratings,
    val: np.ndarray,
    hp: ContentHyper,
    genres: np.ndarray,
) -> _Stars:
    """Movie-mean, star-term and per-user ridges chosen on the validation movies (``F`` without their tags)."""
    nan = float("nan")
    if not val.any():
        return _Stars(
            hp.mean_ridge[0], hp.min_ratings[0], nan, hp.star_ridge[0], hp.min_ratings[0], nan, hp.user_ridge[0], nan
        )
    base = genre_base(F, fit.genre_stars(genres), fit.mean_stars)
    ybar, umean = fit.mean_stars, fit.user_means()
    Fv = F[val].astype(np.float64)
    truth = held.means[val]

    def mean_mse(w: np.ndarray) -> float:
        return float(np.mean((np.clip(base[val] + Fv @ w, 0.5, 5.0) - truth) ** 2))

    mean_ridge, mean_min, mse = _select_offset(F, fit, base, hp, hp.mean_ridge, False, mean_mse)
    Fh = F[held.movies].astype(np.float64)
    prior = umean[held.users] + base[held.movies] - ybar

    def star_rmse(w: np.ndarray) -> float:
        return float(np.sqrt(np.mean((np.clip(prior + Fh @ w, 0.5, 5.0) - held.values) ** 2)))

    star_ridge, star_min, star_err = _select_offset(F, fit, base, hp, hp.star_ridge, True, star_rmse)
    w = _Offset(F, fit, base, (star_min,), True).solve(star_min, star_ridge)
    G = F[:, : cfg.base_dim]

    def user_rmse(ridge: float) -> float:
        V = _fit_users(G, fit, umean, ridge)
        pred = prior + Fh @ w + np.einsum("nk,kn->n", G[held.movies], V[:, held.users])
        return float(np.sqrt(np.mean((np.clip(pred, 0.5, 5.0) - held.values) ** 2)))

    user_ridge, rmse = _select(hp.user_ridge, user_rmse)
    return _Stars(mean_ridge, mean_min, mse, star_ridge, star_min, star_err, user_ridge, rmse)


def _fit_stars(F: np.ndarray, cfg: ContentConfig, r: _Ratings, s: _Stars, genres: np.ndarray) -> dict[str, np.ndarray]:
    """The genre base, movie-mean and star terms and the per-user arrays, fitted on ``r`` with the chosen settings."""
    genre_stars = r.genre_stars(genres)
    base = genre_base(F, genre_stars, r.mean_stars)
    umean = r.user_means()
    return {
        "genre_stars": genre_stars,
        "mean_w": _Offset(F, r, base, (s.mean_min,), False).solve(s.mean_min, s.mean_ridge),
        "star_w": _Offset(F, r, base, (s.star_min,), True).solve(s.star_min, s.star_ridge),
        "user_bias": umean - r.mean_stars,
        "user_w": _fit_users(F[:, : cfg.base_dim], r, umean, s.user_ridge),
    }


def _fit_users(G: np.ndarray, r: _Ratings, user_means: np.ndarray, ridge: float) -> np.ndarray:
    """``V`` ``(base_dim, users)``: per-user ridge on ``G`` (movies × base_dim).

    The target is what "user mean + movie mean − ȳ" leaves of each rating.
    """
    n_users = r.seen.shape[1]
    e = r.values - (user_means[r.users] + r.means[r.movies] - r.mean_stars)
    k, n_movies = G.shape[1], G.shape[0]
    V = np.zeros((k, n_users))
    G64 = G.astype(np.float64)
    by_user = sp.csr_matrix((np.ones(r.users.size), (r.users, r.movies)), shape=(n_users, n_movies))
    by_user_e = sp.csr_matrix((e, (r.users, r.movies)), shape=(n_users, n_movies))
    movie_chunks = [slice(s, min(s + _MOVIE_CHUNK, n_movies)) for s in range(0, n_movies, _MOVIE_CHUNK)]
    for s in range(0, n_users, _USER_CHUNK):
        rows = slice(s, min(s + _USER_CHUNK, n_users))
        A = np.zeros((rows.stop - rows.start, k * k))
        for m in movie_chunks:  # per-movie outer products, a block of movies at a time
            outer = (G64[m, :, None] * G64[m, None, :]).reshape(-1, k * k)
            A += by_user[rows, m] @ outer
        b = np.asarray(by_user_e[rows] @ G64)
        V[:, rows] = np.linalg.solve(A.reshape(-1, k, k) + ridge * np.eye(k), b[:, :, None])[:, :, 0].T
    return V


def _calibrate(scores: np.ndarray, labels: np.ndarray, seed: int) -> tuple[float, float]:
    """Logistic fit of the validation movies' raters (label 1) against as many random users (label 0)."""
    rows, cols = np.nonzero(labels)
    if rows.size == 0:
        return 1.0, 0.0
    neg = np.random.default_rng(seed).integers(0, labels.shape[1], rows.size)
    x = np.concatenate([scores[rows, cols], scores[rows, neg]])
    y = np.concatenate([np.ones(rows.size), np.zeros(rows.size)])
    scale, bias = _logistic(x, y)
    if scale > 0:
        return scale, bias
    return 1e-3, _logistic(x, y, fixed_scale=1e-3)[1]
