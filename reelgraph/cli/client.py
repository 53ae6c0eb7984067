"""``reelgraph score``, ``recommend``, ``explain`` and ``health``: commands that talk to a running server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reelgraph.cli.common import (
    Connection,
    RatingsOpt,
    TlsFiles,
    cli_errors,
    speaks_tls,
    talks_to_server,
)
from reelgraph.errors import ReelgraphError

if TYPE_CHECKING:
    from reelgraph.cli.bulk import RatingsFile


@speaks_tls
def health(
    server: Annotated[
        str | None, typer.Option("--server", help="host:port: exit 0 when its gRPC health is SERVING.")
    ] = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="A worker's /metrics URL: exit 0 when it heartbeat recently.")
    ] = None,
    max_age: Annotated[float, typer.Option("--max-age", min=1, help="Heartbeat age limit, seconds.")] = 60.0,
    *,
    tls: TlsFiles,
) -> None:
    """Container health probe: a server's gRPC health, or a worker's heartbeat. Exit 0 healthy, 1 not."""
    from reelgraph.cli.probes import heartbeat_age_s
    from reelgraph.supervision import grpc_serving

    if (server is None) == (metrics is None):
        typer.echo("error: pass exactly one of --server or --metrics", err=True)
        raise typer.Exit(2)
    if server is not None:
        with cli_errors():
            creds = tls.credentials()
        ok = grpc_serving(
            server,
            root_certificates=creds.root_certificates,
            private_key=creds.private_key,
            certificate_chain=creds.certificate_chain,
        )
        typer.echo(f"{server}: {'SERVING' if ok else 'not serving'}")
    else:
        age = heartbeat_age_s(str(metrics))
        ok = age <= max_age
        typer.echo(f"{metrics}: last heartbeat {age:.1f} s ago (limit {max_age:.0f} s)")
    raise typer.Exit(0 if ok else 1)


@talks_to_server
def score(
    src: Annotated[
        Path,
        typer.Option("--in", help="CSV: user_id,movie_id (or userId,movieId) columns; with --ratings, movie_id."),
    ],
    dst: Annotated[Path, typer.Option("--out", help="Output CSV.")],
    ratings: RatingsOpt = None,
    kind: Annotated[list[str] | None, typer.Option(help="link | rating (repeatable; default link).")] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Pairs per streamed chunk.")] = 100_000,
    *,
    connection: Connection,
) -> None:
    """Score a pairs file of any size through StreamScorePairs, with a progress bar.

    With --ratings, score the movies of --in for the user given by that ratings file.
    """
    from rich.progress import Progress

    from reelgraph.cli.bulk import read_ratings, score_file

    kinds = tuple(kind or ["link"])
    with cli_errors(connection.server), connection.client() as client, Progress(transient=True) as bar:
        task = bar.add_task(f"scoring {src.name}", total=None)

        def advance(n: int) -> None:
            bar.update(task, advance=n)

        given = None if ratings is None else read_ratings(ratings)
        rows, invalid = score_file(client, src, dst, kinds, chunk, advance, ratings=given)
    typer.echo(f"wrote {rows} rows to {dst} ({invalid} not scored: unknown ids, see the status column)")


@talks_to_server
def recommend(
    user: Annotated[list[int] | None, typer.Option("--user", help="MovieLens user id (repeatable).")] = None,
    ratings: RatingsOpt = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="List length.")] = 10,
    genre: Annotated[list[str] | None, typer.Option(help="Only movies with this genre (repeatable).")] = None,
    include_rated: Annotated[bool, typer.Option(help="Also list movies the user rated (not with --ratings).")] = False,
    *,
    connection: Connection,
) -> None:
    """Print the top-k movies with titles for each --user, or for the user given by --ratings."""
    from rich.console import Console

    from reelgraph.cli.console import print_recommendations

    if (not user) == (ratings is None):
        typer.echo("error: pass --user (repeatable) or --ratings FILE, not both", err=True)
        raise typer.Exit(2)
    with cli_errors(connection.server):
        if ratings is not None and include_rated:
            raise ReelgraphError("--include-rated does not apply to --ratings: given movies are never recommended")
        given = None if ratings is None else _read_ratings(ratings)
        with connection.client() as client:
            if given is not None:
                one = client.recommend_from_ratings(
                    given.movie_ids, given.stars, k, genres=genre or (), timestamps=given.timestamps
                )
                print_recommendations(Console(), [one])
            else:
                print_recommendations(
                    Console(), client.recommend(user or [], k, exclude_rated=not include_rated, genres=genre or ())
                )


def _read_ratings(path: Path) -> RatingsFile:
    from reelgraph.cli.bulk import read_ratings  # pandas: only when a file is read

    return read_ratings(path)


@talks_to_server
def explain(
    user: Annotated[int | None, typer.Option("--user", help="MovieLens user id.")] = None,
    movie: Annotated[int | None, typer.Option("--movie", help="MovieLens movie id.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the PNGs here.")] = None,
    method: Annotated[
        str,
        typer.Option(
            help="Ranking (the model's exact reasons) | IntegratedGradients | Saliency | InputXGradient | "
            "GuidedBackprop | Deconvolution (Captum on the link GNN)."
        ),
    ] = "Ranking",
    n_steps: Annotated[int, typer.Option(min=1, max=1000, help="IG steps.")] = 50,
    top_k: Annotated[int, typer.Option("-k", min=1, max=100, help="Items per list (ratings, co-raters).")] = 10,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many items of each list: the next page.")] = 0,
    global_sample: Annotated[
        int,
        typer.Option(min=0, max=1000, help="Instead of one pair: what drives the recommendations of N sampled users."),
    ] = 0,
    recommendations: Annotated[int, typer.Option(min=1, max=50, help="Global: each user's top N.")] = 10,
    genre: Annotated[str, typer.Option(help="Global: only recommendations of this genre.")] = "",
    rating: Annotated[
        bool, typer.Option("--rating", help="Why the predicted stars (the rating model), not the recommendation.")
    ] = False,
    ratings: RatingsOpt = None,
    *,
    connection: Connection,
) -> None:
    """Explain why a movie is recommended (--user or --ratings, --movie), why it is predicted these
    stars (--rating), or what drives many recommendations (--global-sample N): submit, watch progress
    live, print the reasons."""
    from rich.console import Console

    from reelgraph.cli.console import (
        explain_with_progress,
        follow_with_progress,
        method_number,
        print_explanation,
        print_global,
    )
    from reelgraph.errors import InvalidOptionError
    from reelgraph.options import ModelKind
    from reelgraph.protocol import SCORE_KINDS

    with cli_errors(connection.server), connection.client() as client:
        if global_sample:
            job = client.submit_global_explanation(
                sample_users=global_sample,
                recommendations=recommendations,
                genre=genre,
                top_k=top_k,
                want_plots=out is not None,
            )
            print_global(Console(), follow_with_progress(client, job.job_id), out)
            return
        if movie is None or (user is None) == (ratings is None):
            raise InvalidOptionError("give --movie with --user or --ratings (one pair), or --global-sample N")
        given = None if ratings is None else _read_ratings(ratings)
        options = {
            "method": method_number(method),
            "n_steps": n_steps,
            "top_k": top_k,
            "want_plots": out is not None,
            "offset": offset,
            "kind": SCORE_KINDS[ModelKind.RATING if rating else ModelKind.LINK],
            "history": None if given is None else (given.movie_ids, given.stars),
        }
        result = explain_with_progress(client, user or 0, movie, **options)
        print_explanation(Console(), result, user or 0, movie, out)
