"""Reports: the metrics table after training and the data analysis (graph statistics, genres)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from reelgraph.data.dataset import MovieLens
from reelgraph.data.readers import read_movielens
from reelgraph.graphs.hetero import build_rating_graph
from trainer.plots import bar_png, heatmap_png
from trainer.result import TrainResult


def print_metrics(results: list[TrainResult], console: Console | None = None) -> None:
    """One row per model with its metrics (protocol-prefixed names)."""
    table = Table(title="evaluation")
    table.add_column("model")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for r in results:
        for name, value in r.metrics.items():
            table.add_row(r.kind, name, f"{value:.4f}" if name != "best_epoch" else f"{value:.0f}")
    (console or Console()).print(table)


def graph_statistics(data: MovieLens) -> dict[str, float]:
    """The graph table: users, movies (all, and with ratings), edges, average degree."""
    rg = build_rating_graph(data)
    rated = int(np.unique(data.ratings["movie_id"].to_numpy()).size)
    edges = data.num_ratings
    nodes = len(rg.users) + rated
    return {
        "users": float(len(rg.users)),
        "movies": float(len(rg.movies)),
        "movies_with_ratings": float(rated),
        "nodes (users + rated movies)": float(nodes),
        "edges (ratings)": float(edges),
        "average degree (2E / nodes)": 2 * edges / nodes,
        "ratings per user": edges / len(rg.users),
        "ratings per rated movie": edges / rated,
    }


def write_data_report(data_dir: Path, out: Path, seed: int = 0) -> list[Path]:
    """Write ``graph_stats.md``, ``genre_distribution.png`` and ``genre_link_correlation.png``."""
    data = read_movielens(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = graph_statistics(data)
    lines = ["| statistic | value |", "|---|---:|"]
    lines += [f"| {k} | {v:,.0f} |" if v.is_integer() else f"| {k} | {v:,.2f} |" for k, v in stats.items()]
    written = [out / "graph_stats.md"]
    written[0].write_text("\n".join(lines) + "\n")
    names = list(data.genre_names)
    counts = data.genres.sum(axis=0).astype(np.float64)
    written.append(out / "genre_distribution.png")
    written[-1].write_bytes(bar_png("Genre distribution", names, counts, "movies"))
    written.append(out / "genre_link_correlation.png")
    written[-1].write_bytes(heatmap_png("Genre / link correlation", [*names, "link"], _link_correlation(data, seed)))
    return written


def _link_correlation(data: MovieLens, seed: int) -> np.ndarray:
    """Correlation of movie genres with the link label over rated and random pairs."""
    rng = np.random.default_rng(seed)
    movie_ids = data.movies["movie_id"].to_numpy()
    order = np.argsort(movie_ids, kind="stable")
    pos = order[np.searchsorted(movie_ids[order], data.ratings["movie_id"].to_numpy())]  # rows of data.movies
    neg = rng.integers(0, len(data.movies), size=pos.size)
    genres = data.genres[np.concatenate([pos, neg])].astype(np.float64)
    label = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    matrix = np.column_stack([genres, label])
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(matrix, rowvar=False)
    return np.asarray(np.nan_to_num(corr))
