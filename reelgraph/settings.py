"""Every ``REELGRAPH_*`` environment variable, declared once: typed, with its default and doc.

The declaration is a small tree of pydantic-settings classes. Variables that
several processes read (``REELGRAPH_BUNDLES_DIR``, ``REELGRAPH_DEVICE``,
``REELGRAPH_LOG_FORMAT``, ``REELGRAPH_REDIS_URL``) are declared in one group
each; each process reads its own view, built once at the CLI boundary with
``View.from_env(**flags)`` (flags that are not None win over the environment):

- ``CommonSettings``: data, bundles, download cache, device (``train``,
  ``report``, ``stack``; the trainer's other choices are flags, in
  ``trainer.settings.TrainSettings``);
- ``ServerSettings`` (``reelgraph serve``, re-exported by ``server.settings``);
- ``WorkerSettings`` (``reelgraph work``, re-exported by ``worker.settings``);
- ``ClientSettings`` (the commands that talk to a server).

A bad value raises ``SettingsError`` with one line naming the variable and
what it accepts; the CLI prints it and exits 2. The README's settings table is
generated from these classes (``scripts/settings_table.py``; ``make lint``
fails when it is stale).
"""

from __future__ import annotations

import contextvars
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, get_args

import annotated_types
from pydantic import Field, JsonValue, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from reelgraph.errors import InvalidOptionError
from reelgraph.logs import LogFormat
from reelgraph.options import DeviceChoice, EventLoop

if TYPE_CHECKING:
    from reelgraph.jobs.queue import QueueSettings

ENV_PREFIX = "REELGRAPH_"
DEFAULT_BUNDLES_DIR = Path("bundles")
DEFAULT_WORKER_REDIS_URL = "redis://127.0.0.1:6379/0"

_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("reelgraph_environ", default=None)


class SettingsError(InvalidOptionError):
    """A ``REELGRAPH_*`` variable (or the flag standing in for it) has a value it does not accept."""


def setting(
    default: Any = None,
    doc: str = "",
    *,
    env: str | None = None,
    deprecated: tuple[str, ...] = (),
    shown: str | None = None,
    **constraints: Any,
) -> Any:
    """Declare one variable: its default, its doc (the README's "meaning" column), its name when it is
    not ``REELGRAPH_<FIELD>``, deprecated names still read, and how the default is shown when it is
    computed (``shown``). ``constraints`` are pydantic's (``ge``, ``le``, ``default_factory`` …)."""
    extra: dict[str, JsonValue] = {"env": env, "deprecated": list(deprecated), "shown": shown}
    if "default_factory" in constraints:
        return Field(description=doc, json_schema_extra=extra, **constraints)
    return Field(default, description=doc, json_schema_extra=extra, **constraints)


@dataclass(frozen=True)
class Variable:
    """One environment variable as declared: what the README table shows."""

    name: str
    deprecated: tuple[str, ...]
    default: str
    accepts: str
    doc: str
    field: str


class ReelgraphSettings(BaseSettings):
    """Base of every view: ``REELGRAPH_<FIELD>`` variables, read only through ``from_env``.

    Constructing a view directly (``ServerSettings(port=0)``) ignores the
    environment: defaults plus the given values, as tests want.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword values (flags) first, then the environment ``from_env`` was given, nothing else."""
        return (init_settings, _MappingSource(settings_cls))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Self:
        """Read this view's variables from ``env`` (default ``os.environ``); overrides that are not
        None (CLI flags) win. Raises ``SettingsError`` naming the first bad variable."""
        token = _ENVIRON.set(os.environ if env is None else env)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise SettingsError(_one_line(cls, exc, env)) from None
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def variables(cls) -> list[Variable]:
        """This view's variables, in declaration order."""
        return [_variable(name, info) for name, info in cls.model_fields.items()]

    @classmethod
    def flag_default(cls, field: str) -> str:
        """What a flag's help says it falls back to: ``$VARIABLE or <default>`` as declared
        (``$VARIABLE`` alone when the default is unset), so the help cannot go stale."""
        info = cls.model_fields[field]
        variable, shown = "$" + _names(field, info)[0], _shown_default(info, plain=True)
        return variable if shown == "unset" else f"{variable} or {shown}"

    @field_validator("*", mode="before")
    @classmethod
    def _enum_any_case(cls, value: object, info: Any) -> object:
        """Enum values are matched by value or name in any case, as flags are."""
        enum = _enum_of(cls.model_fields[info.field_name].annotation)
        if enum is not None and isinstance(value, str):
            for member in enum:
                if value.lower() in (str(member.value).lower(), member.name.lower()):
                    return member
        return value


