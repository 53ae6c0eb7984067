"""Turn an explanation into an ``ExplanationResult``: the ranking model's reasons (the default
method), or raw attributions' top influences, fidelity and subgraph (the Captum methods).

Every list is capped at the request's ``top_k`` items after skipping ``offset``; the
``*_total`` fields say how many there are, so a client pages with ``offset += top_k``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import expit

from reelgraph.bundle.graph import BundleGraph
from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.jobs.records import (
    CoRaterInfluence,
    ExplainMethod,
    ExplanationResult,
    LogitFidelity,
    MovieInfluence,
    RatedMovie,
    RatingExplanation,
    RatingInfluence,
    StarFidelity,
    UserInfluence,
)
from reelgraph.reasons import Fidelity, RatedReason, RatingReasons, Reasons
from worker.explainer import Attribution, PairExplainer
from worker.subgraph import PairSubgraph

SUBGRAPH_FRACTION = 0.05  # keep ratings whose |score| ≥ 5 % of the largest
RANDOM_DRAWS = 20  # random deletions averaged by ``reelgraph.reasons.check``


def ranking_result(why: Reasons, top_k: int, offset: int = 0) -> ExplanationResult:
    """The ranking model's reasons as a result: lists from ``offset``, at most ``top_k`` items each.

    ``why`` must name at least ``offset + top_k`` ratings when the user has that many
    with a positive share (``Scorer.explain_recommendation(..., k=offset + top_k)``).
    """
    page = slice(offset, offset + top_k)
    f = why.fidelity
    return ExplanationResult(
        probability=why.probability,
        logit=f.full,
        attribution_total=why.rated_total,
        method=ExplainMethod.RANKING.value,
        title=why.title,
        because_you_rated=[RatedMovie(r.movie_id, r.title, r.stars, r.score) for r in why.because_you_rated[page]],
        because_you_rated_total=why.positive,
        chains=list(why.chains[page]),
        co_raters=[CoRaterInfluence(p.user_id, p.movie_ids, p.target_stars, p.score) for p in why.people[page]],
        co_raters_total=len(why.people),
        content=0.0,
        genre_shares=why.genre_shares,
        popularity=why.popularity,
        bias=why.bias,
        rated_total=why.rated_total,
        sentence=why.sentence,
        logit_fidelity=LogitFidelity(full_logit=f.full, **_checks(f, len(why.because_you_rated))),
        offset=offset,
    )


def _checks(f: Fidelity, k: int) -> dict[str, Any]:
    """The fields ``LogitFidelity`` and ``StarFidelity`` share, for ``k`` named ratings."""
    return {
        "k": k,
        "deletion_drop": f.deletion_drop,
        "random_drop": f.random_drop,
        "random_draws": RANDOM_DRAWS if k else 0,
        "sufficiency": f.sufficiency,
    }


def rating_result(why: RatingReasons, top_k: int, offset: int = 0) -> ExplanationResult:
    """A rating prediction's reasons as a result (``kind`` rating), lists paged like ``ranking_result``.

    ``why`` must name at least ``offset + top_k`` ratings each way when the user has that many
    (``Scorer.explain_rating(..., k=offset + top_k)``); the checks are of every named rating.
    """
    page = slice(offset, offset + top_k)
    f = why.fidelity

    def rated(rs: list[RatedReason]) -> list[RatedMovie]:
        return [RatedMovie(r.movie_id, r.title, r.stars, r.score) for r in rs[page]]

    return ExplanationResult(
        probability=0.0,
        logit=0.0,
        attribution_total=why.shares_total,
        method="Deletion",
        title=why.title,
        because_you_rated=rated(why.because_you_rated),
        because_you_rated_total=why.positive,
        sentence=why.sentence,
        offset=offset,
        kind="rating",
        rating=RatingExplanation(
            stars=why.stars,
            raw_stars=why.raw,
            lowered_by=rated(why.lowered_by),
            lowered_by_total=why.negative,
            fidelity=StarFidelity(full_stars=f.full, **_checks(f, len(why.because_you_rated))),
            co_raters=why.co_raters,
            co_raters_mean_stars=why.co_raters_mean_stars,
            shares_total=why.shares_total,
        ),
    )


def build_result(
    explainer: PairExplainer, attr: Attribution, top_k: int, ids: BundleIds, seed: int = 0, offset: int = 0
) -> ExplanationResult:
    """Top users, movies and ratings by |attribution| (from ``offset``, at most ``top_k`` each), feature
    totals and fidelity. Fidelity and the subgraph are of the strongest ``top_k`` ratings, whatever the page."""
    sub = attr.subgraph
    user_scores = attr.user_attr.sum(dim=1).numpy()
    movie_scores = attr.movie_attr.sum(dim=1).numpy()
    rating_ids, rating_scores = _rating_scores(attr)
    page = slice(offset, offset + top_k)
    top_users = _top(user_scores)[page]
    top_movies = _top(movie_scores)[page]
    rating_order = _top(rating_scores)
    top_ratings = rating_order[page]
    edges = explainer.adjacency.edge_index
    fid_plus, fid_minus = fidelity(explainer, sub, rating_ids[rating_order[:top_k]])
    rng = np.random.default_rng(seed)
    random_ids = rng.choice(rating_ids, size=min(top_k, rating_ids.size), replace=False)
    rnd_plus, rnd_minus = fidelity(explainer, sub, random_ids)
    keep = np.abs(rating_scores) >= SUBGRAPH_FRACTION * (np.abs(rating_scores).max() if rating_scores.size else 0)
    keep[np.argsort(-np.abs(rating_scores), kind="stable")[top_k:]] = False  # capped: the strongest top_k
    return ExplanationResult(
        probability=float(expit(attr.logit)),
        logit=attr.logit,
        attribution_total=attr.total,
        top_users=[UserInfluence(ids.user(sub.users[i]), float(user_scores[i])) for i in top_users],
        top_movies=[
            MovieInfluence(ids.movie(sub.movies[i]), ids.title(sub.movies[i]), float(movie_scores[i]))
            for i in top_movies
        ],
        top_ratings=[
            RatingInfluence(
                ids.user(edges[0, rating_ids[i]]), ids.movie(edges[1, rating_ids[i]]), float(rating_scores[i])
            )
            for i in top_ratings
        ],
        features={
            name: float(v) for name, v in zip(ids.feature_names, attr.movie_attr.sum(dim=0).tolist(), strict=False)
        },
        subgraph_edges=[
            RatingInfluence(ids.user(edges[0, e]), ids.movie(edges[1, e]), float(s))
            for e, s in zip(rating_ids[keep], rating_scores[keep], strict=True)
        ],
        fidelity_plus=fid_plus,
        fidelity_minus=fid_minus,
        random_fidelity_plus=rnd_plus,
        random_fidelity_minus=rnd_minus,
        offset=offset,
        top_users_total=user_scores.size,
        top_movies_total=movie_scores.size,
        top_ratings_total=rating_scores.size,
    )


class BundleIds:
    """MovieLens ids, titles and feature names of a bundle's contiguous indices."""

    def __init__(self, graph: BundleGraph, feature_names: list[str]) -> None:
        self._users = graph.user_ids.numpy()
        self._movies = graph.movie_ids.numpy()
        self._titles = graph.titles
        self.feature_names = feature_names

    def user(self, index: object) -> int:
        """MovieLens id of a user index."""
        return int(self._users[int(index)])  # type: ignore[call-overload]

    def movie(self, index: object) -> int:
        """MovieLens id of a movie index."""
        return int(self._movies[int(index)])  # type: ignore[call-overload]

    def title(self, index: object) -> str:
        """Title of a movie index."""
        return self._titles[int(index)]  # type: ignore[call-overload]


