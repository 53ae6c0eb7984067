"""The ``reelgraph`` command. Subcommands import their heavy modules lazily."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reelgraph.errors import ReelgraphError
from reelgraph.options import DeviceChoice, ModelKind
from reelgraph.settings import CommonSettings

if TYPE_CHECKING:
    from reelgraph.bulk import RatingsFile

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="reelgraph: GNN movie recommender.",
)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a ``ReelgraphError`` into one clear line on stderr and exit status 2."""
    try:
        yield
    except ReelgraphError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="MovieLens directory (any layout). Default: $REELGRAPH_DATA_DIR/ml-latest-small."),
]


def _data_dir(data: Path | None, download: str | None, common: CommonSettings) -> Path:
    if data is not None:
        return data
    if download:
        from reelgraph.data.download import fetch_dataset

        return fetch_dataset(download, common.cache_dir)
    if common.data_dir is not None:
        return common.data_dir / "ml-latest-small"
    raise ReelgraphError("no data: pass --data DIR, set REELGRAPH_DATA_DIR, or use --download ml-latest-small")


MetricsPortOpt = Annotated[
    int | None, typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus /metrics here (0 = any port).")
]
LogFormatOpt = Annotated[
    str | None, typer.Option("--log-format", help="text | json (default $REELGRAPH_LOG_FORMAT or text).")
]


@app.command()
def train(
    data: DataOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Bundles directory. Default: $REELGRAPH_BUNDLES_DIR or ./bundles.")
    ] = None,
    model: Annotated[list[str] | None, typer.Option(help="link|rating|movie-gcn|ranking|all (repeatable).")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Max epochs for every model (default per model).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits and initialisation.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda.")] = "auto",
    name: Annotated[str | None, typer.Option(help="Bundle name (default: data directory name).")] = None,
    ratings_file: Annotated[str | None, typer.Option(help="Ratings file in --data, e.g. u1.base.")] = None,
    test_ratings: Annotated[
        str | None, typer.Option(help="Ratings file to test the rating model on, e.g. u1.test.")
    ] = None,
    download: Annotated[
        str | None, typer.Option(help="Download this dataset (e.g. ml-latest-small) when --data is absent.")
    ] = None,
    sampling: Annotated[
        str, typer.Option(help="Link training: auto | full | neighbor (LinkNeighborLoader; needs torch-sparse).")
    ] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when --out already holds a bundle (one-shot jobs).")
    ] = False,
) -> None:
    """Train models on MovieLens data and write a verified bundle."""
    from reelgraph.bundle.loader import bundle_names
    from reelgraph.options import coerce
    from trainer.hyper import LinkHyper
    from trainer.pipeline import run_training
    from trainer.report import print_metrics
    from trainer.sampling import Sampling
    from trainer.settings import TrainSettings

    with domain_errors():
        common = CommonSettings.from_env()
        if if_missing and bundle_names(out or common.bundles_dir):
            typer.echo(f"{out or common.bundles_dir} already holds a bundle: nothing to train (--if-missing)")
            return
        settings = TrainSettings(
            data_dir=_data_dir(data, download, common),
            out_dir=out or common.bundles_dir,
            models=_model_kinds(model or ["all"]),
            name=name,
            ratings_file=ratings_file,
            test_ratings=test_ratings,
            seed=seed,
            device=coerce(DeviceChoice, device, "device"),
            epochs=epochs,
            progress=not quiet,
            link=LinkHyper(sampling=coerce(Sampling, sampling, "--sampling").value),
        )
        path, results = run_training(settings)
        print_metrics(results)
        typer.echo(f"bundle written: {path}")


@app.command()
def report(
    data: DataOpt = None,
    out: Annotated[Path, typer.Option(help="Directory for the report files.")] = Path("reports"),
) -> None:
    """Seed-004 data analysis: graph statistics, genre distribution and correlation PNGs."""
    from trainer.report import write_data_report

    with domain_errors():
        common = CommonSettings.from_env()
        for path in write_data_report(_data_dir(data, None, common), out):
            typer.echo(f"wrote {path}")


