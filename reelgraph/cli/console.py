"""Terminal rendering shared by the client commands (``recommend``, ``explain``, ``demo``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from reelgraph.client import Client, UserRecommendations
from reelgraph.errors import ReelgraphError
from reelgraph.jobs.records import ExplainMethod
from reelgraph.options import coerce
from reelgraph.protocol import EXPLAIN_METHODS


def method_number(method: str) -> int:
    """The API's ``ExplainMethod`` number of ``method`` (``Ranking`` or a Captum method name, any case)."""
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
    return follow_with_progress(client, job.job_id)


def follow_with_progress(client: Client, job_id: str) -> Any:
    """Show a submitted job's events on a progress bar; return its result (``ReelgraphError`` unless DONE)."""
    last = None
    with Progress(transient=True) as bar:
        task = bar.add_task(f"job {job_id[:8]}", total=1.0)
        for event in client.watch_explanation(job_id):
            bar.update(task, completed=event.fraction, description=f"job {job_id[:8]}: {event.kind}")
            last = event
    if last is None or last.kind != "done":
        kind, reason = (last.kind, last.reason) if last else ("without events", "")
        raise ReelgraphError(f"job {job_id} ended {kind}: {reason}")
    return last.result


def print_explanation(console: Console, result: Any, user: int, movie: int, out: Path | None) -> list[Path]:
    """A result, readable (the ranking reasons, a rating prediction's, or a Captum method's top influences);
    PNGs written into ``out``. ``user`` 0: a user given by their ratings."""
    if result.HasField("rating"):
        print_rating_reasons(console, result, user, movie)
    elif result.method in ("", ExplainMethod.RANKING.value) and result.sentence:
        print_reasons(console, result, user, movie)
    else:
        _print_influences(console, result, user, movie)
    return write_pngs(console, result, out)


def write_pngs(console: Console, result: Any, out: Path | None) -> list[Path]:
    """Write the result's PNGs into ``out`` (nothing when None); returns their paths."""
    written: list[Path] = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, png in result.pngs.items():
            (out / name).write_bytes(png)
            written.append(out / name)
            console.print(f"wrote {out / name}")
    return written


def print_reasons(console: Console, r: Any, user: int, movie: int) -> None:
    """The ranking model's explanation: sentence, named ratings, people, parts of the logit, fidelity."""
    title = escape(r.title)
    console.print(f"user {user} → movie {movie} [bold]{title}[/]: p = {r.probability:.3f} (logit {r.logit:.3f})")
    console.print(f"[bold]{escape(r.sentence)}[/]")
    shown = f"{r.offset + 1}–{r.offset + len(r.because_you_rated)} of {r.because_you_rated_total}"
    table = Table(title=f"Because you rated ({shown} ratings that raise the score; --offset pages)")
    for col in ("#", "movie_id", "title", "your stars", "share of logit", "B edge", "co-raters (mean ★ for it)"):
        table.add_column(col)
    for i, (m, c) in enumerate(zip(r.because_you_rated, r.chains, strict=False), r.offset + 1):
        people = f"{c.co_raters} ({c.co_raters_mean_stars:.1f}★)" if c.co_raters else "0"
        table.add_row(
            str(i), str(m.movie_id), m.title, f"★{m.stars:g}", f"{m.score:+.3f}", f"{c.edge_weight:+.4f}", people
        )
    console.print(table)
    if r.co_raters:
        people_table = Table(title=f"People with your taste ({r.co_raters_total} rated {title} and these)")
        for col in ("user", "also rated (movie ids)", "their ★ for it", "score"):
            people_table.add_column(col)
        for p in r.co_raters:
            ids = ", ".join(map(str, p.movie_ids))
            people_table.add_row(str(p.user_id), ids, f"★{p.target_stars:g}", f"{p.score:+.4f}")
        console.print(people_table)
    genres = ", ".join(f"{g} {v:+.2f}" for g, v in sorted(r.genre_shares.items(), key=lambda kv: -kv[1]))
    console.print(
        f"logit {r.logit:+.3f} = your ratings {r.rated_total:+.3f} + popularity {r.popularity:+.3f} "
        f"+ bias {r.bias:+.3f}; content {r.content:+.3f} (the model has no content term)"
        + (f"; your ratings by the movie's genres: {genres}" if genres else "")
    )
    f = r.logit_fidelity
    _print_checks(console, f, "the logit", f"logit {f.sufficiency:+.3f} (full {f.full_logit:+.3f})")


