"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.settings import CommonSettings

if TYPE_CHECKING:  # the scoring benchmark needs no explainer
    from reelgraph.options import ModelKind
    from reelgraph.scoring import Scorer
    from worker.explainer import Attribution, PairExplainer


def small_link_bundle(
    given: str | None, tmp: Path, *, also: tuple[ModelKind, ...] = (), name: str | None = None
) -> Path:
    """``given`` (a bundles root), or a bundle of the link model (and the ``also`` models) trained for
    3 epochs on ml-latest-small into ``tmp``, named ``name`` (default: the data directory's)."""
    if given:
        return Path(given)
    from reelgraph.options import ModelKind
    from trainer.pipeline import run_training
    from trainer.settings import TrainSettings

    root = CommonSettings.from_env().data_dir
    if root is None:
        sys.exit("set REELGRAPH_DATA_DIR (ml-latest-small inside) or pass --bundles")
    models = (ModelKind.LINK, *also)
    settings = TrainSettings(root / "ml-latest-small", tmp, epochs=3, progress=False, models=models, name=name)
    return run_training(settings)[0].parent.parent


def quality_parser(doc: str | None, quick_help: str) -> argparse.ArgumentParser:
    """The model-quality benchmarks' arguments: ``--quick`` (``quick_help``: what it cuts), ``--seed``, ``--quiet``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def small_data_dir() -> Path | None:
    """``$REELGRAPH_DATA_DIR/ml-latest-small``, or ``None`` after saying on stderr that it is missing."""
    root = CommonSettings.from_env().data_dir
    if root is None or not (root / "ml-latest-small").is_dir():
        print("REELGRAPH_DATA_DIR must hold ml-latest-small/", file=sys.stderr)
        return None
    return root / "ml-latest-small"


def sample_pairs(explainer: PairExplainer, n: int) -> list[tuple[int, int]]:
    """``n`` fixed existing ratings (seed 0) as (user, movie) contiguous indices."""
    rng = np.random.default_rng(0)
    edges = explainer.adjacency.edge_index
    picks = rng.choice(edges.shape[1], n, replace=False)  # fixed, existing ratings
    return [(int(edges[0, i]), int(edges[1, i])) for i in picks]


def max_delta(a: Attribution, full: Attribution) -> float:
    """Max |Δ| over users, movies and both edge types (``full`` on the whole graph)."""
    sub = a.subgraph
    deltas = [
        (a.user_attr - full.user_attr[sub.users]).abs().max(),
        (a.movie_attr - full.movie_attr[sub.movies]).abs().max(),
    ]
    deltas += [(a.edge_attr[et] - full.edge_attr[et][sub.edge_ids[et]]).abs().max() for et in (RATES, REV_RATES)]
    return float(torch.stack(deltas).max())


def ms(values: list[float], q: float) -> str:
    """The ``q``-th percentile of seconds, as milliseconds text."""
    return f"{np.percentile(values, q) * 1000:.0f} ms"


def served_logit(scorer: Scorer, movie_ids: np.ndarray, stars: np.ndarray, target: int) -> float:
    """The link model's logit of ``target`` for a user given by ratings, as served (fold-in)."""
    p = float(scorer.link_probability_from_ratings(movie_ids, stars, np.array([target]))[0])
    p = min(max(p, 1e-7), 1 - 1e-7)
    return float(np.log(p / (1 - p)))


def fold_in_drops(
    scorer: Scorer,
    movie_ids: np.ndarray,
    stars: np.ndarray,
    named: np.ndarray,
    target: int,
    rng: np.random.Generator,
    draws: int = 20,
    score: Callable[[Scorer, np.ndarray, np.ndarray, int], float] = served_logit,
) -> tuple[float, float, float]:
    """(drop without the named, mean drop without as many random over ``draws``, full − only the named),
    in ``score``'s unit (default: served logits) of ``target`` for a user given as ``movie_ids, stars``."""
    full = score(scorer, movie_ids, stars, target)
    k = int(named.sum())
    drop = full - score(scorer, movie_ids[~named], stars[~named], target)
    randoms = []
    for _ in range(draws):
        gone = np.zeros(movie_ids.size, bool)
        gone[rng.choice(movie_ids.size, k, replace=False)] = True
        randoms.append(full - score(scorer, movie_ids[~gone], stars[~gone], target))
    return drop, float(np.mean(randoms)), full - score(scorer, movie_ids[named], stars[named], target)