class _MappingSource(PydanticBaseSettingsSource):
    """The environment ``from_env`` set (empty values count as unset); nothing outside ``from_env``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads every field at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environ = _ENVIRON.get()
        if environ is None:
            return {}
        values: dict[str, Any] = {}
        for name, info in self.settings_cls.model_fields.items():
            for key in _names(name, info):
                if environ.get(key):
                    values[name] = environ[key]
                    break
        return values


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _names(field: str, info: FieldInfo) -> list[str]:
    """The variable's name, then its deprecated names (read when the name is unset)."""
    extra = _extra(info)
    return [str(extra.get("env") or ENV_PREFIX + field.upper()), *(str(d) for d in extra.get("deprecated") or [])]


def _enum_of(annotation: Any) -> type[Enum] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _accepts(info: FieldInfo) -> str:
    """What a variable accepts, in words, from its type and constraints."""
    annotation = info.annotation
    enum = _enum_of(annotation)
    if enum is not None:
        *others, last = (str(m.value) for m in enum)
        return f"{', '.join(others)} or {last}"
    types = {a for a in (annotation, *get_args(annotation)) if a is not type(None)}
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    above = next((m.gt for m in info.metadata if isinstance(m, annotated_types.Gt)), None)
    if int in types or float in types:
        what = "an integer" if int in types else "a number"
        if low is not None and high is not None:
            return f"{what} {low}–{high}"
        if above is not None:
            return f"{what} > {above}"
        return f"{what} ≥ {low}" if low is not None else what
    if Path in types:
        return "a path"
    if frozenset[str] in types:
        return "comma-separated text"
    return "text"


def _shown_default(info: FieldInfo, *, plain: bool = False) -> str:
    """The default as the README table shows it (in backticks), or ``plain`` as a flag's help does."""
    shown = _extra(info).get("shown")
    if shown:
        return str(shown).strip("`") if plain else str(shown)
    default = info.get_default(call_default_factory=True)
    if default is None:
        return "unset"
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, frozenset):
        return "empty"
    return str(default) if plain else f"`{default}`"


def _variable(field: str, info: FieldInfo) -> Variable:
    name, *deprecated = _names(field, info)
    return Variable(name, tuple(deprecated), _shown_default(info), _accepts(info), info.description or "", field)


def _one_line(cls: type[ReelgraphSettings], exc: ValidationError, env: Mapping[str, str] | None) -> str:
    """The first error, naming the variable it came from (or the setting, for a flag) and what it accepts."""
    environ = os.environ if env is None else env
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    info = cls.model_fields.get(field)
    if info is None:  # a rule across settings: its message names them
        return str(error["msg"]).removeprefix("Value error, ")
    given = next((key for key in _names(field, info) if environ.get(key)), None)
    what = given if given is not None and error.get("input") == environ[given] else "--" + field.replace("_", "-")
    return f"invalid {what} {error.get('input')!r}: expected {_accepts(info)}"


def all_variables() -> Iterator[Variable]:
    """Every declared variable once, across every view (the README table's rows)."""
    seen: set[str] = set()
    for view in (CommonSettings, ServerSettings, WorkerSettings, ClientSettings):
        for variable in view.variables():
            if variable.name not in seen:
                seen.add(variable.name)
                yield variable


# --- groups: a variable more than one process reads is declared here, once -------------------------


class _Bundles(ReelgraphSettings):
    bundles_dir: Path = setting(
        DEFAULT_BUNDLES_DIR, "bundles root: `train` writes it, `serve`, `work` and `stack` read it (`--bundles`)"
    )


class _Device(ReelgraphSettings):
    device: DeviceChoice = setting(
        DeviceChoice.AUTO, "where training and a worker's batched IG run (`--device`); auto = CUDA when present"
    )


