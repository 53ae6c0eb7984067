"""Why the ranking model recommends a movie to a history: exact shares of its score, and their check.

The ranking score is linear in the history (``reelgraph.models.ranking``):
``s = Σ_i w(r_i)·B[i, target] + π·log(1 + n_target)``. So each rated movie's
share is exact, and removing the named ratings lowers the score by exactly
their sum — which ``deletion`` re-measures through the fold-in path rather than
assuming it.

A *chain* here is "rated movie → co-rated target": the learned co-rating edge
``B[i, target]`` that carries rating ``i``'s share; the people behind it are the
stored users who rated both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ScoreFn = Callable[[np.ndarray, np.ndarray], float]  # (movie indices, stars) -> the target's logit


@dataclass(frozen=True)
class RatedReason:
    """One of the user's ratings and its signed share of the target's logit."""

    movie_id: int
    title: str
    stars: float
    score: float


@dataclass(frozen=True)
class Fidelity:
    """Logit checks of the named ratings, re-scored through the fold-in path.

    Attributes:
        full: the target's logit with the whole history.
        deletion_drop: ``full`` minus the score without the named ratings.
        random_drop: mean drop when as many random ratings of the same history go (``draws`` draws).
        sufficiency: the score with only the named ratings.
    """

    full: float
    deletion_drop: float
    random_drop: float
    sufficiency: float


@dataclass(frozen=True)
class Reasons:
    """An explanation of one (history, target) pair; the ``sentence`` is what a UI shows."""

    movie_id: int
    title: str
    probability: float
    because_you_rated: list[RatedReason]
    popularity: float
    co_raters: int
    co_raters_mean_stars: float
    fidelity: Fidelity
    sentence: str


def top_shares(shares: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest positive shares, strongest first (fewer when fewer are positive)."""
    order = np.argsort(-shares, kind="stable")[:k]
    named: np.ndarray = order[shares[order] > 0]
    return named


def check(
    score: ScoreFn, movies: np.ndarray, stars: np.ndarray, named: np.ndarray, seed: int = 0, draws: int = 20
) -> Fidelity:
    """Deletion, random-deletion and sufficiency of ``named`` history positions (see ``Fidelity``)."""
    full = score(movies, stars)
    rest = np.setdiff1d(np.arange(movies.size), named)
    without = score(movies[rest], stars[rest])
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(draws if named.size else 0):
        gone = rng.choice(movies.size, named.size, replace=False)
        keep = np.setdiff1d(np.arange(movies.size), gone)
        drops.append(full - score(movies[keep], stars[keep]))
    only = score(movies[named], stars[named])
    return Fidelity(full, full - without, float(np.mean(drops)) if drops else 0.0, only)


def sentence(title: str, named: list[RatedReason], co_raters: int, mean_stars: float) -> str:
    """One plain sentence, e.g. "Recommended because you rated A ★5, B ★4.5 and C ★4; 38 people …"."""
    if not named:
        return f"Recommended because {title} is popular with everyone."
    parts = [f"{r.title} ★{r.stars:g}" for r in named[:3]]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
    tail = ""
    if co_raters:
        people = "person" if co_raters == 1 else "people"
        tail = f"; {co_raters} {people} who rated those also rated {title}, {mean_stars:.1f}★ on average"
    return f"Recommended because you rated {listed}{tail}."