@app.command()
def serve(
    bundles: Annotated[
        Path | None, typer.Option(help="Bundles root. Default: $REELGRAPH_BUNDLES_DIR or ./bundles.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port; 0 picks a free one (default 50051).")] = None,
    workers: Annotated[int | None, typer.Option(help="Scoring threads off the event loop (default 2).")] = None,
    max_pairs: Annotated[int | None, typer.Option(help="Pairs per request (default 1,000,000).")] = None,
    redis_url: Annotated[
        str | None, typer.Option("--redis", help="Redis URL of the explanation queue (default $REELGRAPH_REDIS_URL).")
    ] = None,
    metrics_port: MetricsPortOpt = None,
    log_format: LogFormatOpt = None,
    processes: Annotated[
        int | None, typer.Option("--processes", min=1, max=256, help="Server processes on the port (default 1).")
    ] = None,
    event_loop: Annotated[
        str | None, typer.Option("--event-loop", help="auto (uvloop when installed), asyncio or uvloop.")
    ] = None,
) -> None:
    """Serve bundles over gRPC (ScoringService, health, reflection); reloads new versions."""
    from reelgraph import logs
    from reelgraph.options import EventLoop, coerce
    from server import eventloop
    from server.app import serve_forever
    from server.settings import ServerSettings

    with domain_errors():
        try:
            fmt = coerce(logs.LogFormat, log_format, "--log-format") if log_format else None
            loop = coerce(EventLoop, event_loop, "--event-loop") if event_loop else None
            settings = ServerSettings.from_env(
                bundles_dir=bundles, host=host, port=port, workers=workers, max_pairs=max_pairs, redis_url=redis_url,
                metrics_port=metrics_port, log_format=fmt, processes=processes, event_loop=loop,
            )  # fmt: skip
            eventloop.resolve(settings.event_loop)  # fail before binding when uvloop is asked for but missing
        except ValueError as exc:
            raise ReelgraphError(str(exc)) from exc
        logs.configure(settings.log_format)
        if settings.processes > 1:
            from server.processes import serve_processes

            raise typer.Exit(serve_processes(settings, lambda line: typer.echo(line)))
        eventloop.run(serve_forever(settings), settings.event_loop)