def print_rating_reasons(console: Console, r: Any, user: int, movie: int) -> None:
    """A rating prediction's explanation: sentence, ratings that raise and lower the stars, the checks."""
    x = r.rating
    who = f"user {user}" if user else "your ratings"
    console.print(f"{who} → movie {movie} [bold]{escape(r.title)}[/]: {x.stars:.2f}★ (raw {x.raw_stars:.3f})")
    console.print(f"[bold]{escape(r.sentence)}[/]")
    for title, items, total in (
        ("raise the stars", r.because_you_rated, r.because_you_rated_total),
        ("lower the stars", x.lowered_by, x.lowered_by_total),
    ):
        shown = f"{r.offset + 1}–{r.offset + len(items)} of {total}" if items else f"none of {total}"
        table = Table(title=f"Your ratings that {title} ({shown}; --offset pages)")
        for col in ("#", "movie_id", "title", "your stars", "stars without it"):
            table.add_column(col)
        for i, m in enumerate(items, r.offset + 1):
            table.add_row(str(i), str(m.movie_id), escape(m.title), f"★{m.stars:g}", f"{-m.score:+.3f}★")
        console.print(table)
    f = x.fidelity
    _print_checks(console, f, "the raw stars", f"{f.sufficiency:.3f}★ (all: {f.full_stars:.3f}★)")


def _print_checks(console: Console, f: Any, lowered: str, only_named: str) -> None:
    """The deletion checks of either fidelity record: named vs random removals, then sufficiency."""
    ratio = f"{f.deletion_drop / f.random_drop:.1f}×" if f.random_drop > 0 else "n/a"
    console.print(
        f"Is it true? removing the named {f.k} ratings lowers {lowered} by {f.deletion_drop:.3f}; "
        f"{f.k} random ones by {f.random_drop:.3f} (mean of {f.random_draws}; {ratio}); "
        f"only the named {f.k}: {only_named}"
    )


def _print_influences(console: Console, result: Any, user: int, movie: int) -> None:
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


def print_global(console: Console, r: Any, out: Path | None = None) -> list[Path]:
    """A global explanation: the sentence, the drivers (rated movies, genres, decades, recommended
    genres) and the check; writes the PNG into ``out``."""
    s = r.global_summary
    console.print(f"[bold]{escape(r.sentence)}[/]")
    for title, drivers in (
        ("rated movies that carry the most recommendations", s.movies),
        ("genres of those rated movies", s.genres),
        ("decades of those rated movies", s.years),
        ("groups of co-raters (people with your taste) behind them", s.co_rater_groups),
    ):
        table = Table(title=title)
        for col in ("name", "summed share of the logit", "pairs"):
            table.add_column(col)
        for d in drivers:
            table.add_row(d.name, f"{d.share:+.2f}", str(d.count))
        console.print(table)
    genres = ", ".join(f"{d.name} {d.share:.0%}" for d in s.recommended_genres)
    console.print(f"recommended genres (share of the {s.pairs} recommendations): {genres}")
    ratio = s.mean_deletion_drop / s.mean_random_drop if s.mean_random_drop > 0 else float("nan")
    console.print(
        f"per recommendation: named ratings {s.mean_deletion_drop:.3f} of the logit vs "
        f"{s.mean_random_drop:.3f} for as many random ones ({ratio:.1f}×)"
    )
    return write_pngs(console, r, out)