class _Logs(ReelgraphSettings):
    log_format: LogFormat = setting(LogFormat.TEXT, "log lines of the server and worker (`--log-format`)")


class _Queue(ReelgraphSettings):
    redis_url: str | None = setting(
        None,
        "the explanation job queue (`--redis`); unset, the server answers explanations UNAVAILABLE "
        f"(scoring works) and a worker uses `{DEFAULT_WORKER_REDIS_URL}`; `stack` starts its own",
    )


# --- views: one per process ---------------------------------------------------------------------------


class CommonSettings(_Bundles, _Device):
    """Settings every command that finds data or bundles reads (``train``, ``report``, ``stack``)."""

    data_dir: Path | None = setting(
        None,
        "root holding `ml-latest-small/`, `ml-100k/`; where `train`, `report` and `stack` look without "
        "`--data` (the Makefile sets `../shared/movielens`), and the real-data tests and `make bench`",
    )
    cache_dir: Path = setting(
        shown="`~/.cache/reelgraph`",
        doc="where downloaded datasets are extracted and looked for",
        default_factory=lambda: Path.home() / ".cache" / "reelgraph",
    )


class ServerSettings(_Bundles, _Logs, _Queue):
    """How ``reelgraph serve`` runs (flags of the same name win)."""

    host: str = setting("127.0.0.1", "server bind address, also of its `/metrics` (`--host`)")
    port: int = setting(50051, "server port, 0 = any free port (`--port`)", ge=0, le=65535)
    workers: int = setting(
        2, "server threads for large batches, recommendations and reloads (`serve --scoring-threads`)", ge=1
    )
    max_pairs: int = setting(
        1_000_000, "pairs per request or stream chunk; message limits = 16 B × pairs + 1 MiB (`--max-pairs`)", ge=1
    )
    default_model: str | None = setting(None, "bundle used when a request names none (unset: the first by name)")
    reload_interval_s: float = setting(2.0, "seconds between checks for new bundle versions (0 = off)", ge=0)
    auth_tokens: frozenset[str] = setting(
        doc="bearer tokens the server accepts; empty = auth off", default_factory=frozenset
    )
    tls_cert: Path | None = setting(None, "PEM server certificate (TLS; with `REELGRAPH_TLS_KEY`)")
    tls_key: Path | None = setting(None, "PEM server private key (TLS; with `REELGRAPH_TLS_CERT`)")
    tls_client_ca: Path | None = setting(None, "PEM CA bundle; set to require client certificates (mTLS)")
    grace_s: float = setting(5.0, "seconds in-flight RPCs get at shutdown", ge=0)
    metrics_port: int | None = setting(
        None,
        "server's Prometheus `/metrics` port on its host (`--metrics-port`; 0 = any free port; unset = off); "
        "with `--processes N`, child i uses this port + i",
        env=ENV_PREFIX + "SERVER_METRICS_PORT",
        deprecated=(ENV_PREFIX + "METRICS_PORT",),
        ge=0,
        le=65535,
    )
    event_loop: EventLoop = setting(
        EventLoop.AUTO, "the server's event loop (`--event-loop`); auto = uvloop if installed"
    )
    processes: int = setting(1, "server processes sharing the port via SO_REUSEPORT (`--processes`)", ge=1, le=256)

    @field_validator("auth_tokens", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return frozenset(t.strip() for t in value.split(",") if t.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _tls_complete(self) -> Self:
        _check_tls(self.tls_cert, self.tls_key, self.tls_client_ca, server=True)
        return self

    @property
    def max_message_bytes(self) -> int:
        """gRPC message limit: ``max_pairs`` × 16 bytes of ids plus 1 MiB of framing."""
        return self.max_pairs * 16 + (1 << 20)


class WorkerSettings(_Bundles, _Device, _Logs, _Queue):
    """How ``reelgraph work`` runs (flags of the same name win)."""

    # REELGRAPH_REDIS_URL as declared in _Queue, with the worker's default (a worker always needs a queue).
    redis_url: str = setting(DEFAULT_WORKER_REDIS_URL, str(_Queue.model_fields["redis_url"].description))

    name: str = setting(
        doc="worker consumer name, unique per worker (`--name`)",
        env=ENV_PREFIX + "WORKER_NAME",
        shown="host-pid",
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
    )
    concurrency: int = setting(
        1,
        "jobs one worker process runs at once, each in its own thread and consumer (`--concurrency`)",
        env=ENV_PREFIX + "WORKER_CONCURRENCY",
        ge=1,
        le=64,
    )
    torch_threads: int | None = setting(
        None,
        "a worker's torch threads (`--threads`; unset = torch's default, all cores); with N workers on a host, "
        "cores / N",
        ge=1,
    )
    visibility_timeout_s: float = setting(300.0, "idle seconds before another worker takes a pending job over", gt=0)
    max_deliveries: int = setting(3, "deliveries before a job is dead-lettered", ge=1)
    metrics_port: int | None = setting(
        None,
        "a worker's Prometheus `/metrics` port (`--metrics-port`; 0 = any free port; unset = off)",
        env=ENV_PREFIX + "WORKER_METRICS_PORT",
        ge=0,
        le=65535,
    )
    metrics_host: str = setting(
        "127.0.0.1",
        "address a worker's `/metrics` binds",
        env=ENV_PREFIX + "WORKER_METRICS_HOST",
        deprecated=(ENV_PREFIX + "METRICS_HOST",),
    )

    @property
    def queue(self) -> QueueSettings:
        """The job queue's behaviour from these settings (other knobs: ``QueueSettings``' defaults)."""
        from reelgraph.jobs.queue import QueueSettings  # redis: only for the worker

        return QueueSettings(visibility_timeout_s=self.visibility_timeout_s, max_deliveries=self.max_deliveries)


class ClientSettings(ReelgraphSettings):
    """What the commands that talk to a server (``score``, ``recommend``, ``explain``, ``demo``) read."""

    token: str | None = setting(None, "bearer token the client commands send (`--token`)")
    tls_ca: Path | None = setting(
        None,
        "PEM CA bundle the client commands trust; set, they speak TLS (`--tls-ca`)",
        env=ENV_PREFIX + "CLIENT_TLS_CA",
    )
    tls_cert: Path | None = setting(
        None, "PEM client certificate for mTLS (`--tls-cert`, with `--tls-key`)", env=ENV_PREFIX + "CLIENT_TLS_CERT"
    )
    tls_key: Path | None = setting(
        None, "PEM client private key for mTLS (`--tls-key`)", env=ENV_PREFIX + "CLIENT_TLS_KEY"
    )

    @model_validator(mode="after")
    def _tls_complete(self) -> Self:
        _check_tls(self.tls_cert, self.tls_key, self.tls_ca, server=False)
        return self


def _check_tls(cert: Path | None, key: Path | None, ca: Path | None, *, server: bool) -> None:
    """A certificate comes with its key; the server's client CA (mTLS) needs the server's
    certificate, and a client's certificate (mTLS) needs the CA it trusts."""
    if (cert is None) != (key is None):
        if server:
            raise ValueError("REELGRAPH_TLS_CERT and REELGRAPH_TLS_KEY must be set together")
        raise ValueError("--tls-cert and --tls-key (REELGRAPH_CLIENT_TLS_CERT, _KEY) must be given together")
    if server and ca is not None and cert is None:
        raise ValueError("REELGRAPH_TLS_CLIENT_CA (mTLS) needs REELGRAPH_TLS_CERT and REELGRAPH_TLS_KEY")
    if not server and cert is not None and ca is None:
        raise ValueError("--tls-cert and --tls-key (mTLS) need --tls-ca (REELGRAPH_CLIENT_TLS_CA)")


def resolve_device(choice: DeviceChoice) -> str:
    """``cuda`` when asked or when ``auto`` finds a GPU, else ``cpu``.

    Raises ``InvalidOptionError`` when ``cuda`` is asked for but absent.
    """
    import torch

    if choice is DeviceChoice.CUDA and not torch.cuda.is_available():
        raise InvalidOptionError("device 'cuda' was requested but no CUDA device is available")
    if choice is DeviceChoice.CPU:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
