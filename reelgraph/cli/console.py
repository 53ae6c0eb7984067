"""Terminal rendering shared by the client commands (``recommend``, ``explain``, ``demo``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from reelgraph.client import Client, UserRecommendations
from reelgraph.errors import ReelgraphError
from reelgraph.jobs.records import ExplainMethod
from reelgraph.options import coerce
from reelgraph.protocol import EXPLAIN_METHODS


def method_number(method: str) -> int:
    """The API's ``ExplainMethod`` number of ``method`` (a Captum method name, any case)."""
    return EXPLAIN_METHODS[coerce(ExplainMethod, method, "method")]


def print_recommendations(console: Console, recs: Iterable[UserRecommendations]) -> None:
    """One table per user: rank, MovieLens id, title, score."""
    for rec in recs:
        who = "your ratings" if rec.user_id == -1 else f"user {rec.user_id}"  # -1: a user given as ratings
        table = Table(title=who + (f": {rec.error}" if rec.error else ""))
        for col in ("#", "movie_id", "title", "score"):
            table.add_column(col)
        for i, (m, t, s) in enumerate(zip(rec.movie_ids, rec.titles, rec.scores, strict=True), 1):
            table.add_row(str(i), str(m), t, f"{s:.3f}")
        console.print(table)


def explain_with_progress(client: Client, user: int, movie: int, **options: Any) -> Any:
    """Submit one explanation, show its events on a progress bar, return the result.

    Raises ``ReelgraphError`` when the job ends FAILED or CANCELLED.
    """
    job = client.submit_explanation(user, movie, **options)
    last = None
    with Progress(transient=True) as bar:
        task = bar.add_task(f"job {job.job_id[:8]}", total=1.0)
        for event in client.watch_explanation(job.job_id):
            bar.update(task, completed=event.fraction, description=f"job {job.job_id[:8]}: {event.kind}")
            last = event
    if last is None or last.kind != "done":
        kind, reason = (last.kind, last.reason) if last else ("without events", "")
        raise ReelgraphError(f"job {job.job_id} ended {kind}: {reason}")
    return last.result


def print_explanation(console: Console, result: Any, user: int, movie: int, out: Path | None) -> list[Path]:
    """The prediction, fidelity and top influences; writes the PNGs into ``out``."""
    console.print(
        f"user {user} → movie {movie}: p = {result.probability:.3f} (logit {result.logit:.3f}); "
        f"fidelity+ {result.fidelity_plus:.3f} vs random {result.random_fidelity_plus:.3f}"
    )
    table = Table(title="most influential")
    for col in ("kind", "user", "movie", "title", "score"):
        table.add_column(col)
    for kind, items in (("user", result.top_users), ("movie", result.top_movies), ("rating", result.top_ratings)):
        for i in items:
            table.add_row(kind, str(i.user_id or ""), str(i.movie_id or ""), i.title, f"{i.score:+.4f}")
    console.print(table)
    written: list[Path] = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, png in result.pngs.items():
            (out / name).write_bytes(png)
            written.append(out / name)
            console.print(f"wrote {out / name}")
    return written
