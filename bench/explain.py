"""Explanation methods side by side, on the same recommended pairs, in one run.

Run: ``python -m bench.explain [--pairs 100] [--gnn-pairs 10] [--jobs 20] [--bundles DIR | --keep DIR]``.
Trains a bundle with the link GNN, the ranking and the rating models (3 epochs) on
``$REELGRAPH_DATA_DIR/ml-latest-small`` unless ``--bundles`` is given
(``--keep DIR`` trains it there and keeps it).

Pairs: ``--pairs`` stored users with at least 10 ratings (drawn with seed 0),
each with their top-1 recommendation (what ``Recommend`` returns). Every method
names 5 of the user's own ratings:

* reelgraph: ``Scorer.explain_recommendation`` (exact shares of the ranking logit);
* IG, batched (the worker's Integrated Gradients on the link GNN's computation
  subgraph, equal to PyG's CaptumExplainer within 1e-5), the user's ratings by
  attribution (both edge directions summed);
* seed-style CaptumExplainer (PyG ``Explainer`` + ``CaptumExplainer``,
  IntegratedGradients step by step) and PyG's GNNExplainer (edge masks), on the
  first ``--gnn-pairs`` pairs (they take seconds each);
* baseline: the user's highest-rated movies in the target's genres.

Fidelity on the served logit, through the public fold-in API: the logit
``log(p/(1-p))`` of ``link_probability_from_ratings`` with the user's ratings
minus the named 5, minus 5 random ones (mean of 20 draws), and with only the
named 5. On the first ``--own-pairs`` pairs the same named ratings are also
deleted from the link GNN's graph and re-encoded (that model's own logit).
Times are per explanation, in process.
The whole path (gRPC Submit -> DONE through Redis and one worker, the default
method, one job at a time) runs ``--jobs`` jobs.

Rating predictions ("why 4.6★?", when the bundle has the rating model): the same
pairs' predicted stars, each user given as their history
(``Scorer.explain_rating_from_ratings``: leave-one-out shares), against the
genre baseline; fidelity in served stars through ``predict_rating_from_ratings``
(named 5 removed, 5 random removed (20 draws), full − only the named), and the
explainer's own figures in raw stars for the stored users (``explain_rating``).
"""

from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import redis
import torch

from bench.common import fold_in_drops, small_link_bundle
from reelgraph.bundle import load_bundle
from reelgraph.bundle.loader import bundle_names
from reelgraph.cli.redis_process import start_redis
from reelgraph.client import Client
from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.jobs.queue import JobQueue
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from worker.explainer import Attribution, PairExplainer
from worker.result import _rating_scores
from worker.subgraph import PairSubgraph, computation_subgraph

K = 5
DRAWS = 20
Named = Callable[[], np.ndarray]  # -> a mask over the user's history (the named ratings)


@dataclass
class Row:
    """One method's measurements over its pairs."""

    name: str
    drops: list[tuple[float, float, float]] = field(default_factory=list)  # served logit
    own: list[tuple[float, float, float]] = field(default_factory=list)  # link GNN logit
    seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    """A stored user, their top-1 recommendation, and their history (MovieLens ids)."""

    user: int
    movie: int
    movie_ids: np.ndarray
    stars: np.ndarray


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", help="an existing bundles root (link + ranking models)")
    parser.add_argument("--keep", help="train the bundle into this directory and keep it")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--gnn-pairs", type=int, default=10, help="pairs also explained by Captum and GNNExplainer")
    parser.add_argument("--gnnexplainer-epochs", type=int, default=100)
    parser.add_argument("--own-pairs", type=int, default=20, help="pairs also measured on the link GNN's own logit")
    parser.add_argument("--jobs", type=int, default=20, help="whole-path jobs (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads in process")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        bundles = small_link_bundle(args.bundles, out, also=(ModelKind.RANKING, ModelKind.RATING), name="explain")
        name = bundle_names(bundles)[0]
        bundle = load_bundle(bundles / name)
        scorer, explainer = Scorer(bundle), PairExplainer(bundle)
        pairs = _pairs(scorer, args.pairs)
        rating = _measure_ratings(scorer, pairs) if "rating" in bundle.manifest.models else {}
        rows = _measure(scorer, explainer, pairs, args.gnn_pairs, args.gnnexplainer_epochs, args.own_pairs)
        path = _whole_path(bundles, pairs[: args.jobs]) if args.jobs else []
    _print(rows, path, len(pairs))
    _print_ratings(rating, len(pairs))
    return 0