@app.command()
def work(
    redis_url: Annotated[str | None, typer.Option("--redis", help="Redis URL (default $REELGRAPH_REDIS_URL).")] = None,
    bundles: Annotated[
        Path | None, typer.Option(help="Bundles root (default $REELGRAPH_BUNDLES_DIR or ./bundles).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda.")] = None,
    name: Annotated[str | None, typer.Option(help="Consumer name (default host-pid).")] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="torch threads (default all cores; cores/workers per host).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, max=64, help="Jobs at once in this process (default 1).")
    ] = None,
    metrics_port: MetricsPortOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Run an explanation worker: Redis Streams in, results and progress events out."""
    import signal

    from reelgraph import logs
    from reelgraph.metrics_http import serve_metrics
    from reelgraph.options import coerce
    from worker.runner import Worker
    from worker.settings import WorkerSettings

    with domain_errors():
        settings = WorkerSettings.from_env(
            redis_url=redis_url,
            bundles_dir=bundles,
            name=name,
            device=coerce(DeviceChoice, device, "--device") if device else None,
            metrics_port=metrics_port,
            log_format=coerce(logs.LogFormat, log_format, "--log-format") if log_format else None,
            torch_threads=threads,
            concurrency=concurrency,
        )
        logs.configure(settings.log_format)
        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        worker = Worker(settings)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.stop.set())  # finish the current job, then exit
        print(f"reelgraph worker {settings.name} on {settings.redis_url} ({worker.device})", flush=True)
        if settings.metrics_port is not None:
            _, port = serve_metrics(worker.metrics.registry, settings.metrics_host, settings.metrics_port)
            print(f"reelgraph worker metrics on http://{settings.metrics_host}:{port}/metrics", flush=True)
        worker.run()


@app.command()
def stack(
    bundles: Annotated[
        Path | None, typer.Option(help="Bundles root (default $REELGRAPH_BUNDLES_DIR or ./bundles).")
    ] = None,
    data: DataOpt = None,
    download: Annotated[bool, typer.Option(help="Download ml-latest-small when no data is found.")] = True,
    host: Annotated[str, typer.Option(help="Server bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Server port (0 = a free one).")] = 50051,
    metrics_port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Server /metrics port; workers take the next ones.")
    ] = 9464,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Explanation worker processes.")] = 1,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs when a bundle must be trained.")] = None,
) -> None:
    """Run everything locally: data, a bundle (trained if missing), redis-server, server, workers. Ctrl-C stops all."""
    from reelgraph.stack import StackSettings, run_stack

    with domain_errors():
        common = CommonSettings.from_env()
        settings = StackSettings(
            bundles_dir=bundles or common.bundles_dir,
            data_dir=data,
            data_root=common.data_dir,
            cache_dir=common.cache_dir,
            download=download,
            host=host,
            port=port,
            metrics_port=metrics_port,
            workers=workers,
            train_args=("--epochs", str(epochs)) if epochs else (),
        )
        try:
            status = run_stack(settings, lambda line: typer.echo(line))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
    raise typer.Exit(status)


@app.command()
def health(
    server: Annotated[
        str | None, typer.Option("--server", help="host:port: exit 0 when its gRPC health is SERVING.")
    ] = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="A worker's /metrics URL: exit 0 when it heartbeat recently.")
    ] = None,
    max_age: Annotated[float, typer.Option("--max-age", min=1, help="Heartbeat age limit, seconds.")] = 60.0,
) -> None:
    """Container health probe: a server's gRPC health, or a worker's heartbeat. Exit 0 healthy, 1 not."""
    from reelgraph.probes import grpc_serving, heartbeat_age_s

    if (server is None) == (metrics is None):
        typer.echo("error: pass exactly one of --server or --metrics", err=True)
        raise typer.Exit(2)
    if server is not None:
        ok = grpc_serving(server)
        typer.echo(f"{server}: {'SERVING' if ok else 'not serving'}")
    else:
        age = heartbeat_age_s(str(metrics))
        ok = age <= max_age
        typer.echo(f"{metrics}: last heartbeat {age:.1f} s ago (limit {max_age:.0f} s)")
    raise typer.Exit(0 if ok else 1)


ServerOpt = Annotated[str, typer.Option("--server", help="host:port of a reelgraph server.")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="REELGRAPH_TOKEN", help="Bearer token.")]


RatingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--ratings", help="CSV of your own ratings: movie_id,stars[,timestamp] (a user given at request time)."
    ),
]


@app.command()
def score(
    src: Annotated[
        Path, typer.Option("--in", help="CSV (or Parquet) with user_id,movie_id columns; with --ratings, movie_id.")
    ],
    dst: Annotated[Path, typer.Option("--out", help="Output CSV.")],
    ratings: RatingsOpt = None,
    server: ServerOpt = "127.0.0.1:50051",
    kind: Annotated[list[str] | None, typer.Option(help="link | rating (repeatable; default link).")] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Pairs per streamed chunk.")] = 100_000,
    token: TokenOpt = None,
) -> None:
    """Score a pairs file of any size through StreamScorePairs, with a progress bar.

    With --ratings, score the movies of --in for the user given by that ratings file.
    """
    from rich.progress import Progress

    from reelgraph.bulk import read_ratings, score_file, score_file_from_ratings
    from reelgraph.client import Client

    kinds = tuple(kind or ["link"])
    with domain_errors(), Client(server, token=token) as client, Progress(transient=True) as bar, rpc_errors(server):
        task = bar.add_task(f"scoring {src.name}", total=None)

        def advance(n: int) -> None:
            bar.update(task, advance=n)

        if ratings is not None:
            rows, invalid = score_file_from_ratings(client, read_ratings(ratings), src, dst, kinds, chunk, advance)
        else:
            rows, invalid = score_file(client, src, dst, kinds, chunk, advance)
    typer.echo(f"wrote {rows} rows to {dst} ({invalid} not scored: unknown ids, see the status column)")


@app.command()
def recommend(
    user: Annotated[list[int] | None, typer.Option("--user", help="MovieLens user id (repeatable).")] = None,
    ratings: RatingsOpt = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="List length.")] = 10,
    genre: Annotated[list[str] | None, typer.Option(help="Only movies with this genre (repeatable).")] = None,
    include_rated: Annotated[bool, typer.Option(help="Also list movies the user rated (not with --ratings).")] = False,
    server: ServerOpt = "127.0.0.1:50051",
    token: TokenOpt = None,
) -> None:
    """Print the top-k movies with titles for each --user, or for the user given by --ratings."""
    from rich.console import Console

    from reelgraph.client import Client
    from reelgraph.console import print_recommendations

    if (not user) == (ratings is None):
        typer.echo("error: pass --user (repeatable) or --ratings FILE, not both", err=True)
        raise typer.Exit(2)
    with domain_errors():
        if ratings is not None and include_rated:
            raise ReelgraphError("--include-rated does not apply to --ratings: given movies are never recommended")
        given = None if ratings is None else _read_ratings(ratings)
        with Client(server, token=token) as client, rpc_errors(server):
            if given is not None:
                one = client.recommend_from_ratings(
                    given.movie_ids, given.stars, k, genres=genre or (), timestamps=given.timestamps
                )
                print_recommendations(Console(), [one])
            else:
                print_recommendations(
                    Console(), client.recommend(user or [], k, include_rated=include_rated, genres=genre or ())
                )


@app.command()
def explain(
    user: Annotated[int, typer.Option("--user", help="MovieLens user id.")],
    movie: Annotated[int, typer.Option("--movie", help="MovieLens movie id.")],
    out: Annotated[Path | None, typer.Option(help="Write the two PNGs here.")] = None,
    method: Annotated[
        str, typer.Option(help="IntegratedGradients | Saliency | InputXGradient | GuidedBackprop | Deconvolution.")
    ] = "IntegratedGradients",
    n_steps: Annotated[int, typer.Option(min=1, max=1000, help="IG steps.")] = 50,
    top_k: Annotated[int, typer.Option("-k", min=1, max=100, help="Influences to list.")] = 10,
    server: ServerOpt = "127.0.0.1:50051",
    token: TokenOpt = None,
) -> None:
    """Explain why a movie is recommended: submit, watch progress live, print the top influences."""
    from rich.console import Console

    from reelgraph.client import Client
    from reelgraph.console import explain_with_progress, method_number, print_explanation

    with domain_errors(), Client(server, token=token) as client:
        options = {"method": method_number(method), "n_steps": n_steps, "top_k": top_k, "want_plots": out is not None}
        with rpc_errors(server):
            result = explain_with_progress(client, user, movie, **options)
        print_explanation(Console(), result, user, movie, out)


@app.command()
def demo(
    server: ServerOpt = "127.0.0.1:50051",
    user: Annotated[int, typer.Option("--user", help="MovieLens user id to demonstrate with.")] = 1,
    out: Annotated[Path, typer.Option(help="Where the explanation PNGs go.")] = Path("demo-out"),
    token: TokenOpt = None,
) -> None:
    """Tour a running stack: models, a scored batch, top-10 with titles, one explanation with PNGs."""
    from rich.console import Console

    from reelgraph.client import Client
    from reelgraph.demo import run_demo

    with domain_errors(), Client(server, token=token) as client, rpc_errors(server):
        run_demo(client, Console(), user, out)


def _read_ratings(path: Path) -> RatingsFile:
    from reelgraph.bulk import read_ratings  # pandas: only when a file is read

    return read_ratings(path)


@contextmanager
def rpc_errors(server: str) -> Iterator[None]:
    """Turn a failed RPC into a ``ReelgraphError`` naming the server and the status."""
    import grpc

    try:
        yield
    except grpc.RpcError as exc:
        raise ReelgraphError(f"server {server}: {exc.code().name}: {exc.details()}") from exc  # type: ignore[attr-defined]


def _model_kinds(values: list[str]) -> tuple[ModelKind, ...]:
    from reelgraph.options import coerce

    if any(v.lower() == "all" for v in values):
        return tuple(ModelKind)
    kinds = [coerce(ModelKind, v, "--model") for v in values]
    return tuple(dict.fromkeys(kinds))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``reelgraph`` console script."""
    app(args=argv)


if __name__ == "__main__":
    main()
