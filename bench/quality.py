"""Accuracy benchmarks E1, E2 and E4 on the real MovieLens copies (see README; E3/E5: bench/ranking.py).

Run: ``make bench`` or ``python -m bench.quality [--only E1,E2] [--e2-splits u1] [--seed 0]``.
Reads ``$REELGRAPH_DATA_DIR`` (``ml-latest-small/`` and ``ml-100k/`` inside).
Every model figure is printed next to a baseline computed in the same run.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reelgraph.data.readers import read_movielens
from reelgraph.evaluation.metrics import rmse, roc_auc
from reelgraph.graphs.hetero import build_rating_graph
from reelgraph.settings import CommonSettings
from trainer.hyper import LinkHyper, MovieGCNHyper, RatingHyper
from trainer.link import e1_split, train_link
from trainer.movie_gcn import train_movie_gcn
from trainer.progress import Progress
from trainer.rating import external_test, train_rating


@dataclass(frozen=True)
class Row:
    """One benchmark line."""

    protocol: str
    metric: str
    value: float
    baseline_name: str
    baseline: float
    goal: str
    passed: bool | None
    seconds: float


def e1(root: Path, seed: int, progress: Progress) -> list[Row]:
    """Link AUC on the E1 split vs a degree-product popularity baseline."""
    t = time.perf_counter()
    rg = build_rating_graph(read_movielens(root / "ml-latest-small"))
    result = train_link(rg, LinkHyper(), seed, torch.device("cpu"), progress)
    split = e1_split(rg, seed)
    msg = split.test_msg.edge_index
    deg_u = np.bincount(msg[0].numpy(), minlength=len(rg.users))
    deg_m = np.bincount(msg[1].numpy(), minlength=len(rg.movies))
    p = split.test_pairs.numpy()
    popularity = roc_auc(split.test_labels.numpy(), np.log1p(deg_u[p[0]]) + np.log1p(deg_m[p[1]]))
    auc = result.metrics["e1_test_auc"]
    return [
        Row(
            "E1 ml-latest-small",
            "test AUC",
            auc,
            "popularity",
            popularity,
            ">= 0.95",
            auc >= 0.95,
            time.perf_counter() - t,
        )
    ]


E2_SPLITS = ("u1", "u2", "u3", "u4", "u5")


def e2(root: Path, seed: int, progress: Progress, splits: tuple[str, ...] = E2_SPLITS) -> list[Row]:
    """Rating RMSE on ml-100k uN.base → uN.test vs a biased baseline (μ + b_u + b_m).

    ``test RMSE`` is the model ``reelgraph train`` serves (GNN + item-autoencoder
    blend, refitted on all of uN.base); u1 carries the goal; for u1 the model
    before the refit and each of its terms alone are shown too; with more than
    one split, a mean ± standard deviation row follows.
    """
    rows, served, base = [], [], []
    for split in splits:
        t = time.perf_counter()
        data = read_movielens(root / "ml-100k", f"{split}.base")
        rg = build_rating_graph(data)
        test, _ = external_test(rg, read_movielens(root / "ml-100k", f"{split}.test"))
        result = train_rating(rg, test, RatingHyper(), seed, torch.device("cpu"), progress)
        baseline = rmse(_biased_baseline(rg, test.pairs.numpy()), test.stars.numpy())
        value = result.metrics["test_rmse"]
        served.append(value)
        base.append(baseline)
        goal = split == "u1"
        secs = time.perf_counter() - t
        label = f"E2 ml-100k {split}"
        rows.append(
            Row(
                label,
                "test RMSE",
                value,
                "μ+b_u+b_m",
                baseline,
                "<= 0.900" if goal else "",
                value <= 0.9 if goal else None,
                secs,
            )
        )
        if goal:
            named = (
                ("test_rmse_before_refit", "before the refit on all of uN.base"),
                ("gnn_test_rmse", "GNN term alone, before the refit"),
                ("autoencoder_test_rmse", "autoencoder term alone, before the refit"),
            )
            for key, name in named:
                if key in result.metrics:
                    rows.append(Row(label, name, result.metrics[key], "μ+b_u+b_m", baseline, "", None, 0.0))
    if len(splits) > 1:
        v, b = np.array(served), np.array(base)
        rows.append(
            Row(
                f"E2 ml-100k {splits[0]}–{splits[-1]}",
                f"mean test RMSE (sd {v.std(ddof=1):.4f}, range {v.min():.4f}–{v.max():.4f})",
                float(v.mean()),
                "μ+b_u+b_m mean",
                float(b.mean()),
                "",
                None,
                0.0,
            )
        )
    return rows


def _biased_baseline(rg, pairs: np.ndarray, reg: float = 10.0) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Damped user and movie offsets (two alternating passes), clipped to 0.5–5."""
    e = rg.message_edges()
    u, m, r = e.edge_index[0].numpy(), e.edge_index[1].numpy(), e.rating.numpy().astype(np.float64)
    mu = r.mean()
    b_u, b_m = np.zeros(len(rg.users)), np.zeros(len(rg.movies))
    for _ in range(2):
        b_m = np.bincount(m, r - mu - b_u[u], len(rg.movies)) / (np.bincount(m, minlength=len(rg.movies)) + reg)
        b_u = np.bincount(u, r - mu - b_m[m], len(rg.users)) / (np.bincount(u, minlength=len(rg.users)) + reg)
    return np.clip(mu + b_u[pairs[0]] + b_m[pairs[1]], 0.5, 5.0)