def _measure_ratings(scorer: Scorer, pairs: list[Pair]) -> dict[str, Row]:
    """Rating predictions of the same pairs: leave-one-out named 5 vs the genre baseline, served stars."""
    rows = {
        n: Row(n)
        for n in ("reelgraph (leave-one-out shares of the stars)", "baseline: highest-rated in the target's genres")
    }
    own = Row("explainer's own figures, stored users (raw stars)")
    names = list(rows)
    rng = np.random.default_rng(0)
    for i, pair in enumerate(pairs):

        def reelgraph(pair: Pair = pair) -> np.ndarray:
            why = scorer.explain_rating_from_ratings(pair.movie_ids, pair.stars, pair.movie, k=K)
            return np.isin(pair.movie_ids, [r.movie_id for r in why.because_you_rated])

        for name, named_of in ((names[0], reelgraph), (names[1], partial(_genre_baseline, scorer, pair))):
            t = time.perf_counter()
            named = named_of()
            rows[name].seconds.append(time.perf_counter() - t)
            rows[name].drops.append(
                fold_in_drops(scorer, pair.movie_ids, pair.stars, named, pair.movie, rng, DRAWS, score=_stars)
            )
        t = time.perf_counter()
        f = scorer.explain_rating(pair.user, pair.movie, k=K).fidelity
        own.seconds.append(time.perf_counter() - t)
        own.drops.append((f.deletion_drop, f.random_drop, f.full - f.sufficiency))
        print(f"rating pair {i + 1}/{len(pairs)}", file=sys.stderr, flush=True)
    return {**rows, own.name: own}


def _stars(scorer: Scorer, movie_ids: np.ndarray, stars: np.ndarray, target: int) -> float:
    return float(scorer.predict_rating_from_ratings(movie_ids, stars, np.array([target]))[0])


def _print_ratings(rows: dict[str, Row], n: int) -> None:
    if not rows:
        return
    print()
    print(
        f"Rating predictions of the same {n} pairs (the recommended movie's predicted stars), each user given as "
        f"their history; drops in served stars through predict_rating_from_ratings ({K} named, {DRAWS} random draws):"
    )
    _print_rows(rows, "stars")


def _print_rows(rows: dict[str, Row], unit: str) -> None:
    """One table row per method: mean drops (named, random), their ratio, sufficiency gap, times."""
    print()
    print(f"| method | pairs | {unit} drop, named {K} removed | {K} random removed | ratio | full − only the named | "
          "p50 ms | p95 ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows.values():
        a = np.array(row.drops)
        t = f"{np.median(row.seconds) * 1e3:.1f} | {np.percentile(row.seconds, 95) * 1e3:.1f}" if row.seconds else "|"
        print(f"| {row.name} | {len(a)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | "
              f"{_ratio(a)} | {a[:, 2].mean():.3f} | {t} |")  # fmt: skip


def _pairs(scorer: Scorer, n: int) -> list[Pair]:
    counts = np.diff(scorer.histories.indptr)
    eligible = np.flatnonzero(counts >= 10)
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(eligible, min(n, eligible.size), replace=False))
    users = scorer.users.raw(chosen)
    top = scorer.recommend(users, k=1).movie_ids[:, 0]
    out = []
    for u, user, movie in zip(chosen, users, top, strict=True):
        h = scorer.histories.rows(np.array([u]))
        out.append(Pair(int(user), int(movie), scorer.movies.raw(h.movies), h.stars))
    return out


