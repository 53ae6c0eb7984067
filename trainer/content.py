"""Fit the content model (``reelgraph.models.content``) in closed form, selected on held-out movies.

1. Hold out ``val_fraction`` of the movies with at least ``val_min_ratings``
   ratings, every rating of them: validation movies are new movies.
2. On the other rated movies, solve ``W = (FᵀF + λI)⁻¹FᵀXᵀ`` per candidate (the
   Gram matrix computed once; block weights rescale it); pick ``λ``, then the
   title and tag weights, then the activity weight ``β``, by the validation
   movies' mean per-movie AUC over users.
3. Calibrate ``P(rate) = σ(a·s + c)`` on the validation movies (raters against
   as many random users).
4. Pick the movie-mean ridge by validation MSE, then the per-user star ridge by
   validation RMSE.
5. Refit every array on all rated movies with the chosen values.
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
from scipy.stats import rankdata

from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.hetero import RatingGraph
from reelgraph.models.content import ContentConfig, ContentModel, content_matrix
from reelgraph.options import ModelKind
from trainer.hyper import ContentHyper
from trainer.loop import Curve
from trainer.progress import Progress
from trainer.ranking import _logistic
from trainer.result import TrainResult

_BIAS_SHRINK = 5.0  # ratings' worth of prior towards 0 in a user's star bias
_MEAN_SHRINK = 5.0  # a movie mean backed by n ratings weighs n / (n + 5)


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


class _LinkSystem:
    """``FᵀF`` and ``FᵀXᵀ`` of one movie subset at unit block weights; solves any rescaling."""

    def __init__(self, F: np.ndarray, r: _Ratings, rows: np.ndarray) -> None:
        Fr = F[rows].astype(np.float64)
        self.gram = Fr.T @ Fr
        self.cross = np.asarray((r.seen[rows].T @ Fr).T)
        self.log_degree = r.log_degree

    def solve(self, scale: np.ndarray, ridge: float) -> np.ndarray:
        """``W`` ``(d, users)`` for content columns multiplied by ``scale``."""
        A = self.gram * np.outer(scale, scale)
        A[np.diag_indices_from(A)] += ridge
        W: np.ndarray = np.linalg.solve(A, scale[:, None] * self.cross)
        return W


def _scale(cfg: ContentConfig, title_weight: float, tag_weight: float) -> np.ndarray:
    s = np.ones(cfg.dim)
    s[cfg.base_dim : cfg.base_dim + cfg.title_dim] = title_weight
    s[cfg.base_dim + cfg.title_dim :] = tag_weight
    return s


def fit_content(
    data: MovieLens, rg: RatingGraph, tags: pd.DataFrame | None, hp: ContentHyper, seed: int, progress: Progress
) -> TrainResult:
    """Select on held-out movies, calibrate, then refit on all rated movies (module docstring)."""
    t0 = time.perf_counter()
    content = movie_content(data, rg, tags)
    has_tags = any(content.tags)
    base = ContentConfig(
        num_users=len(rg.users),
        genre_names=tuple(data.genre_names),
        title_dim=hp.title_dim,
        tag_dim=hp.tag_dim if has_tags else 0,
    )
    F = content_matrix(base, content.genres, content.years, content.titles, content.tags)
    e = rg.message_edges()
    ratings = _Ratings(
        e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.rating.numpy(), (len(rg.movies), len(rg.users))
    )
    val = _validation_movies(ratings.counts, hp, seed)
    fit_mask = (ratings.counts > 0) & ~val
    fit = ratings.subset(fit_mask)
    held = ratings.subset(val)
    # A new movie has no tags yet (tags are user activity): validation movies are scored without theirs.
    F_val = F.copy()
    F_val[np.ix_(val, np.arange(base.base_dim + base.title_dim, base.dim))] = 0.0
    curve = Curve("val_auc")
    choice = _select_link(F_val, base, fit, held, val, hp, progress, curve)
    scale = _scale(base, choice.title_weight, choice.tag_weight).astype(np.float32)
    Fs, Fs_val = F * scale, F_val * scale
    system = _LinkSystem(Fs, fit, np.flatnonzero(fit_mask))
    W = system.solve(np.ones(base.dim), choice.ridge)
    calib = _calibrate(Fs_val[val] @ W + choice.activity * fit.log_degree, held.seen[val].toarray(), seed)
    mean_ridge, mean_mse = _select(hp.mean_ridge, lambda lam: _mean_mse(Fs_val, fit, held, val, lam))
    mean_w, mean_stars = _fit_mean(Fs_val, fit, mean_ridge)
    user_ridge, rmse = _select(
        hp.user_ridge, lambda lam: _star_rmse(Fs_val, base.base_dim, fit, held, mean_w, mean_stars, lam)
    )
    progress.log(
        f"content: λ={choice.ridge:g} w_title={choice.title_weight:g} w_tag={choice.tag_weight:g} "
        f"β={choice.activity:g} val AUC {choice.auc:.4f}; mean λ={mean_ridge:g} MSE {mean_mse:.4f}; "
        f"user λ={user_ridge:g} RMSE {rmse:.4f}; refit on all rated movies"
    )
    rated = ratings.counts > 0
    everything = ratings.subset(rated)
    W_all = _LinkSystem(Fs, everything, np.flatnonzero(rated)).solve(np.ones(base.dim), choice.ridge)
    mean_w, mean_stars = _fit_mean(Fs, everything, mean_ridge)
    bias, V = _fit_users(Fs[:, : base.base_dim], everything, user_ridge)
    cfg = dataclasses.replace(
        base,
        title_weight=choice.title_weight,
        tag_weight=choice.tag_weight,
        activity=choice.activity,
        calib_scale=calib[0],
        calib_bias=calib[1],
        mean_stars=mean_stars,
    )
    arrays = {
        "link_w": W_all,
        "log_degree": everything.log_degree,
        "mean_w": mean_w,
        "user_bias": bias,
        "user_w": V,
    }
    metrics = {
        "val_auc": choice.auc,
        "val_mean_mse": mean_mse,
        "val_rmse": rmse,
        "ridge": choice.ridge,
        "mean_ridge": mean_ridge,
        "user_ridge": user_ridge,
        "val_movies": float(val.sum()),
        "fit_seconds": time.perf_counter() - t0,
        "best_epoch": float(int(np.nanargmax(curve.metric))) if curve.metric else 0.0,
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


def _select_link(
    F: np.ndarray,
    cfg: ContentConfig,
    fit: _Ratings,
    held: _Ratings,
    val: np.ndarray,
    hp: ContentHyper,
    progress: Progress,
    curve: Curve,
) -> _Choice:
    """Greedy search: λ first (unit block weights, β = 0), then w_title, w_tag, β."""
    system = _LinkSystem(F, fit, np.flatnonzero(fit.counts > 0))
    Fv = F[val].astype(np.float64)
    labels = held.seen[val].toarray()

    def auc(c: _Choice) -> _Choice:
        if not val.any():
            return dataclasses.replace(c, auc=float("nan"))
        scale = _scale(cfg, c.title_weight, c.tag_weight)
        scores = (Fv * scale) @ system.solve(scale, c.ridge) + c.activity * system.log_degree
        return dataclasses.replace(c, auc=float(np.nanmean(per_movie_auc(scores, labels))))

    tag_grid = hp.tag_weight if cfg.tag_dim else (0.0,)
    steps = len(hp.ridge) + len(hp.title_weight) + len(tag_grid) + len(hp.activity)
    # Start from the grids' values nearest unit weight and no activity term; every choice stays on its grid.
    best = _Choice(
        hp.ridge[0], _nearest(hp.title_weight, 1.0), _nearest(tag_grid, 1.0), _nearest(hp.activity, 0.0), -1.0
    )
    with progress.task("content: validation search", steps) as advance:
        for field, grid in (
            ("ridge", hp.ridge),
            ("title_weight", hp.title_weight),
            ("tag_weight", tag_grid),
            ("activity", hp.activity),
        ):
            for value in grid:
                c = auc(dataclasses.replace(best, **{field: value}))
                curve.loss.append(float("nan"))  # closed form: one point per candidate
                curve.metric.append(c.auc)
                advance(f"{field}={value:g} AUC {c.auc:.4f}")
                if not c.auc <= best.auc:  # NaN (no validation movies) keeps the first candidate
                    best = c
    return best


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


def _fit_mean(F: np.ndarray, r: _Ratings, ridge: float) -> tuple[np.ndarray, float]:
    """``(w_μ, ȳ)``: weighted ridge from content to the rated movies' mean stars."""
    rows = np.flatnonzero(r.counts > 0)
    if rows.size == 0:
        return np.zeros(F.shape[1]), 3.5
    n = r.counts[rows]
    omega = n / (n + _MEAN_SHRINK)
    y = r.means[rows]
    ybar = float((omega * y).sum() / omega.sum())
    Fr = F[rows].astype(np.float64)
    A = (Fr * omega[:, None]).T @ Fr
    A[np.diag_indices_from(A)] += ridge
    w: np.ndarray = np.linalg.solve(A, Fr.T @ (omega * (y - ybar)))
    return w, ybar


