"""``reelgraph serve`` and ``reelgraph work``: the server's and the worker's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from reelgraph.cli.common import BundlesOpt, LogFormatOpt, MetricsPortOpt, choices, cli_errors, setting_option
from reelgraph.errors import ReelgraphError
from reelgraph.options import DeviceChoice, EventLoop
from reelgraph.settings import ServerSettings as _Server
from reelgraph.settings import WorkerSettings as _Worker


def serve(
    bundles: BundlesOpt = None,
    host: Annotated[str | None, setting_option(_Server, "host", "Bind address")] = None,
    port: Annotated[int | None, setting_option(_Server, "port", "Port; 0 picks a free one")] = None,
    scoring_threads: Annotated[
        int | None, setting_option(_Server, "workers", "Scoring threads off the event loop", "--scoring-threads", min=1)
    ] = None,
    max_pairs: Annotated[int | None, setting_option(_Server, "max_pairs", "Pairs per request")] = None,
    redis_url: Annotated[
        str | None, setting_option(_Server, "redis_url", "Redis URL of the explanation queue", "--redis")
    ] = None,
    metrics_port: MetricsPortOpt = None,
    log_format: LogFormatOpt = None,
    processes: Annotated[
        int | None, setting_option(_Server, "processes", "Server processes on the port", min=1, max=256)
    ] = None,
    event_loop: Annotated[
        str | None,
        setting_option(_Server, "event_loop", f"{choices(EventLoop)}; auto: uvloop when installed", "--event-loop"),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, hidden=True)] = None,  # the old --scoring-threads
) -> None:
    """Serve bundles over gRPC (ScoringService, health, reflection); reloads new versions."""
    from server.settings import ServerSettings

    threads = scoring_threads if scoring_threads is not None else workers
    with cli_errors():  # settings first: a bad value is reported before torch and grpc are imported
        settings = ServerSettings.from_env(
            bundles_dir=bundles, host=host, port=port, workers=threads, max_pairs=max_pairs, redis_url=redis_url,
            metrics_port=metrics_port, log_format=log_format, processes=processes, event_loop=event_loop,
        )  # fmt: skip
        from reelgraph import logs
        from server import eventloop
        from server.app import serve_forever

        try:
            eventloop.resolve(settings.event_loop)  # fail before binding when uvloop is asked for but missing
        except ValueError as exc:
            raise ReelgraphError(str(exc)) from exc
        logs.configure(settings.log_format)
        if settings.processes > 1:
            from server.processes import serve_processes

            raise typer.Exit(serve_processes(settings, lambda line: typer.echo(line)))
        eventloop.run(serve_forever(settings), settings.event_loop)


def work(
    redis_url: Annotated[str | None, setting_option(_Worker, "redis_url", "Redis URL", "--redis")] = None,
    bundles: BundlesOpt = None,
    device: Annotated[str | None, setting_option(_Worker, "device", choices(DeviceChoice))] = None,
    name: Annotated[str | None, setting_option(_Worker, "name", "Consumer name")] = None,
    threads: Annotated[
        int | None,
        setting_option(
            _Worker,
            "torch_threads",
            "torch threads; unset: all cores, with N workers on a host cores / N",
            "--threads",
            min=1,
        ),
    ] = None,
    concurrency: Annotated[
        int | None, setting_option(_Worker, "concurrency", "Jobs at once in this process", min=1, max=64)
    ] = None,
    metrics_port: MetricsPortOpt = None,
    log_format: LogFormatOpt = None,
) -> None:
    """Run an explanation worker: Redis Streams in, results and progress events out."""
    import signal

    from worker.settings import WorkerSettings

    with cli_errors():  # settings first: a bad value is reported before torch is imported
        settings = WorkerSettings.from_env(
            redis_url=redis_url,
            bundles_dir=bundles,
            name=name,
            device=device,
            metrics_port=metrics_port,
            log_format=log_format,
            torch_threads=threads,
            concurrency=concurrency,
        )
        from reelgraph import logs
        from reelgraph.metrics_http import serve_metrics
        from worker.runner import Worker

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