def _measure(
    scorer: Scorer, explainer: PairExplainer, pairs: list[Pair], gnn_pairs: int, epochs: int, own_pairs: int
) -> dict[str, Row]:
    rows = {
        n: Row(n)
        for n in (
            "reelgraph (exact shares of the ranking logit)",
            "IG on the link GNN, batched (= CaptumExplainer)",
            "seed-style CaptumExplainer (IG, step by step)",
            "GNNExplainer (PyG, edge masks)",
            "baseline: highest-rated in the target's genres",
        )
    }
    names = list(rows)
    own_fidelity, rng = [], np.random.default_rng(0)
    explainer.attribute(*_index(scorer, pairs[0]))  # warm-up (imports, allocator)
    gnn_model = copy.deepcopy(explainer.wrapped)  # GNNExplainer leaves its mask state on the model it explains
    for i, pair in enumerate(pairs):
        u, m = _index(scorer, pair)
        sub = computation_subgraph(explainer.adjacency, u, m)
        why: list[Any] = []

        def reelgraph(pair: Pair = pair, why: list[Any] = why) -> np.ndarray:
            why.append(scorer.explain_recommendation(pair.user, pair.movie, k=K))
            return np.isin(pair.movie_ids, [r.movie_id for r in why[0].because_you_rated])

        methods: list[tuple[str, Named]] = [
            (names[0], reelgraph),
            (names[1], partial(_by_attr, explainer, partial(explainer.attribute_on, sub), pair, scorer)),
            (names[4], partial(_genre_baseline, scorer, pair)),
        ]
        if i < gnn_pairs:
            methods.insert(2, (names[2], partial(_by_attr, explainer, partial(_captum, explainer, sub), pair, scorer)))
            methods.insert(3, (names[3], partial(_by_mask, explainer, gnn_model, sub, pair, scorer, epochs)))
        for name, named_of in methods:
            t = time.perf_counter()
            named = named_of()
            rows[name].seconds.append(time.perf_counter() - t)
            rows[name].drops.append(fold_in_drops(scorer, pair.movie_ids, pair.stars, named, pair.movie, rng, DRAWS))
            if i < own_pairs:
                rows[name].own.append(_link_drops(explainer, scorer, sub, pair, named, rng))
        own_fidelity.append(why[0].fidelity)
        print(f"pair {i + 1}/{len(pairs)}", file=sys.stderr, flush=True)
    f = own_fidelity
    rows["explainer's own re-encoding (reelgraph)"] = Row(
        "explainer's own re-encoding (reelgraph)",
        drops=[(x.deletion_drop, x.random_drop, x.full - x.sufficiency) for x in f],
    )
    return rows


def _index(scorer: Scorer, pair: Pair) -> tuple[int, int]:
    return int(scorer.users.index(np.array([pair.user]))[0]), int(scorer.movies.index(np.array([pair.movie]))[0])


def _by_attr(explainer: PairExplainer, attribute: Callable[[], Attribution], pair: Pair, scorer: Scorer) -> np.ndarray:
    """The user's 5 ratings with the largest positive attribution (both edge directions summed)."""
    ids, scores = _rating_scores(attribute())
    return _top_own(explainer, ids, scores, pair, scorer)


def _top_own(explainer: PairExplainer, ids: np.ndarray, scores: np.ndarray, pair: Pair, scorer: Scorer) -> np.ndarray:
    edges = explainer.adjacency.edge_index
    u = int(scorer.users.index(np.array([pair.user]))[0])
    mine = edges[0, ids] == u
    ids, scores = ids[mine], scores[mine]
    order = np.argsort(-scores, kind="stable")[:K]
    movies = scorer.movies.raw(edges[1, ids[order[scores[order] > 0]]])
    return np.isin(pair.movie_ids, movies)


def _captum(explainer: PairExplainer, sub: PairSubgraph) -> Attribution:
    return explainer.attribute_on(sub, batched=False)


