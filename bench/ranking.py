"""Top-k ranking benchmarks with the strong simple recommenders in the same run.

Run: ``python -m bench.ranking [--quick] [--only E3,E5,R,X,L,T,S,C] [--seed 0] [--seeds 0,1,2,3,4]``
(``make bench`` runs it).
Reads ``$REELGRAPH_DATA_DIR/ml-latest-small``. Needs the bench-only peer
``implicit`` (``pip install implicit``); PyG's ``LightGCN`` ships with torch_geometric.

* **E3**: 90/10 random split of the ratings; full ranking of every movie with the
  user's training movies excluded; Recall@20 (hits / min(20, |test|)) and NDCG@20.
  Every method is tuned on the same validation split of the 90 %
  (``trainer.ranking.validation_split``, 10 % of it), then refit on the whole 90 %.
* **E5** (strong generalisation): 10 % of the users are held out of training
  entirely; each is given by 80 % of their ratings (``Scorer.recommend_from_ratings``
  on a real bundle) and scored on the other 20 %. Peers fold the same users in:
  EASE ``x·B``, ALS ``recalculate_user``, popularity. Peers keep their E3 settings.
* **R** (responsiveness): E5's users plus 10 five-star ratings of one genre's most
  rated movies: the genre's share of the top-20 before and after.
* **X** (explanations): 150 stored users' top-1, the 5 named "because you rated"
  ratings removed through ``link_probability_from_ratings`` vs 5 random ones.
* **S** (splits): E3 for reelgraph and EASE over ``--seeds`` (default five splits), with
  mean ± sd and the paired difference: one split cannot tell two methods 1 % apart.
* **T** (time): each user's latest 10 % of ratings held out instead of random ones;
  reelgraph, reelgraph without its session share (``s = 0``), EASE and popularity.
  **TS**: the same, holding out only whole later sittings (none shares a sitting with
  a training rating); a line says how many held-out ratings share one in E3, T and TS.
* **C** (control, over ``--seeds``): on E3's validation part, the session-mixed Gram
  matrix against one with the same diagonal and no sittings (``session_control``).
* **L** (latency, in process): ``recommend_from_ratings`` for a 200-rating history,
  and ``Scorer.recommend`` for every user.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from bench.common import fold_in_drops, quality_parser, small_data_dir
from reelgraph.bundle.writer import write_bundle
from reelgraph.data.dataset import MovieLens
from reelgraph.data.readers import read_movielens
from reelgraph.evaluation.ranking import held_out_recall_ndcg
from reelgraph.graphs.hetero import RatingGraph, build_rating_graph
from reelgraph.scoring import Scorer
from trainer.assemble import build_manifest, graph_tensors, plot_files, weight_tensors
from trainer.hyper import RankingHyper
from trainer.progress import Progress
from trainer.ranking import GramParts, dense_corating_weights, eligible_movies, fit_ranking, validation_split
from trainer.sessions import session_ids, session_matrix

K = 20
Score = Callable[[np.ndarray], np.ndarray]  # user rows -> (len, num_movies)


@dataclass(frozen=True)
class Result:
    """One method's figures on one protocol."""

    protocol: str
    method: str
    recall: float
    ndcg: float
    setting: str
    seconds: float


@dataclass(frozen=True)
class Split:
    """Binary user × movie matrices of a protocol: what is seen and what is held out."""

    seen: sp.csr_matrix
    held: sp.csr_matrix


def _matrix(u: np.ndarray, m: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    out = sp.csr_matrix((np.ones(u.size, np.float32), (u, m)), shape=shape)
    out.data[:] = 1.0
    return out


# ---------------------------------------------------------------- peers


def ease_weights(seen: sp.csr_matrix, ridge: float, gram: torch.Tensor | None = None) -> np.ndarray:
    """EASE (Steck 2019): ``B = −P / diag(P)``, zero diagonal, ``P = (XᵀX + λI)⁻¹``; dense."""
    G = torch.from_numpy((seen.T @ seen).toarray()) if gram is None else gram.clone()
    G.diagonal().add_(ridge)
    P = torch.cholesky_inverse(torch.linalg.cholesky(G))
    B = P / -P.diagonal()
    B.fill_diagonal_(0.0)
    out: np.ndarray = B.numpy()
    return out


def als_model(seen: sp.csr_matrix, factors: int, reg: float, alpha: float, seed: int):  # type: ignore[no-untyped-def]
    """implicit's ALS (confidence ``1 + α``), 20 iterations."""
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=factors, regularization=reg, alpha=alpha, iterations=20, random_state=seed, num_threads=0
    )
    model.fit(seen, show_progress=False)
    return model


