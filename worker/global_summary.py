"""Global explanations: what drives many recommendations of the ranking model.

Each (user, recommended movie) pair is explained exactly
(``Scorer.explain_recommendation``); the named ratings' shares of the logit are
then summed per rated movie, per genre of the rated movie and per release
decade, and the recommended movies' genres are counted (their ``share`` is the
fraction of pairs).

Co-rater groups: every stored user is put in one taste group, the genre their
liked ratings (≥ 4★) over-represent most against everyone's liked ratings (at
least 3 liked movies of that genre; else "no marked taste"). Each pair's
co-raters (``Reasons.people``: who rated the target and a named movie, with
their apportioned shares) are summed per group: which groups of people with
the users' taste carry the recommendations.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from reelgraph.jobs.records import Driver, GlobalSummary
from reelgraph.scoring import Scorer

NAMED = 5  # ratings named per pair, as in a single explanation
LIKED = 4.0  # stars from which a rating says "liked" (taste groups)
MIN_LIKED = 3  # liked movies of a genre needed to be in its group
NO_TASTE = "no marked taste"
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def stored_users(scorer: Scorer, user_ids: list[int], sample: int, seed: int = 0) -> np.ndarray:
    """``user_ids`` (checked), or a fixed sample of ``sample`` stored users (MovieLens ids, sorted)."""
    if user_ids:
        ids = np.asarray(user_ids, dtype=np.int64)
        scorer.users.index(ids)  # UnknownIdsError names the unknown ones
        return ids
    rng = np.random.default_rng(seed)
    n = len(scorer.users)
    picked = np.sort(rng.choice(n, min(sample, n), replace=False))
    users: np.ndarray = scorer.users.raw(picked)
    return users


def summarise(
    scorer: Scorer,
    users: np.ndarray,
    recommendations: int,
    genre: str,
    top_k: int,
    progress: Callable[[float], None],
) -> GlobalSummary:
    """Explain every user's top ``recommendations`` (only ``genre`` when set) and sum the drivers.

    ``progress`` gets the fraction of users done (0..1) after each block of users;
    every list holds at most ``top_k`` drivers, largest first.
    """
    names = list(scorer.bundle.manifest.data.get("genre_names", []))
    acc = _Sums(taste_groups(scorer, names))
    blocks = np.array_split(users, min(10, max(1, users.size)))
    done = 0
    for block in blocks:
        recs = scorer.recommend(block, k=recommendations, genres=[genre] if genre else None)
        for user, row in zip(block, recs.movie_ids, strict=True):
            for movie in row[row >= 0]:
                acc.add(scorer, int(user), int(movie), names)
        done += block.size
        progress(done / max(1, users.size))
    return acc.summary(int(users.size), top_k)


def taste_groups(scorer: Scorer, names: list[str]) -> list[str]:
    """Per stored user index: their taste group, "<genre> fans" or ``NO_TASTE`` (module docstring)."""
    h = scorer.histories
    liked = h.matrix(len(scorer.movies), (h.stars >= LIKED).astype(np.float32))
    counts = np.asarray(liked @ np.asarray(scorer.genres, dtype=np.float32))[:, : len(names)]
    overall = counts.sum(axis=0) / max(counts.sum(), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0) / overall
    lift = np.where((counts >= MIN_LIKED) & np.isfinite(lift), lift, -np.inf)
    best = np.argmax(lift, axis=1) if lift.size else np.zeros(counts.shape[0], np.int64)
    has = np.isfinite(lift.max(axis=1)) if lift.size else np.zeros(counts.shape[0], bool)
    return [f"{names[g]} fans" if ok else NO_TASTE for g, ok in zip(best, has, strict=True)]


class _Sums:
    """Running sums over the explained pairs."""

    def __init__(self, groups: list[str]) -> None:
        self.groups = groups  # stored user index -> taste group
        self.co_raters: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.movies: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.titles: dict[int, str] = {}
        self.genres: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.years: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.recommended: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.parts: list[tuple[float, float, float, float, float]] = []

    def add(self, scorer: Scorer, user: int, movie: int, names: list[str]) -> None:
        why = scorer.explain_recommendation(user, movie, k=NAMED)
        f = why.fidelity
        self.parts.append((why.rated_total, why.popularity, why.bias, f.deletion_drop, f.random_drop))
        for g in _genres_of(scorer, movie, names):
            self.recommended[g][1] += 1
        for r in why.because_you_rated:
            self.titles[r.movie_id] = r.title
            _bump(self.movies[r.movie_id], r.score)
            for g in _genres_of(scorer, r.movie_id, names):
                _bump(self.genres[g], r.score)
            year = _YEAR.search(r.title)
            if year:
                _bump(self.years[f"{int(year.group(1)) // 10 * 10}s"], r.score)
        by_group: dict[str, float] = defaultdict(float)
        people = [p.user_id for p in why.people]
        for p, u in zip(why.people, scorer.users.index(np.asarray(people, np.int64)) if people else [], strict=True):
            by_group[self.groups[int(u)]] += p.score
        for group, share in by_group.items():
            _bump(self.co_raters[group], share)

    def summary(self, users: int, top_k: int) -> GlobalSummary:
        parts = np.array(self.parts) if self.parts else np.zeros((1, 5))
        means = parts.mean(axis=0)
        return GlobalSummary(
            users=users,
            pairs=len(self.parts),
            movies=_top({self.titles[m]: v for m, v in self.movies.items()}, top_k, ids=self._ids()),
            genres=_top(self.genres, top_k),
            years=_top(self.years, top_k),
            co_rater_groups=_top(self.co_raters, top_k),
            recommended_genres=_top(  # share: the fraction of the pairs recommending that genre
                {g: [c / max(1, len(self.parts)), c] for g, (_, c) in self.recommended.items()}, top_k, by_count=True
            ),
            mean_rated=float(means[0]),
            mean_popularity=float(means[1]),
            mean_bias=float(means[2]),
            mean_deletion_drop=float(means[3]),
            mean_random_drop=float(means[4]),
        )

    def _ids(self) -> dict[str, int]:
        return {t: m for m, t in self.titles.items()}


def _bump(cell: list[float], share: float) -> None:
    cell[0] += share
    cell[1] += 1


def _genres_of(scorer: Scorer, movie: int, names: list[str]) -> list[str]:
    row = np.asarray(scorer.genres[scorer.movies.index(np.array([movie]))[0]]).ravel()
    return [names[g] for g in np.flatnonzero(row) if g < len(names)]


def _top(
    sums: dict[str, list[float]], k: int, ids: dict[str, int] | None = None, by_count: bool = False
) -> list[Driver]:
    key = 1 if by_count else 0
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1][key], kv[0]))[:k]
    return [Driver(name, (ids or {}).get(name, 0), float(v[0]), int(v[1])) for name, v in ranked]
