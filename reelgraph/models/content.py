"""The content model: a movie nobody has rated, scored from its catalogue row alone.

A movie is a fixed-width row ``f`` computed from its title, genres, release year
and (where the dataset has ``tags.csv``) tag words — no vocabulary file, no
download: words are hashed into fixed buckets (the hashing trick)::

    f = [1 | w_genre · genres | w_year · (year hats | year missing) | w_title · title words | w_tag · tag words]

* **link**: ``s_u = f · P · Q[:, u] + β · log(1 + n_u)``; ``P · Q`` is the rank-``r``
  part (in the fitted scores) of the closed-form ridge regression
  ``(FᵀF + λI)⁻¹ FᵀXᵀ`` from the rated movies' content ``F`` to who rated them
  (``Xᵀ``, movies × users; ``n_u`` the user's rating count); ``P(rate) = σ(a·s + c)``.
* **genre base**: ``m₀(f)``, the mean over the movie's genres of each genre's
  mean stars (rating-weighted), or the global mean ``ȳ`` without genres — the
  "genre mean" a new movie gets with every learned term at zero.
* **movie mean**: ``μ(f) = m₀(f) + f · w_μ`` (ridge on the rated movies' mean
  stars minus their genre base, each movie weighing ``n / (n + 5)``).
* **stars**: ``r̂_u = m₀(f) + f · w_s + b_u + g · V[:, u]`` — ``b_u`` the user's
  mean stars minus ``ȳ``, ``w_s`` a ridge like ``w_μ`` weighted by rating count,
  and a per-user ridge term on ``g``, the genre and year part of ``f``, fitted to
  what "user mean + movie mean − ȳ" leaves. With ``w_s`` and ``V`` at zero this
  is the "user mean + genre offset" baseline.

Stored floats: ``r · (dim + num_users)`` for the link part,
``(base_dim + 2) · num_users`` per user and ``2 · dim + genres`` per movie
content — float32, so about ``4 · (r + base_dim + 2) · num_users`` bytes for
large user counts (``r`` = ``ContentConfig.rank``, 64 by default).

``trainer.content`` fits every array; ``ContentHead`` serves them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import expit
from torch import Tensor, nn

from reelgraph.configs import DictForm
from reelgraph.errors import FieldViolation, InvalidRequestError
from reelgraph.models.pair import MAX_STARS, MIN_STARS

MIN_YEAR, MAX_YEAR = 1870, 2100  # accepted release years (inclusive)
# Two-year knots over the years MovieLens users rate in, coarser before; the trainer ends them at the
# latest release year it sees (year_knots_until), so a newer release counts as the latest year.
_EARLY_KNOTS = (1920.0, 1950.0, 1970.0, 1980.0, 1985.0, 1990.0, 1993.0)


def year_knots_until(last: float) -> tuple[float, ...]:
    """Knots of the year basis: every other year from 1995 (coarser before), ending at ``last`` (a year ≥ 1921)."""
    grid = _EARLY_KNOTS + tuple(float(y) for y in range(1995, 2101, 2))
    last = max(float(last), 1921.0)
    return (*(k for k in grid if k < last), float(last))


YEAR_KNOTS = year_knots_until(2018.0)
_WORD = re.compile(r"[^\W_]+")
_TITLE_YEAR = re.compile(r"\s*\(\s*\d{4}\s*\)\s*$")


@dataclass(frozen=True)
class ContentConfig(DictForm):
    """Shape and fitted coefficients of the content model (stored in the manifest).

    Attributes:
        num_users: stored users (columns of ``Q`` and ``V``).
        genre_names: the bundle's genre names, in feature order.
        year_knots: knots of the piecewise-linear year basis (years).
        title_dim, tag_dim: hashed word buckets of the title and tag blocks.
        genre_weight, year_weight: scales of the genre and year blocks (1.0 each; a
            larger scale means a weaker ridge on that block).
        title_weight, tag_weight: ``w_title`` and ``w_tag`` (block scales; 0 drops a block).
        rank: columns of ``P`` (rows of ``Q``), at most ``min(dim, num_users)`` (default 64).
        activity: ``β``, weight of ``log(1 + n_u)`` in the link score.
        calib_scale, calib_bias: ``a`` and ``c`` of ``P(rate) = σ(a·s + c)``.
        mean_stars: ``ȳ``, the mean of all training ratings (stars; default 3.5).
    """

    num_users: int
    genre_names: tuple[str, ...]
    year_knots: tuple[float, ...] = YEAR_KNOTS
    title_dim: int = 256
    tag_dim: int = 256
    genre_weight: float = 1.0
    year_weight: float = 1.0
    title_weight: float = 1.0
    tag_weight: float = 1.0
    rank: int = 64
    activity: float = 0.0
    calib_scale: float = 1.0
    calib_bias: float = 0.0
    mean_stars: float = 3.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "genre_names", tuple(self.genre_names))
        object.__setattr__(self, "year_knots", tuple(float(k) for k in self.year_knots))

    @property
    def base_dim(self) -> int:
        """Width of ``g``: bias, genres, year hats, year missing."""
        return 1 + len(self.genre_names) + len(self.year_knots) + 1

    @property
    def dim(self) -> int:
        """Width of ``f``."""
        return self.base_dim + self.title_dim + self.tag_dim

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples as lists)."""
        out = super().to_dict()
        out["genre_names"] = list(self.genre_names)
        out["year_knots"] = list(self.year_knots)
        return out