def lightgcn_scores(
    seen: sp.csr_matrix, epochs: int, lr: float, seed: int, every: int, validate: Callable[[Score], float] | None
) -> tuple[Score, list[float]]:
    """PyG ``LightGCN`` (64 dims, 3 layers) trained with BPR on uniform negatives.

    Returns the final scorer and the validation curve (every ``every`` epochs).
    """
    from torch_geometric.nn import LightGCN
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    torch.manual_seed(seed)
    n_users, n_movies = seen.shape
    n = n_users + n_movies
    u, m = seen.nonzero()
    src = torch.from_numpy(u.astype(np.int64))
    dst = torch.from_numpy(m.astype(np.int64)) + n_users
    both = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)
    # LightGCN's symmetric normalisation computed once (LGConv would redo it every step), as a sparse adjacency.
    both, weight = gcn_norm(both, None, n, add_self_loops=False)
    edge_index = torch.sparse_coo_tensor(both.flip(0), weight, (n, n)).coalesce().to_sparse_csr()
    model = LightGCN(n, embedding_dim=64, num_layers=3, normalize=False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def score(rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            emb = model.get_embedding(edge_index)
        out: np.ndarray = (emb[torch.from_numpy(rows)] @ emb[n_users:].T).numpy()
        return out

    curve = []
    for epoch in range(1, epochs + 1):
        for batch in torch.randperm(src.numel()).split(8192):
            neg = torch.randint(n_users, n_users + n_movies, (batch.numel(),))
            pairs = torch.stack([torch.cat([src[batch], src[batch]]), torch.cat([dst[batch], neg])])
            rank = model(edge_index, pairs)
            pos, negr = rank.chunk(2)
            loss = model.recommendation_loss(pos, negr, node_id=pairs.unique(), lambda_reg=1e-4)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if validate is not None and epoch % every == 0:
            curve.append(validate(score))
    return score, curve


# ---------------------------------------------------------------- E3


@dataclass
class Tuned:
    """Peer settings chosen on the E3 validation split (reused by E5)."""

    ease_ridge: float = 300.0
    als: tuple[int, float, float] = (64, 0.5, 5.0)


def e3(data: MovieLens, seed: int, quick: bool, progress: Progress, tuned: Tuned) -> list[Result]:
    """Every method tuned on the same validation split, refit on the 90 %, scored on the 10 %."""
    train, tuning, final = e3_split(data, seed)
    out = [_timed("E3", "popularity", "", lambda: _popularity(final.seen), final)]
    out.append(_e3_reelgraph(data, train, final, seed, quick, progress))
    out.append(_e3_ease(tuning, final, quick, tuned))
    out.append(_e3_als(tuning, final, seed, quick, tuned))
    out.append(_e3_lightgcn(tuning, final, seed, quick))
    return out


def e3_split(data: MovieLens, seed: int) -> tuple[np.ndarray, Split, Split]:
    """E3's split for ``seed``: the 90 % training rating positions, the tuning split of them, the final split."""
    perm = np.random.default_rng(seed).permutation(len(data.ratings))
    n_test = len(data.ratings) // 10
    return _splits(data, np.sort(perm[n_test:]), perm[:n_test], seed)


def latest_split(data: MovieLens, seed: int, gap_s: float | None = None) -> tuple[np.ndarray, Split, Split]:
    """Protocol T: each user's latest 10 % of ratings (rounded down, by time) held out, as ``e3_split``.

    With ``gap_s`` (protocol TS) only whole later sittings are held out: the cut
    moves forward to the next session start (pauses over ``gap_s`` seconds), so
    no held-out rating shares a sitting with a training rating; a user whose
    latest 10 % lie in their last sitting's middle holds out nothing. The tuning
    split inside the training part stays random (as ``reelgraph train``'s).
    """
    r = data.ratings
    times = r["timestamp"].to_numpy()
    order = np.lexsort((np.arange(len(r)), times, r["user_id"].to_numpy()))
    user, t = r["user_id"].to_numpy()[order], times[order]
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    counts = np.diff(np.r_[starts, user.size])
    rank = np.arange(user.size) - np.repeat(starts, counts)  # position within the user's time order
    cut = np.repeat(counts - counts // 10, counts)
    if gap_s is None:
        held = rank >= cut
    else:
        opens = np.r_[True, (user[1:] != user[:-1]) | (np.diff(t) > gap_s)]
        session = np.cumsum(opens) - 1
        held = rank[opens][session] >= cut  # the rank of the sitting's first rating
    return _splits(data, np.sort(order[~held]), order[held], seed)


def _splits(data: MovieLens, train: np.ndarray, test: np.ndarray, seed: int) -> tuple[np.ndarray, Split, Split]:
    r = data.ratings
    rg = build_rating_graph(data)
    users = rg.users.index(r["user_id"].to_numpy())
    movies = rg.movies.index(r["movie_id"].to_numpy())
    shape = (len(rg.users), len(rg.movies))
    fit, val = _tuning_positions(train, seed)
    final = Split(_matrix(users[train], movies[train], shape), _matrix(users[test], movies[test], shape))
    tuning = Split(_matrix(users[fit], movies[fit], shape), _matrix(users[val], movies[val], shape))
    return train, tuning, final


def _tuning_positions(train: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (fit, validation) rating positions of ``train`` that every method tunes on (as ``fit_ranking``)."""
    fit_pos, val_pos = validation_split(train.size, RankingHyper().val_fraction, seed)
    return train[fit_pos], train[val_pos]


def shared_sittings(data: MovieLens, train: np.ndarray, gap_s: float) -> float:
    """Share of the held-out ratings (those not at ``train`` positions) whose session holds a training rating.

    Sessions as the ranking model cuts them (``trainer.sessions``, pauses over ``gap_s`` seconds).
    """
    r = data.ratings
    ids = session_ids(r["user_id"].to_numpy(), r["timestamp"].to_numpy(), gap_s)
    held = np.ones(ids.size, dtype=bool)
    held[train] = False
    return float(np.isin(ids[held], ids[~held]).mean()) if held.any() else 0.0


def sittings_line(data: MovieLens, seed: int, gap_s: float) -> str:
    """Per protocol: users scored and the share of held-out ratings sharing a sitting with training ratings."""
    parts = []
    for name, (train, _, final) in (
        ("E3", e3_split(data, seed)),
        ("T", latest_split(data, seed)),
        ("TS", latest_split(data, seed, gap_s)),
    ):
        users = int((np.diff(final.held.indptr) > 0).sum())
        parts.append(f"{name}: {users} users, {shared_sittings(data, train, gap_s):.1%} of held-out ratings")
    return f"Held out in a sitting (pauses ≤ {gap_s:g} s) that also holds training ratings — " + "; ".join(parts)


def latest(data: MovieLens, seed: int, quick: bool, progress: Progress, whole_sittings: bool = False) -> list[Result]:
    """Protocol T (TS with ``whole_sittings``): reelgraph with and without its session share (``s = 0``),
    EASE and popularity on ``latest_split``.

    Sessions help most where a held-out rating shares a sitting with training
    ratings (most do in a random split); T holds out each user's latest
    ratings, about half of which still share their sitting with training
    ratings; TS holds out whole later sittings only.
    """
    protocol = "TS" if whole_sittings else "T"
    train, tuning, final = latest_split(data, seed, _hyper(quick).session_gap if whole_sittings else None)
    no_sessions = dataclasses.replace(_hyper(quick), session_share=(0.0,))
    return [
        _e3_reelgraph(data, train, final, seed, quick, progress, protocol=protocol),
        dataclasses.replace(
            _e3_reelgraph(data, train, final, seed, quick, progress, protocol=protocol, hp=no_sessions),
            method="reelgraph, s = 0",
        ),
        dataclasses.replace(_e3_ease(tuning, final, quick, Tuned()), protocol=protocol),
        _timed(protocol, "popularity", "", lambda: _popularity(final.seen), final),
    ]


def e3_seeds(data: MovieLens, seeds: list[int], quick: bool, progress: Progress) -> list[str]:
    """E3 for reelgraph and EASE over several splits: per-seed rows, mean ± sd, the paired difference.

    One split's difference between two close methods is within the split's noise; the
    paired difference over seeds (same split for both) says whether either leads.
    """
    rows, pairs = [], []
    for seed in seeds:
        train, tuning, final = e3_split(data, seed)
        ours = _e3_reelgraph(data, train, final, seed, quick, progress)
        ease = _e3_ease(tuning, final, quick, Tuned())
        pairs.append((ours, ease))
        rows.append(
            f"| {seed} | {ours.recall:.4f} | {ease.recall:.4f} | {ours.recall / ease.recall:.3f} "
            f"| {ours.ndcg:.4f} | {ease.ndcg:.4f} | {ours.ndcg / ease.ndcg:.3f} | {ours.setting}; EASE {ease.setting} |"
        )
    stats = {name: np.array([[getattr(o, name), getattr(e, name)] for o, e in pairs]) for name in ("recall", "ndcg")}
    mean = {k: v.mean(axis=0) for k, v in stats.items()}
    sd = {k: v.std(axis=0, ddof=1) if len(seeds) > 1 else np.zeros(2) for k, v in stats.items()}
    rows.append(
        f"| mean ± sd | {mean['recall'][0]:.4f} ± {sd['recall'][0]:.4f} | {mean['recall'][1]:.4f} ± "
        f"{sd['recall'][1]:.4f} | {mean['recall'][0] / mean['recall'][1]:.3f} | {mean['ndcg'][0]:.4f} ± "
        f"{sd['ndcg'][0]:.4f} | {mean['ndcg'][1]:.4f} ± {sd['ndcg'][1]:.4f} | "
        f"{mean['ndcg'][0] / mean['ndcg'][1]:.3f} | |"
    )
    for name, label in (("recall", "Recall@20"), ("ndcg", "NDCG@20")):
        diff = stats[name][:, 0] - stats[name][:, 1]
        spread = diff.std(ddof=1) if diff.size > 1 else 0.0
        t = diff.mean() / (spread / np.sqrt(diff.size)) if spread > 0 else float("nan")
        wins = int((diff > 0).sum())
        rows.append(
            f"| reelgraph − EASE, {label} | {diff.mean():+.4f} ± {spread:.4f} (paired t = {t:.2f}; "
            f"reelgraph ahead on {wins} of {diff.size} splits) | | | | | | |"
        )
    return rows


CONTROL_RIDGE = (5.0, 10.0, 20.0, 35.0, 50.0, 100.0, 200.0)
"""λ grid of the diagonal control: its mix already adds ``s·n_j`` to each diagonal entry."""


def session_control(data: MovieLens, seeds: list[int], quick: bool, progress: Progress) -> list[str]:
    """Protocol C: does the session share help through the sittings, or only through a heavier diagonal?

    ``(1 − s)·XᵀX + s·SᵀS`` keeps the rating counts on the diagonal and shrinks
    everything off it, which alone is a per-movie ridge (as EDLAE's dropout
    penalty, Steck 2020). The control ``(1 − s)·XᵀX + s·diag(XᵀX)`` has the same
    diagonal and no sitting information. Each Gram matrix gets its best λ on the
    E3 split's validation part (dense, unpruned weights over the eligible
    movies, γ = π = 0), so all three are tuned alike; rows per seed and share.
    """
    hp = _hyper(quick)
    shares = [s for s in hp.session_share if s > 0]
    rg = build_rating_graph(data)
    rows = []
    with progress.task("control: session vs diagonal Gram", len(seeds) * (1 + 2 * len(shares))) as advance:
        for seed in seeds:
            seen, held, parts, keep = _control_parts(data, rg, seed, hp)
            whole = parts.mix(0.0, torch.device("cpu"))
            base = _best_dense(whole, hp.ridge, seen, held, keep)
            advance(f"seed {seed} s = 0")
            rows.append(f"| {seed} | whole history | 0 | {base[0]:g} | {base[1]:.4f} | {base[2]:.4f} | |")
            for share in shares:
                diag = whole * (1 - share)
                diag.diagonal().copy_(whole.diagonal())
                for name, gram, grid in (
                    ("sittings", parts.mix(share, torch.device("cpu")), hp.ridge),
                    ("diagonal control", diag, CONTROL_RIDGE),
                ):
                    lam, recall, ndcg = _best_dense(gram, grid, seen, held, keep)
                    advance(f"seed {seed} {name} s = {share:g}")
                    rows.append(
                        f"| {seed} | {name} | {share:g} | {lam:g} | {recall:.4f} | {ndcg:.4f} "
                        f"| {recall - base[1]:+.4f} / {ndcg - base[2]:+.4f} |"
                    )
    return rows


def _control_parts(
    data: MovieLens, rg: RatingGraph, seed: int, hp: RankingHyper
) -> tuple[sp.csr_matrix, sp.csr_matrix, GramParts, np.ndarray]:
    """E3's validation part for ``seed``: its seen and held-out matrices, Gram parts, eligible movies."""
    train, tuning, _ = e3_split(data, seed)
    r = data.ratings.iloc[_tuning_positions(train, seed)[0]]
    sessions = session_matrix(
        rg.users.index(r["user_id"].to_numpy()),
        rg.movies.index(r["movie_id"].to_numpy()),
        r["timestamp"].to_numpy(),
        len(rg.movies),
        hp.session_gap,
    )
    keep = eligible_movies(tuning.seen, hp)
    return tuning.seen, tuning.held, GramParts.of(tuning.seen, sessions, keep), keep


def _best_dense(
    gram: torch.Tensor, grid: tuple[float, ...], seen: sp.csr_matrix, held: sp.csr_matrix, keep: np.ndarray
) -> tuple[float, float, float]:
    """(λ, Recall@20, NDCG@20) of the best λ in ``grid`` for dense weights on ``gram``."""
    X = seen[:, keep].astype(np.float32)
    best = (0.0, -1.0, -1.0)
    for lam in grid:
        B = dense_corating_weights(gram, lam).numpy()

        def score(rows: np.ndarray, B: np.ndarray = B) -> np.ndarray:
            out = np.full((rows.size, seen.shape[1]), -1e9, np.float32)  # movies without weights rank last
            out[:, keep] = X[rows] @ B
            return out

        recall, ndcg = held_out_recall_ndcg(score, seen, held, K)
        if recall > best[1]:
            best = (lam, recall, ndcg)
    return best


def _timed(protocol: str, method: str, setting: str, make: Callable[[], Score], split: Split) -> Result:
    t = time.perf_counter()
    score = make()
    recall, ndcg = held_out_recall_ndcg(score, split.seen, split.held, K)
    return Result(protocol, method, recall, ndcg, setting, time.perf_counter() - t)


def _popularity(seen: sp.csr_matrix) -> Score:
    counts = np.asarray(seen.sum(axis=0)).ravel().astype(np.float32)
    return lambda rows: np.tile(counts, (rows.size, 1))


def _e3_reelgraph(
    data: MovieLens,
    train: np.ndarray,
    final: Split,
    seed: int,
    quick: bool,
    progress: Progress,
    protocol: str = "E3",
    hp: RankingHyper | None = None,
) -> Result:
    t = time.perf_counter()
    hp = _hyper(quick) if hp is None else hp
    scorer = _bundle_scorer(data.with_ratings(data.ratings.iloc[train]), hp, seed, progress)
    seen_rows = final.seen
    # Scorer.recommend ranks stored users by exactly these scores (its histories are the 90 %).
    rows = scorer.users.index(scorer.users.ids)
    assert np.array_equal(rows, np.arange(seen_rows.shape[0]))
    head = scorer.ranking
    assert head is not None
    recall, ndcg = held_out_recall_ndcg(lambda r: head.scores(scorer.histories.rows(r)), final.seen, final.held, K)
    entry = scorer.bundle.manifest.models["ranking"]
    m, c = entry.metrics, entry.config
    setting = (
        f"session share={m['session_share']:g} λ={m['ridge']:g} edges/movie={m['edges_per_movie']:g} "
        f"γ={c['star_slope']:g} π={c['popularity']:g}"
    )
    return Result(protocol, "reelgraph", recall, ndcg, setting, time.perf_counter() - t)


def _hyper(quick: bool) -> RankingHyper:
    if quick:
        return RankingHyper(
            ridge=(200.0,), session_share=(0.0, 0.75), edges_per_movie=(512,), star_slope=(0.0, 0.1), popularity=(0.0,)
        )
    return RankingHyper()


def _bundle_scorer(data: MovieLens, hp: RankingHyper, seed: int, progress: Progress) -> Scorer:
    """Fit the ranking model, write a real bundle, load it through the public Scorer."""
    rg = build_rating_graph(data)
    result = fit_ranking(rg, hp, seed, torch.device("cpu"), progress)
    root = Path(tempfile.mkdtemp(prefix="rg-bench-"))
    path = write_bundle(
        root,
        build_manifest("bench", data, rg, [result]),
        weight_tensors([result]),
        graph_tensors(data, rg),
        plot_files([result]),
    )
    return Scorer.load(path)


def _e3_ease(tuning: Split, final: Split, quick: bool, tuned: Tuned) -> Result:
    t = time.perf_counter()
    gram = torch.from_numpy((tuning.seen.T @ tuning.seen).toarray())
    grid = (300.0,) if quick else RankingHyper().ridge  # reelgraph's own λ grid

    def val_recall(lam: float) -> float:
        B = ease_weights(tuning.seen, lam, gram)
        return _recall_of(lambda r: tuning.seen[r] @ B, tuning)

    best = max(grid, key=val_recall)
    tuned.ease_ridge = best
    B = ease_weights(final.seen, best)
    recall, ndcg = held_out_recall_ndcg(lambda r: final.seen[r] @ B, final.seen, final.held, K)
    return Result(
        "E3", "EASE", recall, ndcg, f"λ={best:g} (of {', '.join(f'{g:g}' for g in grid)})", time.perf_counter() - t
    )


def _recall_of(score: Score, split: Split) -> float:
    return held_out_recall_ndcg(score, split.seen, split.held, K)[0]


def _e3_als(tuning: Split, final: Split, seed: int, quick: bool, tuned: Tuned) -> Result:
    t = time.perf_counter()
    grid = [(64, 0.5, 5.0)] if quick else [(f, r, a) for f in (64, 128) for r in (0.05, 0.5) for a in (5.0, 20.0)]

    def val_recall(params: tuple[int, float, float]) -> float:
        model = als_model(tuning.seen, *params, seed)
        return _recall_of(lambda r: model.user_factors[r] @ model.item_factors.T, tuning)

    best = max(grid, key=val_recall)
    tuned.als = best
    model = als_model(final.seen, *best, seed)
    recall, ndcg = held_out_recall_ndcg(
        lambda r: model.user_factors[r] @ model.item_factors.T, final.seen, final.held, K
    )
    return Result(
        "E3", "ALS (implicit)", recall, ndcg, f"factors={best[0]} reg={best[1]} α={best[2]:g}", time.perf_counter() - t
    )


def _e3_lightgcn(tuning: Split, final: Split, seed: int, quick: bool) -> Result:
    t = time.perf_counter()
    epochs, every = (20, 10) if quick else (60, 10)
    best_lr, best_epochs, best_recall = 1e-3, every, -1.0
    for lr in (5e-3,) if quick else (1e-3, 5e-3):
        _, curve = lightgcn_scores(tuning.seen, epochs, lr, seed, every, lambda s: _recall_of(s, tuning))
        i = int(np.argmax(curve))
        if curve[i] > best_recall:
            best_lr, best_epochs, best_recall = lr, (i + 1) * every, curve[i]
    score, _ = lightgcn_scores(final.seen, best_epochs, best_lr, seed, every, None)
    recall, ndcg = held_out_recall_ndcg(score, final.seen, final.held, K)
    return Result(
        "E3", "LightGCN (PyG, BPR)", recall, ndcg, f"lr={best_lr:g} epochs={best_epochs}", time.perf_counter() - t
    )


# ---------------------------------------------------------------- E5 and responsiveness


@dataclass(frozen=True)
class HeldOutUsers:
    """E5: who is held out, their given (80 %) and hidden (20 %) ratings as MovieLens ids."""

    user_ids: np.ndarray
    given: list[tuple[np.ndarray, np.ndarray]]  # (movie ids, stars) per user
    hidden: list[np.ndarray]  # movie ids per user


def e5(
    data: MovieLens, seed: int, quick: bool, progress: Progress, tuned: Tuned
) -> tuple[list[Result], Scorer, HeldOutUsers]:
    """Users unseen in training, folded in from 80 % of their ratings."""
    r = data.ratings
    rng = np.random.default_rng(seed + 5)
    all_users = np.unique(r["user_id"].to_numpy())
    held_ids = np.sort(rng.choice(all_users, all_users.size // 10, replace=False))
    is_held = np.isin(r["user_id"].to_numpy(), held_ids)
    t = time.perf_counter()
    scorer = _bundle_scorer(data.with_ratings(r[~is_held]), _hyper(quick), seed, progress)
    train_secs = time.perf_counter() - t
    held = _held_out(r[is_held], held_ids, rng)
    shape = (held_ids.size, len(scorer.movies))
    seen = _rows_matrix([scorer.movies.index(g[0]) for g in held.given], shape)
    hidden = _rows_matrix([scorer.movies.index(h) for h in held.hidden], shape)
    split = Split(seen, hidden)

    def reelgraph(rows: np.ndarray) -> np.ndarray:
        return np.stack([_fold_in_scores(scorer, *held.given[i]) for i in rows])

    out = [
        dataclasses.replace(
            _timed("E5", "reelgraph", "recommend_from_ratings", lambda: reelgraph, split), seconds=train_secs
        )
    ]
    train_seen = scorer.histories.matrix(len(scorer.movies))
    out.append(_timed("E5", "popularity", "", lambda: _popularity(train_seen), split))
    B = ease_weights(train_seen, tuned.ease_ridge)
    out.append(_timed("E5", "EASE", f"x·B, λ={tuned.ease_ridge:g}", lambda: lambda rows: seen[rows] @ B, split))
    out.append(
        _timed("E5", "ALS (implicit)", "recalculate_user", lambda: _als_fold_in(train_seen, seen, tuned, seed), split)
    )
    return out, scorer, held


def _held_out(ratings, held_ids: np.ndarray, rng: np.random.Generator) -> HeldOutUsers:  # type: ignore[no-untyped-def]
    given, hidden = [], []
    for uid in held_ids:
        rows = ratings[ratings["user_id"] == uid]
        order = rng.permutation(len(rows))
        cut = round(0.8 * len(rows))
        movie_ids, stars = rows["movie_id"].to_numpy(), rows["rating"].to_numpy()
        given.append((movie_ids[order[:cut]].astype(np.int64), stars[order[:cut]].astype(np.float32)))
        hidden.append(movie_ids[order[cut:]].astype(np.int64))
    return HeldOutUsers(held_ids, given, hidden)


def _rows_matrix(rows: list[np.ndarray], shape: tuple[int, int]) -> sp.csr_matrix:
    u = np.concatenate([np.full(r.size, i) for i, r in enumerate(rows)])
    return _matrix(u, np.concatenate(rows), shape)


def _fold_in_scores(scorer: Scorer, movie_ids: np.ndarray, stars: np.ndarray) -> np.ndarray:
    """Full score row of a history through the public API (top-K = all movies, by probability)."""
    n = len(scorer.movies)
    rec = scorer.recommend_from_ratings(movie_ids, stars, k=n)
    out = np.full(n, -np.inf)
    ok = rec.movie_ids[0] >= 0
    # Rank order is all that Recall/NDCG read: position-based scores keep ties as the API ordered them.
    out[scorer.movies.index(rec.movie_ids[0][ok])] = -np.arange(ok.sum(), dtype=np.float64)
    return out


def _als_fold_in(train_seen: sp.csr_matrix, seen: sp.csr_matrix, tuned: Tuned, seed: int) -> Score:
    model = als_model(train_seen, *tuned.als, seed)

    def score(rows: np.ndarray) -> np.ndarray:
        factors = np.stack([np.asarray(model.recalculate_user(0, seen[[i]])).ravel() for i in rows])
        out: np.ndarray = factors @ model.item_factors.T
        return out

    return score


GENRES = ("Horror", "Animation", "Romance", "Sci-Fi", "Documentary")


def responsiveness(scorer: Scorer, held: HeldOutUsers) -> list[str]:
    """Genre share of the top-20 before and after 10 five-star ratings of that genre's most rated movies.

    Both lists leave the 10 added movies out (a rated movie is never recommended back).
    """
    names = list(scorer.bundle.manifest.data["genre_names"])
    counts = np.diff(scorer.histories.matrix(len(scorer.movies)).tocsc().indptr)
    lines = []
    for genre in GENRES:
        in_genre = scorer.genres[:, names.index(genre)].astype(bool)
        before, after = [], []
        for movie_ids, stars in held.given:
            mine = np.isin(scorer.movies.ids, movie_ids)
            pick = np.flatnonzero(in_genre & ~mine)
            pick = pick[np.argsort(-counts[pick], kind="stable")[:10]]
            # The added movies are never recommended back: leave them out of "before" too.
            base = scorer.recommend_from_ratings(movie_ids, stars, k=K + pick.size).movie_ids[0]
            base = base[~np.isin(base, scorer.movies.raw(pick))][:K]
            more = scorer.recommend_from_ratings(
                np.concatenate([movie_ids, scorer.movies.raw(pick)]),
                np.concatenate([stars, np.full(pick.size, 5.0)]),
                k=K,
            ).movie_ids[0]
            before.append(in_genre[scorer.movies.index(base)].mean())
            after.append(in_genre[scorer.movies.index(more)].mean())
        lines.append(f"| {genre} | {len(before)} | {np.mean(before):.3f} | {np.mean(after):.3f} |")
    return lines


def latency(scorer: Scorer, seed: int) -> list[str]:
    """In-process p50/p95 of a 200-rating history and the all-users top-10."""
    rng = np.random.default_rng(seed)
    movie_ids = rng.choice(scorer.movies.ids, 200, replace=False)
    stars = rng.choice(np.arange(1, 11) / 2, 200).astype(np.float32)
    calls: tuple[tuple[str, Callable[[], object], int], ...] = (
        (
            "recommend_from_ratings, 200 ratings, k=10",
            lambda: scorer.recommend_from_ratings(movie_ids, stars, k=10),
            300,
        ),
        (
            "link_probability_from_ratings, 200 ratings, 100 candidates",
            lambda: scorer.link_probability_from_ratings(movie_ids, stars, scorer.movies.ids[:100]),
            300,
        ),
        (
            f"recommend for all {len(scorer.users)} stored users, k=10",
            lambda: scorer.recommend(scorer.users.ids, k=10),
            10,
        ),
    )
    return [_timing_row(name, call, n) for name, call, n in calls]


def grpc_latency(scorer: Scorer, seed: int) -> list[str]:
    """Over gRPC to a ``reelgraph serve`` process on loopback: every stored user's top-10, a history Recommend."""
    from bench.scoring import _start_server
    from reelgraph.client import Client

    served = _start_server(scorer.bundle.path.parent.parent)
    rng = np.random.default_rng(seed)
    movie_ids = rng.choice(scorer.movies.ids, 200, replace=False)
    stars = rng.choice(np.arange(1, 11) / 2, 200).astype(np.float32)
    users = scorer.users.ids.tolist()
    try:
        with Client(served.target) as client:
            calls: tuple[tuple[str, Callable[[], object], int], ...] = (
                (
                    f"gRPC Recommend, all {len(users)} stored users in one call, k=10",
                    lambda: list(client.recommend(users, k=10)),
                    10,
                ),
                (
                    "gRPC Recommend, one user given as 200 ratings, k=10",
                    lambda: client.recommend_from_ratings(movie_ids, stars, k=10),
                    300,
                ),
            )
            return [_timing_row(name, call, n) for name, call, n in calls]
    finally:
        served.stop()


def _timing_row(name: str, call: Callable[[], object], n: int) -> str:
    call()  # warm-up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    return f"| {name} | {n} | {np.median(ms):.2f} | {np.percentile(ms, 95):.2f} |"


def explanations(scorer: Scorer, n_users: int, seed: int) -> list[str]:
    """Fidelity of the named "because you rated" movies, measured through the public fold-in API.

    For each of the first ``n_users`` stored users and their top-1 recommendation:
    the logit ``log(p / (1 − p))`` of ``link_probability_from_ratings`` with the
    whole history, without the 5 named ratings, without 5 random ratings (mean
    of 20 draws) and with only the named ones; the same for the trivial
    baseline "your highest-rated movies in the target's genres".
    """
    rng = np.random.default_rng(seed)
    users = scorer.users.ids[:n_users]
    top = scorer.recommend(users, k=1).movie_ids[:, 0]
    rows: dict[str, list[tuple[float, float, float]]] = {"reelgraph (exact shares)": [], "highest-rated in genres": []}
    own, times = [], []
    for user, target in zip(users, top, strict=True):
        h = scorer.histories.rows(scorer.users.index(np.array([user])))
        movie_ids, stars = scorer.movies.raw(h.movies), h.stars
        if movie_ids.size < 10:
            continue
        t = time.perf_counter()
        why = scorer.explain_recommendation(int(user), int(target))
        times.append(time.perf_counter() - t)
        own.append(why.fidelity)
        named = np.isin(movie_ids, [r.movie_id for r in why.because_you_rated])
        rows["reelgraph (exact shares)"].append(fold_in_drops(scorer, movie_ids, stars, named, int(target), rng))
        rows["highest-rated in genres"].append(
            fold_in_drops(scorer, movie_ids, stars, _genre_baseline(scorer, h, int(target)), int(target), rng)
        )
    lines = []
    for name, vals in rows.items():
        a = np.array(vals)
        lines.append(
            f"| {name} | {len(vals)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | "
            f"{a[:, 0].mean() / a[:, 1].mean():.1f} | {a[:, 2].mean():.3f} |"
        )
    f = own
    lines.append(
        f"| explainer's own re-encoding (reelgraph) | {len(f)} | {np.mean([x.deletion_drop for x in f]):.3f} | "
        f"{np.mean([x.random_drop for x in f]):.3f} | "
        f"{np.mean([x.deletion_drop for x in f]) / np.mean([x.random_drop for x in f]):.1f} | "
        f"{np.mean([x.full - x.sufficiency for x in f]):.3f} |"
    )
    lines.append(
        f"\nexplain_recommendation in process: p50 {np.median(times) * 1e3:.1f} ms, "
        f"p95 {np.percentile(times, 95) * 1e3:.1f} ms over {len(times)} pairs"
    )
    return lines


def _genre_baseline(scorer: Scorer, h, target: int, k: int = 5) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Mask of the user's 5 highest-starred movies sharing a genre with the target (others fill up)."""
    t = scorer.movies.index(np.array([target]))[0]
    shares = (scorer.genres[h.movies] & scorer.genres[t]).any(axis=1)
    order = np.lexsort((-h.stars, ~shares))  # genre matches first, then by stars
    mask = np.zeros(h.movies.size, bool)
    mask[order[:k]] = True
    return mask


# ---------------------------------------------------------------- output


def render(results: list[Result]) -> str:
    """Markdown table, each protocol's rows with the ratio to EASE."""
    lines = [
        "| protocol | method | Recall@20 | NDCG@20 | ÷ EASE (recall) | ÷ EASE (NDCG) | setting | seconds |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        ease = next(x for x in results if x.protocol == r.protocol and x.method == "EASE")
        lines.append(
            f"| {r.protocol} | {r.method} | {r.recall:.4f} | {r.ndcg:.4f} | {r.recall / ease.recall:.3f} "
            f"| {r.ndcg / ease.ndcg:.3f} | {r.setting} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the protocols, print the tables; exit 1 when reelgraph trails EASE on E3 or E5 (T only reports)."""
    parser = quality_parser(__doc__, "one setting per method, fewer epochs (minutes)")
    parser.add_argument(
        "--only",
        default="E3,E5,R,X,L,T",
        help="comma-separated: E3, E5, R, X (explanations), L (R, X, L train E5), S (E3 over --seeds: reelgraph, "
        "EASE), T (each user's latest ratings held out, and TS: their latest whole sittings; reelgraph with and "
        "without sessions, EASE, popularity), C (over --seeds: the session share against a control with the "
        "same diagonal and no sittings)",
    )
    parser.add_argument("--seeds", default="0,1,2,3,4", help="the splits protocols S and C run (comma-separated)")
    args = parser.parse_args(argv)
    data_dir = small_data_dir()
    if data_dir is None:
        return 2
    only = {p.strip().upper() for p in args.only.split(",")}
    seeds = [int(x) for x in args.seeds.split(",")]
    progress = Progress(not args.quiet)
    data = read_movielens(data_dir)
    tuned, results = Tuned(), []
    if "E3" in only:
        results += e3(data, args.seed, args.quick, progress, tuned)
    if only & {"E5", "R", "X", "L"}:
        rows, scorer, held = e5(data, args.seed, args.quick, progress, tuned)
        results += rows
    if "T" in only:
        results += latest(data, args.seed, args.quick, progress)
        results += latest(data, args.seed, args.quick, progress, whole_sittings=True)
    if results:
        print(render(results))
    if "T" in only:
        print("\n" + sittings_line(data, args.seed, RankingHyper().session_gap))
    if "R" in only:
        print("\n| genre | users | share of top-20 before | after +10 five-star ratings |\n|---|---:|---:|---:|")
        print("\n".join(responsiveness(scorer, held)))
    if "X" in only:
        print(
            "\n| explanation method | pairs | logit drop, named 5 removed | random 5 removed | ratio "
            "| full − only the named |\n|---|---:|---:|---:|---:|---:|"
        )
        print("\n".join(explanations(scorer, 150, args.seed)))
    if "S" in only:
        print(
            "\n| E3 split seed | reelgraph Recall@20 | EASE Recall@20 | ratio | reelgraph NDCG@20 | EASE NDCG@20 "
            "| ratio | settings (chosen on each split's validation part) |\n|---|---:|---:|---:|---:|---:|---:|---|"
        )
        print("\n".join(e3_seeds(data, seeds, args.quick, progress)))
    if "C" in only:
        print(
            "\n| E3 split seed (validation part) | Gram matrix | share s | λ | Recall@20 | NDCG@20 "
            "| − whole history (recall / NDCG) |\n|---|---|---:|---:|---:|---:|---:|"
        )
        print("\n".join(session_control(data, seeds, args.quick, progress)))
    if "L" in only:
        print("\n| call | calls | p50 ms | p95 ms |\n|---|---:|---:|---:|")
        print("\n".join(latency(scorer, args.seed)))
        print("\n".join(grpc_latency(scorer, args.seed)))
    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}"
        f"{', --quick' if args.quick else ''}"
    )
    trails = [
        r
        for r in results
        if r.method == "reelgraph" and r.protocol in ("E3", "E5") and r.recall < _ease(results, r.protocol).recall
    ]
    return 1 if trails else 0


def _ease(results: list[Result], protocol: str) -> Result:
    return next(x for x in results if x.protocol == protocol and x.method == "EASE")


if __name__ == "__main__":
    sys.exit(main())
