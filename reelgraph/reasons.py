"""Why the ranking model recommends a movie to a history: exact shares of its score, and their check.

The ranking score is linear in the history (``reelgraph.models.ranking``):
``s = Σ_i w(r_i)·B[i, target] + π·log(1 + n_target)``. So each rated movie's
share is exact, and removing the named ratings lowers the score by exactly
their sum — which ``deletion`` re-measures through the fold-in path rather than
assuming it.

A *chain* here is "your rating → rated movie → co-rated target": the learned
co-rating edge ``B[i, target]`` that carries rating ``i``'s share
``a·w(r_i)·B[i, target]`` (``a`` the calibration scale, so shares are in logit
units); the people behind a chain are the stored users who rated both movies
(the co-ratings the edge was fitted on). A co-rater's score apportions each
named chain's share equally among that chain's co-raters and sums over the
chains they are in: a reading aid for "people with your taste", not an exact
share (the model has no per-user term).

A rating prediction is explained the same way in stars (``RatingReasons``), its
shares measured by deletion (``reelgraph.rating_reasons``): the rating model is
not linear in the user's ratings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reelgraph.jobs.records import ChainInfluence

ScoreFn = Callable[[np.ndarray, np.ndarray], float]  # (movie indices, stars) -> the target's logit
SubsetsFn = Callable[[list[np.ndarray]], np.ndarray]  # subsets (positions into the history) -> their scores


@dataclass(frozen=True)
class RatedReason:
    """One of the user's ratings and its signed share of the target's logit."""

    movie_id: int
    title: str
    stars: float
    score: float


@dataclass(frozen=True)
class Fidelity:
    """Checks of the named ratings, re-scored through the fold-in path (logit, or stars for a rating).

    Attributes:
        full: the target's logit (stars) with the whole history.
        deletion_drop: ``full`` minus the score without the named ratings.
        random_drop: mean drop when as many random ratings of the same history go (``draws`` draws).
        sufficiency: the score with only the named ratings.
    """

    full: float
    deletion_drop: float
    random_drop: float
    sufficiency: float


@dataclass(frozen=True)
class CoRater:
    """A stored user who rated the target and at least one named movie.

    Attributes:
        user_id: MovieLens id.
        movie_ids: the named movies they rated, in the order they are named.
        target_stars: their stars for the target.
        score: their apportioned part of the named chains' shares (module docstring; logit units).
    """

    user_id: int
    movie_ids: list[int]
    target_stars: float
    score: float


@dataclass(frozen=True)
class Reasons:
    """An explanation of one (history, target) pair; the ``sentence`` is what a UI shows.

    The logit is exactly ``rated_total + popularity + bias``: ``rated_total`` sums
    every rating's share (``shares``, aligned with ``history``), ``popularity`` is
    ``a·π·log(1 + n_target)`` and ``bias`` the calibration's ``c``. The model has
    no content term: genres and years enter only through which movies are co-rated;
    ``genre_shares`` sums the shares of rated movies that have each of the target's genres.
    """

    movie_id: int
    title: str
    probability: float
    because_you_rated: list[RatedReason]
    popularity: float
    co_raters: int
    co_raters_mean_stars: float
    fidelity: Fidelity
    sentence: str
    chains: list[ChainInfluence] = field(default_factory=list)
    people: list[CoRater] = field(default_factory=list)
    rated_total: float = 0.0
    bias: float = 0.0
    positive: int = 0
    genre_shares: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RatingReasons:
    """An explanation of one predicted rating: which of the user's ratings raise or lower it, in stars.

    A rating's ``score`` is its leave-one-out share (``reelgraph.rating_reasons``): the
    raw stars with every rating minus the raw stars without that one. ``fidelity`` is in
    raw stars (``full`` is ``raw``). ``stars`` is the served prediction, ``raw`` clipped
    to 0.5–5.

    Attributes:
        movie_id, title: the target.
        stars: the predicted stars as served (0.5–5).
        raw: the raw prediction the shares and checks are measured on.
        because_you_rated: the ratings with the largest positive shares, strongest first.
        lowered_by: the ratings with the most negative shares, most negative first.
        positive, negative: how many shares are positive, negative (for paging).
        co_raters, co_raters_mean_stars: stored users (the explained user excluded) who rated
            the target and a named movie; their mean stars for the target.
        fidelity: deletion, random deletion and sufficiency of the named ratings, in stars.
        sentence: one plain sentence a UI can show.
        shares_total: the sum of every rating's share (interactions make it differ from ``raw``).
    """

    movie_id: int
    title: str
    stars: float
    raw: float
    because_you_rated: list[RatedReason]
    lowered_by: list[RatedReason]
    positive: int
    negative: int
    co_raters: int
    co_raters_mean_stars: float
    fidelity: Fidelity
    sentence: str
    shares_total: float = 0.0


def apportion(
    target_raters: np.ndarray, named_raters: list[np.ndarray], shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Co-raters of the named chains and their apportioned scores.

    Args:
        target_raters: user indices who rated the target (explained user already removed).
        named_raters: per named movie, the user indices who rated it.
        shares: per named movie, its share of the logit.

    Returns:
        ``(users, membership, scores)``: users (positions into ``target_raters``) in at least
        one chain, strongest first; ``membership[j, c]`` says user j is in chain c; their scores.
    """
    if not named_raters:
        return np.zeros(0, np.int64), np.zeros((0, 0), bool), np.zeros(0)
    member = np.stack([np.isin(target_raters, r) for r in named_raters], axis=1).astype(np.float64)
    counts = member.sum(axis=0)
    per_person = np.where(counts > 0, shares / np.maximum(counts, 1), 0.0)
    scores = member @ per_person
    users = np.flatnonzero(member.sum(axis=1))
    order = users[np.argsort(-scores[users], kind="stable")]
    return order, member[order] > 0, scores[order]