def words(texts: Iterable[str]) -> list[str]:
    """Lower-case word tokens (letters and digits) of ``texts``."""
    return [w for t in texts for w in _WORD.findall(t.lower())]


def title_words(title: str) -> list[str]:
    """Words of a catalogue title without its trailing ``(YYYY)``."""
    return words([_TITLE_YEAR.sub("", title)])


def hashed_bag(tokens: Sequence[str], dim: int) -> np.ndarray:
    """``(dim,)`` float32 counts of ``tokens`` hashed by CRC-32, L2-normalised (zeros when empty)."""
    out = np.zeros(dim, np.float32)
    if dim == 0 or not tokens:
        return out
    np.add.at(out, [zlib.crc32(t.encode()) % dim for t in tokens], 1.0)
    out /= np.linalg.norm(out)
    return out


def year_basis(years: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """``(n, len(knots) + 1)``: piecewise-linear hats over ``knots`` (clamped at the ends), then a missing flag.

    ``years`` is float (NaN when unknown); a missing year is all-zero hats and flag 1.
    """
    k = np.asarray(knots, np.float64)
    missing = np.isnan(years)
    y = np.clip(np.where(missing, k[0], years), k[0], k[-1])
    right = np.clip(np.searchsorted(k, y, side="right"), 1, k.size - 1)
    left = right - 1
    t = (y - k[left]) / (k[right] - k[left])
    out = np.zeros((years.size, k.size + 1), np.float32)
    rows = np.arange(years.size)
    out[rows, left] = 1.0 - t
    out[rows, right] += t
    out[missing, :-1] = 0.0
    out[:, -1] = missing
    return out


def content_matrix(
    cfg: ContentConfig,
    genres: np.ndarray,
    years: np.ndarray,
    titles: Sequence[str],
    tags: Sequence[Sequence[str]],
) -> np.ndarray:
    """``(n, cfg.dim)`` float32 rows ``f`` of ``n`` movies.

    ``genres`` is ``(n, G)`` 0/1 in ``cfg.genre_names`` order, ``years`` float
    (NaN when unknown), ``titles`` catalogue titles, ``tags`` each movie's tags.
    """
    n = len(titles)
    blocks = [
        np.ones((n, 1), np.float32),
        cfg.genre_weight * np.asarray(genres, np.float32).reshape(n, len(cfg.genre_names)),
        cfg.year_weight * year_basis(np.asarray(years, np.float64), cfg.year_knots),
        cfg.title_weight * np.stack([hashed_bag(title_words(t), cfg.title_dim) for t in titles] or [np.zeros(0)]),
        cfg.tag_weight * np.stack([hashed_bag(words(t), cfg.tag_dim) for t in tags] or [np.zeros(0)]),
    ]
    blocks[3] = blocks[3].reshape(n, cfg.title_dim)
    blocks[4] = blocks[4].reshape(n, cfg.tag_dim)
    return np.concatenate(blocks, axis=1).astype(np.float32)


class ContentModel(nn.Module):
    """The fitted arrays (module docstring); nothing is trained by gradient."""

    link_p: Tensor
    link_q: Tensor
    log_degree: Tensor
    genre_stars: Tensor
    mean_w: Tensor
    star_w: Tensor
    user_bias: Tensor
    user_w: Tensor

    def __init__(self, cfg: ContentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("link_p", torch.zeros(cfg.dim, cfg.rank))
        self.register_buffer("link_q", torch.zeros(cfg.rank, cfg.num_users))
        self.register_buffer("log_degree", torch.zeros(cfg.num_users))
        self.register_buffer("genre_stars", torch.full((len(cfg.genre_names),), cfg.mean_stars))
        self.register_buffer("mean_w", torch.zeros(cfg.dim))
        self.register_buffer("star_w", torch.zeros(cfg.dim))
        self.register_buffer("user_bias", torch.zeros(cfg.num_users))
        self.register_buffer("user_w", torch.zeros(cfg.base_dim, cfg.num_users))

    @classmethod
    def from_arrays(cls, cfg: ContentConfig, arrays: dict[str, np.ndarray]) -> ContentModel:
        """Build from numpy arrays named like the buffers."""
        model = cls(cfg)
        for name, value in arrays.items():
            getattr(model, name).copy_(torch.from_numpy(np.asarray(value, np.float32)))
        return model

    def forward(self, f: Tensor) -> Tensor:
        """Raw link scores ``(n, num_users)`` of content rows ``f`` ``(n, dim)``."""
        out: Tensor = (f @ self.link_p) @ self.link_q + self.cfg.activity * self.log_degree
        return out


class ContentHead:
    """Serving form of ``ContentModel``: validated content in, numpy out."""

    def __init__(self, model: ContentModel) -> None:
        self.cfg = model.cfg
        self.P = model.link_p.numpy()
        self.Q = model.link_q.numpy()
        self.prior = (model.cfg.activity * model.log_degree.numpy()).astype(np.float32)
        self.genre_stars = model.genre_stars.numpy()
        self.mean_w = model.mean_w.numpy()
        self.star_w = model.star_w.numpy()
        self.user_bias = model.user_bias.numpy()
        self.V = model.user_w.numpy()

    def features(
        self, genres: Sequence[str], year: int | None = None, title: str = "", tags: Sequence[str] = ()
    ) -> np.ndarray:
        """The content row ``f`` ``(dim,)`` of one movie; raises ``InvalidRequestError`` naming bad fields."""
        check_content(self.cfg.genre_names, genres, year, title)
        multi_hot = np.array([[g in set(genres) for g in self.cfg.genre_names]], np.float32)
        years = np.array([np.nan if year is None else float(year)])
        f: np.ndarray = content_matrix(self.cfg, multi_hot, years, [title], [list(tags)])[0]
        return f

    def link_scores(self, f: np.ndarray) -> np.ndarray:
        """Raw ``s_u`` of every stored user ``(num_users,)``, float32."""
        out: np.ndarray = ((f @ self.P) @ self.Q + self.prior).astype(np.float32)
        return out

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated ``P(rate) = σ(a·s + c)``, float32."""
        out: np.ndarray = expit((self.cfg.calib_scale * raw + self.cfg.calib_bias).astype(np.float32))
        return out

    def genre_base(self, f: np.ndarray) -> float:
        """``m₀(f)`` in stars: the mean of the movie's genres' mean stars, ``ȳ`` without genres."""
        return float(genre_base(f[None, :], self.genre_stars, self.cfg.mean_stars)[0])

    def movie_mean(self, f: np.ndarray) -> float:
        """``μ(f)`` in stars, clipped to 0.5–5."""
        return float(np.clip(self.genre_base(f) + f @ self.mean_w, MIN_STARS, MAX_STARS))

    def ratings(self, f: np.ndarray) -> np.ndarray:
        """``r̂_u = m₀(f) + f · w_s + b_u + g · V[:, u]`` of every stored user, float32, clipped to 0.5–5."""
        g = f[: self.cfg.base_dim]
        movie = self.genre_base(f) + f @ self.star_w
        out: np.ndarray = np.clip(movie + self.user_bias + g @ self.V, MIN_STARS, MAX_STARS)
        return out.astype(np.float32)


def genre_base(F: np.ndarray, genre_stars: np.ndarray, mean_stars: float) -> np.ndarray:
    """``m₀`` ``(n,)`` float64 of content rows ``F`` ``(n, ≥ 1 + G)``: mean of ``genre_stars`` over each row's genres.

    Rows without genres get ``mean_stars``. The genre block is read from ``F``'s
    columns ``1 … G`` (after the bias column), so block weights do not matter.
    """
    on = np.asarray(F[:, 1 : 1 + genre_stars.size], np.float64) > 0
    hits = on.sum(axis=1)
    total = on @ np.asarray(genre_stars, np.float64)
    out: np.ndarray = np.where(hits > 0, total / np.maximum(hits, 1), mean_stars)
    return out


def check_content(
    genre_names: Sequence[str], genres: Sequence[str], year: int | None, title: str, require_title: bool = False
) -> None:
    """Raise ``InvalidRequestError`` for unknown genres, a year outside 1870–2100 or an empty title.

    An empty title is an error when ``require_title`` is set, and a title of
    only blanks always is.
    """
    violations = []
    unknown = [g for g in genres if g not in genre_names]
    if unknown:
        violations.append(
            FieldViolation(
                "genres", f"unknown genre(s) {', '.join(map(repr, unknown))}; valid: {', '.join(genre_names)}"
            )
        )
    if year is not None and not (isinstance(year, int | np.integer) and MIN_YEAR <= year <= MAX_YEAR):
        violations.append(FieldViolation("year", f"must be a whole year {MIN_YEAR}–{MAX_YEAR}, got {year!r}"))
    if (require_title or title) and not title.strip():
        violations.append(FieldViolation("title", "must not be empty"))
    if violations:
        raise InvalidRequestError(violations)
