"""``reelgraph audience``: who should be shown a new movie, asked of a running server."""

from __future__ import annotations

from typing import Annotated

import typer

from reelgraph.cli.common import Connection, cli_errors, talks_to_server


@talks_to_server
def audience(
    genres: Annotated[str, typer.Option(help="Comma-separated genre names, e.g. Comedy,Romance.")] = "",
    year: Annotated[int | None, typer.Option(help="Release year, 1870-2100.")] = None,
    title: Annotated[str, typer.Option(help="Title words (optional).")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable).")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100_000, help="Number of users.")] = 10,
    model: Annotated[str, typer.Option(help="Bundle name (default: the server's default).")] = "",
    *,
    connection: Connection,
) -> None:
    """Print the top-k users most likely to rate a movie given by its content (in no bundle)."""
    names = [g.strip() for g in genres.split(",") if g.strip()]
    with cli_errors(connection.server), connection.client() as client:
        result = client.audience(names, year, title, tag or (), k=k, model=model)
    typer.echo(f"{'rank':>5}  {'user':>8}  P(rate)    ({result.model}/{result.version})")
    for rank, (user, p) in enumerate(zip(result.user_ids, result.scores, strict=True), start=1):
        typer.echo(f"{rank:>5}  {int(user):>8}  {float(p):.4f}")