def top_shares(shares: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest positive shares, strongest first (fewer when fewer are positive)."""
    order = np.argsort(-shares, kind="stable")[:k]
    named: np.ndarray = order[shares[order] > 0]
    return named


def check(
    score: ScoreFn, movies: np.ndarray, stars: np.ndarray, named: np.ndarray, seed: int = 0, draws: int = 20
) -> Fidelity:
    """Deletion, random-deletion and sufficiency of ``named`` history positions (see ``Fidelity``)."""

    def each(subsets: list[np.ndarray]) -> np.ndarray:
        return np.array([score(movies[p], stars[p]) for p in subsets])

    return check_subsets(each, movies.size, named, seed, draws)


def check_subsets(score: SubsetsFn, n: int, named: np.ndarray, seed: int = 0, draws: int = 20) -> Fidelity:
    """``check`` with every re-scored subset of the ``n`` ratings passed to ``score`` at once (one batch)."""
    everything = np.arange(n)
    rng = np.random.default_rng(seed)
    gone = [rng.choice(n, named.size, replace=False) for _ in range(draws if named.size else 0)]
    subsets = [everything, np.setdiff1d(everything, named), *(np.setdiff1d(everything, g) for g in gone), named]
    scores = np.asarray(score(subsets), dtype=np.float64)
    full, without, only, randoms = float(scores[0]), float(scores[1]), float(scores[-1]), scores[2:-1]
    return Fidelity(full, full - without, float(np.mean(full - randoms)) if randoms.size else 0.0, only)


def sentence(title: str, named: list[RatedReason], co_raters: int, mean_stars: float) -> str:
    """One plain sentence, e.g. "Recommended because you rated A ★5, B ★4.5 and C ★4; 38 people …"."""
    if not named:
        return f"Recommended because {title} is popular with everyone."
    return f"Recommended because you rated {_listed(named)}{_people(title, co_raters, mean_stars)}."


def rating_sentence(stars: float, title: str, named: list[RatedReason], co_raters: int, mean_stars: float) -> str:
    """E.g. "Predicted 4.6★ for C because you rated A ★5 (+0.31★) and B ★5 (+0.12★); 38 people …"."""
    head = f"Predicted {stars:.1f}★ for {title}"
    if not named:
        return f"{head}: none of your ratings raises it; it is what the model expects from your ratings overall."
    listed = _listed(named, lambda r: f" ({r.score:+.2f}★)")
    return f"{head} because you rated {listed}{_people(title, co_raters, mean_stars)}."


def _listed(named: list[RatedReason], suffix: Callable[[RatedReason], str] = lambda r: "") -> str:
    parts = [f"{r.title} ★{r.stars:g}{suffix(r)}" for r in named[:3]]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"


def _people(title: str, co_raters: int, mean_stars: float) -> str:
    if not co_raters:
        return ""
    people = "person" if co_raters == 1 else "people"
    return f"; {co_raters} {people} who rated those also rated {title}, {mean_stars:.1f}★ on average"
