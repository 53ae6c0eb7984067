"""What every command group shares: the one error translator at the CLI boundary and common options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from reelgraph.errors import ReelgraphError


@contextmanager
def cli_errors(server: str | None = None) -> Iterator[None]:
    """Turn a ``ReelgraphError`` — or, when talking to ``server``, a failed RPC — into one clear
    line on stderr and exit status 2 (no traceback)."""
    try:
        yield
    except ReelgraphError as exc:
        _fail(str(exc))
    except Exception as exc:
        if server is None or not _is_rpc_error(exc):
            raise
        _fail(f"server {server}: {exc.code().name}: {exc.details()}")  # type: ignore[attr-defined]


def _is_rpc_error(exc: Exception) -> bool:
    import grpc  # only once an RPC has failed: commands without a server never import grpc

    return isinstance(exc, grpc.RpcError)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2) from None


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="MovieLens directory (any layout). Default: $REELGRAPH_DATA_DIR/ml-latest-small."),
]
MetricsPortOpt = Annotated[
    int | None, typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus /metrics here (0 = any port).")
]
LogFormatOpt = Annotated[
    str | None, typer.Option("--log-format", help="text | json (default $REELGRAPH_LOG_FORMAT or text).")
]
ServerOpt = Annotated[str, typer.Option("--server", help="host:port of a reelgraph server.")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="REELGRAPH_TOKEN", help="Bearer token.")]
RatingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--ratings", help="CSV of your own ratings: movie_id,stars[,timestamp] (a user given at request time)."
    ),
]