def _rating_scores(attr: Attribution) -> tuple[np.ndarray, np.ndarray]:
    """One score per rating: its user→movie and movie→user edge attributions summed."""
    ids = torch.cat([attr.subgraph.edge_ids[RATES], attr.subgraph.edge_ids[REV_RATES]]).numpy()
    scores = torch.cat([attr.edge_attr[RATES], attr.edge_attr[REV_RATES]]).numpy()
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique, np.bincount(inverse, weights=scores).astype(np.float64)


def fidelity(explainer: PairExplainer, sub: PairSubgraph, ratings: np.ndarray) -> tuple[float, float]:
    """(fidelity+, fidelity−) in probability: p(G) − p(G without ``ratings``), p(G) − p(only ``ratings``).

    Edges are deleted, not masked: with mean aggregation a zero-masked edge
    would still count in the denominator.
    """
    full = _probability(explainer, sub, None)
    without = _probability(explainer, sub, ratings, keep=False)
    only = _probability(explainer, sub, ratings, keep=True)
    return full - without, full - only


def _probability(explainer: PairExplainer, sub: PairSubgraph, ratings: np.ndarray | None, keep: bool = False) -> float:
    edges = dict(sub.edge_index_dict)
    if ratings is not None:
        chosen = torch.from_numpy(np.asarray(ratings, dtype=np.int64))
        for et in (RATES, REV_RATES):
            hit = torch.isin(sub.edge_ids[et], chosen)
            edges[et] = sub.edge_index_dict[et][:, hit if keep else ~hit]
    x, extra = explainer.inputs(sub)
    with explainer.lock, torch.no_grad():  # no explain masks from a concurrent Captum run
        return float(expit(float(explainer.wrapped(x, edges, **extra)[0])))


def _top(scores: np.ndarray) -> np.ndarray:
    """Positions by |score|, strongest first."""
    return np.argsort(-np.abs(scores), kind="stable")
