"""What every command group shares: the one error translator at the CLI boundary and common options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from reelgraph.errors import ReelgraphError
from reelgraph.logs import LogFormat
from reelgraph.settings import ClientSettings, CommonSettings, ReelgraphSettings, ServerSettings

if TYPE_CHECKING:
    from reelgraph.client import Client


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


def choices(enum: type[Enum]) -> str:
    """An option enum's values as a flag's help lists them: ``a | b | c``."""
    return " | ".join(str(member.value) for member in enum)


def setting_option(view: type[ReelgraphSettings], field: str, help: str, *names: str, **options: Any) -> Any:
    """A typer option standing in for the declared setting ``view.field``: its help ends with what
    it falls back to, read from the declaration (``$VARIABLE or <default>``)."""
    return typer.Option(*names, help=f"{help} (default {view.flag_default(field)}).", **options)


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="MovieLens directory (any layout). Default: $REELGRAPH_DATA_DIR/ml-latest-small."),
]
BundlesOpt = Annotated[
    Path | None,
    typer.Option("--bundles", help=f"Bundles root (default {CommonSettings.flag_default('bundles_dir')})."),
]
MetricsPortOpt = Annotated[
    int | None, typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus /metrics here (0 = any port).")
]
LogFormatOpt = Annotated[
    str | None,
    typer.Option("--log-format", help=f"{choices(LogFormat)} (default {ServerSettings.flag_default('log_format')})."),
]
ServerOpt = Annotated[str, typer.Option("--server", help="host:port of a reelgraph server.")]
TokenOpt = Annotated[
    str | None, typer.Option("--token", help=f"Bearer token (default {ClientSettings.flag_default('token')}).")
]
TlsCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca", help=f"PEM CA bundle to trust: speak TLS (default {ClientSettings.flag_default('tls_ca')})."
    ),
]
TlsCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        help=f"PEM client certificate for mTLS, with --tls-key ({ClientSettings.flag_default('tls_cert')}).",
    ),
]
TlsKeyOpt = Annotated[
    Path | None,
    typer.Option("--tls-key", help=f"PEM client private key for mTLS ({ClientSettings.flag_default('tls_key')})."),
]


@dataclass(frozen=True)
class Credentials:
    """What a command needs to reach a server: the bearer token and, for TLS, PEM bytes."""

    token: str | None = None
    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None


def credentials(token: str | None, tls_ca: Path | None, tls_cert: Path | None, tls_key: Path | None) -> Credentials:
    """The flags, else ``REELGRAPH_TOKEN`` / ``REELGRAPH_CLIENT_TLS_*``, read once.

    Raises ``ReelgraphError`` for a bad setting or a file that cannot be read.
    """
    from reelgraph.settings import ClientSettings

    settings = ClientSettings.from_env(token=token, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key)

    def pem(path: Path | None) -> bytes | None:
        try:
            return None if path is None else path.read_bytes()
        except OSError as exc:
            raise ReelgraphError(f"cannot read {path}: {exc.strerror}") from None

    return Credentials(settings.token, pem(settings.tls_ca), pem(settings.tls_cert), pem(settings.tls_key))


def connect(server: str, creds: Credentials) -> Client:
    """A ``Client`` of ``server`` with ``creds`` (plaintext without a CA)."""
    from reelgraph.client import Client

    return Client(
        server,
        token=creds.token,
        root_certificates=creds.root_certificates,
        certificate_chain=creds.certificate_chain,
        private_key=creds.private_key,
    )


@dataclass(frozen=True)
class TlsFiles:
    """The TLS flags of a command that reaches a server (None: the environment's)."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def credentials(self, token: str | None = None) -> Credentials:
        """Read once (``credentials``); raises ``ReelgraphError`` for a bad setting or an unreadable file."""
        return credentials(token, self.ca, self.cert, self.key)


@dataclass(frozen=True)
class Connection:
    """How a command reaches a server: ``host:port``, the token and the TLS flags (None: the environment's)."""

    server: str
    token: str | None = None
    tls: TlsFiles = TlsFiles()

    def client(self) -> Client:
        """A ``Client`` of the server; raises ``ReelgraphError`` for a bad setting or a file that cannot be read."""
        return connect(self.server, self.tls.credentials(self.token))


def _tls_options(tls_ca: TlsCaOpt = None, tls_cert: TlsCertOpt = None, tls_key: TlsKeyOpt = None) -> TlsFiles:
    return TlsFiles(tls_ca, tls_cert, tls_key)


def _connection_options(
    server: ServerOpt = "127.0.0.1:50051",
    token: TokenOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
) -> Connection:
    return Connection(server, token, TlsFiles(tls_ca, tls_cert, tls_key))


def _adds_options(name: str, options: Callable[..., object]) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator giving a command the parameters of ``options`` (after its own, for typer to read);
    the command receives what ``options`` builds of them as one keyword-only argument, ``name``."""
    declared = inspect.signature(options, eval_str=True).parameters

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)

        @functools.wraps(command)
        def run(**given: Any) -> None:
            command(**{name: options(**{p: given.pop(p) for p in declared})}, **given)

        kept = [p for p in own.parameters.values() if p.name != name]
        run.__signature__ = own.replace(parameters=[*kept, *declared.values()])  # type: ignore[attr-defined]
        return run

    return decorate


talks_to_server = _adds_options("connection", _connection_options)
"""``--server``, ``--token``, ``--tls-*`` for a command, received as ``connection: Connection``."""
speaks_tls = _adds_options("tls", _tls_options)
"""``--tls-ca``, ``--tls-cert``, ``--tls-key`` for a command, received as ``tls: TlsFiles``."""


RatingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--ratings", help="CSV of your own ratings: movie_id,stars[,timestamp] (a user given at request time)."
    ),
]