def _mean_mse(F: np.ndarray, fit: _Ratings, held: _Ratings, val: np.ndarray, ridge: float) -> float:
    if not val.any():
        return float("nan")
    w, ybar = _fit_mean(F, fit, ridge)
    pred = np.clip(ybar + F[val] @ w, 0.5, 5.0)
    return float(np.mean((pred - held.means[val]) ** 2))


def _fit_users(G: np.ndarray, r: _Ratings, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """``(b, V)``: per-user star bias and per-user ridge of the residuals on ``G`` (movies × base_dim)."""
    n_users = r.seen.shape[1]
    resid = r.values - r.means[r.movies]
    bias = np.bincount(r.users, resid, n_users) / (np.bincount(r.users, minlength=n_users) + _BIAS_SHRINK)
    e = resid - bias[r.users]
    k = G.shape[1]
    V = np.zeros((k, n_users))
    G64 = G.astype(np.float64)
    outer = (G64[:, :, None] * G64[:, None, :]).reshape(G.shape[0], k * k)
    by_user = sp.csr_matrix((np.ones(r.users.size), (r.users, r.movies)), shape=(n_users, G.shape[0]))
    by_user_e = sp.csr_matrix((e, (r.users, r.movies)), shape=(n_users, G.shape[0]))
    for s in range(0, n_users, 4096):
        rows = slice(s, min(s + 4096, n_users))
        A = np.asarray(by_user[rows] @ outer).reshape(-1, k, k) + ridge * np.eye(k)
        b = np.asarray(by_user_e[rows] @ G64)
        V[:, rows] = np.linalg.solve(A, b[:, :, None])[:, :, 0].T
    return bias, V


def _star_rmse(
    F: np.ndarray,
    base_dim: int,
    fit: _Ratings,
    held: _Ratings,
    mean_w: np.ndarray,
    mean_stars: float,
    ridge: float,
) -> float:
    if held.users.size == 0:
        return float("nan")
    bias, V = _fit_users(F[:, :base_dim], fit, ridge)
    mu = mean_stars + F[held.movies] @ mean_w
    pred = mu + bias[held.users] + np.einsum("nk,kn->n", F[held.movies, :base_dim], V[:, held.users])
    return float(np.sqrt(np.mean((np.clip(pred, 0.5, 5.0) - held.values) ** 2)))


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
