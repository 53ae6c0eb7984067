"""``reelgraph demo``: a guided tour of a running stack, through the public API only."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from reelgraph.cli.console import explain_with_progress, print_explanation, print_recommendations
from reelgraph.client import Client
from reelgraph.errors import ReelgraphError
from reelgraph.protocol import PairStatus

UNKNOWN_MOVIE = 2_000_000_000  # no MovieLens movie has this id: shows per-item marking


def run_demo(client: Client, console: Console, user: int, out: Path) -> list[Path]:
    """Models → top-10 with titles → one batch scored → why the top movie (titles, stars, the
    sentence, the logit check), streamed from a worker. Returns the PNGs."""
    models = client.list_models()
    if not models:
        raise ReelgraphError("the server has no bundle loaded yet")
    info = models[0]
    kinds = list(info.kinds)
    console.rule(f"model {info.ref.name} version {info.ref.version}")
    console.print(f"{info.num_users} users, {info.num_movies} movies, {info.num_ratings} ratings; models: {kinds}")
    for key, value in sorted(info.metrics.items()):
        console.print(f"  {key} = {value:.4f}")

    console.rule(f"Recommend: top-10 for user {user}")
    rec = next(iter(client.recommend([user], 10)))
    if rec.error or not rec.movie_ids:
        raise ReelgraphError(f"no recommendations for user {user}: {rec.error or 'empty'}; try another --user")
    print_recommendations(console, [rec])

    console.rule("ScorePairs: one batch, raw little-endian tensors")
    _score_batch(client, console, user, rec.movie_ids, rec.titles, "rating" in kinds)

    movie, title = rec.movie_ids[0], rec.titles[0]
    console.rule(f"Explain: why {title} for user {user} (the ranking model's own reasons, queued in Redis)")
    result = explain_with_progress(client, user, movie, want_plots=True, top_k=5)
    return print_explanation(console, result, user, movie, out)


def _score_batch(
    client: Client, console: Console, user: int, movies: list[int], titles: list[str], with_rating: bool
) -> None:
    users = np.arange(user, user + 10, dtype=np.int64)  # ten users × the top-10 movies
    u = np.repeat(users, len(movies))
    m = np.tile(np.asarray(movies, dtype=np.int64), len(users))
    u, m = np.append(u, user), np.append(m, UNKNOWN_MOVIE)
    kinds = ("link", "rating") if with_rating else ("link",)
    started = time.perf_counter()
    scores = client.score_pairs(u, m, kinds=kinds)
    ms = (time.perf_counter() - started) * 1000
    counts = np.bincount(scores.status.astype(np.int64), minlength=len(PairStatus))
    marked = ", ".join(f"{n} {PairStatus(s).label}" for s, n in enumerate(counts) if n)
    console.print(f"{u.size} pairs in one ScorePairs call: {ms:.1f} ms; {marked}")
    table = Table(title=f"user {user}")
    for col in ("movie_id", "title", "P(link)", "rating"):
        table.add_column(col)
    for i in range(len(movies)):
        rating = f"{scores.rating[i]:.2f}" if scores.rating is not None else "-"
        link = f"{scores.link_probability[i]:.3f}" if scores.link_probability is not None else "-"
        table.add_row(str(movies[i]), titles[i], link, rating)
    table.add_row(str(UNKNOWN_MOVIE), "(no such movie)", PairStatus(int(scores.status[-1])).label, "")
    console.print(table)