def e4(root: Path, seed: int, progress: Progress) -> list[Row]:
    """Movie mean-rating MSE (80/20 movies) vs predicting the training mean."""
    t = time.perf_counter()
    data = read_movielens(root / "ml-latest-small")
    rg = build_rating_graph(data)
    result = train_movie_gcn(data, rg, MovieGCNHyper(), seed, torch.device("cpu"), progress)
    value, base = result.metrics["e4_test_mse"], result.metrics["e4_global_mean_mse"]
    return [
        Row(
            "E4 ml-latest-small movies",
            "test MSE",
            value,
            "global mean",
            base,
            "<= 0.65",
            value <= 0.65,
            time.perf_counter() - t,
        )
    ]


PROTOCOLS = {"E1": e1, "E2": e2, "E4": e4}  # E3 and E5 (ranking, with peers): bench/ranking.py


def render(rows: list[Row]) -> str:
    """Markdown table (pasted into the README)."""
    lines = [
        "| protocol | metric | reelgraph | baseline | baseline value | ratio | goal | met | seconds |",
        "|---|---|---:|---|---:|---:|---|---|---:|",
    ]
    for r in rows:
        met = "n/a" if r.passed is None else ("yes" if r.passed else "NO")
        lines.append(
            f"| {r.protocol} | {r.metric} | {r.value:.4f} | {r.baseline_name} | {r.baseline:.4f} "
            f"| {r.value / r.baseline:.3f} | {r.goal} | {met} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected protocols and print the table; exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="E1,E2,E4", help="comma-separated protocols")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--e2-splits", default=",".join(E2_SPLITS), help="ml-100k splits for E2 (u1 carries the goal)")
    args = parser.parse_args(argv)
    PROTOCOLS["E2"] = functools.partial(e2, splits=tuple(s.strip() for s in args.e2_splits.split(",")))
    root = CommonSettings.from_env().data_dir
    if root is None or not root.is_dir():
        print("REELGRAPH_DATA_DIR is not set to a directory holding ml-latest-small/ and ml-100k/", file=sys.stderr)
        return 2
    progress = Progress(not args.quiet)
    rows = [row for name in args.only.split(",") for row in PROTOCOLS[name.strip().upper()](root, args.seed, progress)]
    print(render(rows))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}")
    return 1 if any(r.passed is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