def _by_mask(
    explainer: PairExplainer, model: torch.nn.Module, sub: PairSubgraph, pair: Pair, scorer: Scorer, epochs: int
) -> np.ndarray:
    """GNNExplainer's edge masks on the computation subgraph; the user's 5 highest-masked ratings."""
    from torch_geometric.explain import Explainer
    from torch_geometric.explain.algorithm import GNNExplainer

    x, extra = explainer.inputs(sub)
    gnn = Explainer(
        model=model,
        algorithm=GNNExplainer(epochs=epochs),
        explanation_type="model",
        node_mask_type=None,
        edge_mask_type="object",
        model_config={"mode": "regression", "task_level": "edge", "return_type": "raw"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = gnn(x, sub.edge_index_dict, index=0, **extra)
    ids = torch.cat([sub.edge_ids[RATES], sub.edge_ids[REV_RATES]]).numpy()
    masks = torch.cat([out[RATES].edge_mask, out[REV_RATES].edge_mask]).detach().numpy()
    unique, inverse = np.unique(ids, return_inverse=True)
    return _top_own(explainer, unique, np.bincount(inverse, weights=masks), pair, scorer)


def _genre_baseline(scorer: Scorer, pair: Pair) -> np.ndarray:
    """The user's 5 highest-starred movies sharing a genre with the target (others fill up)."""
    t = scorer.movies.index(np.array([pair.movie]))[0]
    rated = scorer.movies.index(pair.movie_ids)
    shares = (scorer.genres[rated] & scorer.genres[t]).any(axis=1)
    order = np.lexsort((-pair.stars, ~shares))
    mask = np.zeros(pair.movie_ids.size, bool)
    mask[order[:K]] = True
    return mask


def _link_drops(
    explainer: PairExplainer,
    scorer: Scorer,
    sub: PairSubgraph,
    pair: Pair,
    named: np.ndarray,
    rng: np.random.Generator,
    draws: int = 5,
) -> tuple[float, float, float]:
    """The same on the link GNN: the user's named rating edges deleted (both ways), re-encoded."""
    edges = explainer.adjacency.edge_index
    u = int(scorer.users.index(np.array([pair.user]))[0])
    own = explainer.adjacency.user_edges_of(np.array([u]))
    chosen = own[np.isin(scorer.movies.raw(edges[1, own]), pair.movie_ids[named])]

    def without(gone: np.ndarray) -> float:
        d = dict(sub.edge_index_dict)
        for et in (RATES, REV_RATES):
            d[et] = sub.edge_index_dict[et][:, ~torch.isin(sub.edge_ids[et], torch.from_numpy(gone))]
        x, extra = explainer.inputs(sub)
        with torch.no_grad():
            return float(explainer.wrapped(x, d, **extra)[0])

    full = without(np.zeros(0, np.int64))
    randoms = [full - without(rng.choice(own, chosen.size, replace=False)) for _ in range(draws)]
    return full - without(chosen), float(np.mean(randoms)), full - without(np.setdiff1d(own, chosen))


def _whole_path(bundles: Path, pairs: list[Pair]) -> list[float]:
    """Submit -> DONE seconds, one job at a time (the default method), 1 worker."""
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc = start_redis(Path(tmp))
        queue = JobQueue(redis.Redis.from_url(redis_proc.url, decode_responses=True))
        cmd = [sys.executable, "-m", "reelgraph"]
        server = subprocess.Popen(
            [*cmd, "serve", "--bundles", str(bundles), "--port", "0", "--redis", redis_proc.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        work = ["work", "--redis", redis_proc.url, "--bundles", str(bundles), "--name", "bench", "--threads", "2"]
        worker = subprocess.Popen([*cmd, *work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert server.stdout is not None
            target = next(m.group(1) for line in server.stdout if (m := re.search(r"serving on (\S+)", line)))
            deadline = time.monotonic() + 180
            while queue.live_workers() < 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            with Client(target, timeout_s=600) as client:
                return [_one_job(client, p) for p in pairs]
        finally:
            for proc in (worker, server):
                proc.terminate()
                proc.wait(timeout=120)
            redis_proc.stop()


def _one_job(client: Client, pair: Pair) -> float:
    t0 = time.perf_counter()
    job = client.submit_explanation(pair.user, pair.movie, top_k=5).job_id
    for event in client.watch_explanation(job):
        if event.kind in ("done", "failed", "cancelled"):
            if event.kind != "done":
                raise RuntimeError(f"job {job} ended {event.kind}: {event.reason}")
            break
    return time.perf_counter() - t0


def _ratio(a: np.ndarray) -> str:
    return f"{a[:, 0].mean() / a[:, 1].mean():.1f}" if abs(a[:, 1].mean()) > 1e-9 else "n/a"


def _print(rows: dict[str, Row], path: list[float], n: int) -> None:
    print(
        f"Fidelity on the served (ranking) logit through link_probability_from_ratings; {n} recommended pairs "
        f"of ml-latest-small, {K} named ratings, {DRAWS} random draws; times in process, "
        f"{torch.get_num_threads()} torch thread(s), 2-core CPU"
    )
    _print_rows(rows, "logit")
    print()
    print(
        "The same named ratings deleted from the link GNN's graph and re-encoded (the GNN's own logit; 5 random draws):"
    )
    print()
    print(
        f"| method | pairs | link logit drop, named {K} removed | {K} random removed | ratio | full − only the named |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows.values():
        if not row.own:
            continue
        a = np.array(row.own)
        print(f"| {row.name} | {len(a)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | "
              f"{_ratio(a)} | {a[:, 2].mean():.3f} |")  # fmt: skip
    if path:
        print()
        print(f"Whole path Submit -> DONE (gRPC + Redis + 1 worker, default method, one job at a time, {len(path)} "
              f"jobs): p50 {np.median(path) * 1e3:.0f} ms, p95 {np.percentile(path, 95) * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
