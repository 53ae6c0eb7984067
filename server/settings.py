"""The server's settings object: environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reelgraph.logs import LogFormat
from reelgraph.options import EventLoop, coerce

_P = "REELGRAPH_"


@dataclass(frozen=True)
class ServerSettings:
    """How ``reelgraph serve`` runs.

    Attributes:
        bundles_dir: bundles root (``REELGRAPH_BUNDLES_DIR``, default ``bundles``).
        host: bind address (``REELGRAPH_HOST``, default ``127.0.0.1``).
        port: TCP port, 0 picks a free one (``REELGRAPH_PORT``, default 50051).
        workers: threads for CPU-heavy scoring off the event loop
            (``REELGRAPH_WORKERS``, default 2).
        max_pairs: pairs per ScorePairs request or stream chunk
            (``REELGRAPH_MAX_PAIRS``, default 1,000,000); message size limits
            follow from it.
        default_model: bundle used when a request names none
            (``REELGRAPH_DEFAULT_MODEL``; default: first by name).
        reload_interval_s: seconds between checks for new bundle versions
            (``REELGRAPH_RELOAD_INTERVAL_S``, default 2.0; 0 disables).
        auth_tokens: accepted bearer tokens, comma-separated
            (``REELGRAPH_AUTH_TOKENS``); empty disables auth.
        tls_cert, tls_key: server certificate and key (PEM paths;
            ``REELGRAPH_TLS_CERT`` / ``REELGRAPH_TLS_KEY``); both or neither.
        tls_client_ca: CA bundle to require client certificates (mTLS;
            ``REELGRAPH_TLS_CLIENT_CA``).
        grace_s: seconds in-flight RPCs get on shutdown (default 5).
        redis_url: the explanation job queue (``REELGRAPH_REDIS_URL``); unset, the
            ExplanationService answers UNAVAILABLE while scoring works as usual.
        metrics_port: Prometheus ``/metrics`` port on ``host``
            (``REELGRAPH_METRICS_PORT``; unset = no metrics endpoint; 0 = any free port).
        log_format: ``text`` or ``json`` (``REELGRAPH_LOG_FORMAT``, default text).
        event_loop: ``auto`` (uvloop when installed), ``asyncio`` or ``uvloop``
            (``REELGRAPH_EVENT_LOOP``, default auto).
        processes: server processes sharing the port (``REELGRAPH_PROCESSES``, default 1);
            above 1, child ``i`` serves metrics on ``metrics_port + i``.
    """

    bundles_dir: Path = Path("bundles")
    host: str = "127.0.0.1"
    port: int = 50051
    workers: int = 2
    max_pairs: int = 1_000_000
    default_model: str | None = None
    reload_interval_s: float = 2.0
    auth_tokens: frozenset[str] = field(default_factory=frozenset)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    grace_s: float = 5.0
    redis_url: str | None = None
    metrics_port: int | None = None
    log_format: LogFormat = LogFormat.TEXT
    event_loop: EventLoop = EventLoop.AUTO
    processes: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Read ``REELGRAPH_*``; keyword overrides (CLI flags) win when not None."""
        env = os.environ if env is None else env

        def path(key: str) -> Path | None:
            return Path(env[_P + key]) if env.get(_P + key) else None

        values: dict[str, object] = {
            "bundles_dir": Path(env.get(_P + "BUNDLES_DIR", "bundles")),
            "host": env.get(_P + "HOST", cls.host),
            "port": int(env.get(_P + "PORT", cls.port)),
            "workers": int(env.get(_P + "WORKERS", cls.workers)),
            "max_pairs": int(env.get(_P + "MAX_PAIRS", cls.max_pairs)),
            "default_model": env.get(_P + "DEFAULT_MODEL") or None,
            "reload_interval_s": float(env.get(_P + "RELOAD_INTERVAL_S", cls.reload_interval_s)),
            "auth_tokens": frozenset(t for t in env.get(_P + "AUTH_TOKENS", "").split(",") if t),
            "tls_cert": path("TLS_CERT"),
            "tls_key": path("TLS_KEY"),
            "tls_client_ca": path("TLS_CLIENT_CA"),
            "redis_url": env.get(_P + "REDIS_URL") or None,
            "metrics_port": int(env[_P + "METRICS_PORT"]) if env.get(_P + "METRICS_PORT") else None,
            "log_format": coerce(LogFormat, env.get(_P + "LOG_FORMAT", "text"), "REELGRAPH_LOG_FORMAT"),
            "event_loop": coerce(EventLoop, env.get(_P + "EVENT_LOOP", "auto"), "REELGRAPH_EVENT_LOOP"),
            "processes": int(env.get(_P + "PROCESSES", cls.processes)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad setting."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("REELGRAPH_TLS_CERT and REELGRAPH_TLS_KEY must be set together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ValueError("REELGRAPH_TLS_CLIENT_CA (mTLS) needs REELGRAPH_TLS_CERT and REELGRAPH_TLS_KEY")
        for name in ("workers", "max_pairs", "processes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("port", "metrics_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 65535:
                raise ValueError(f"{name} must be 0..65535, got {value}")

    @property
    def max_message_bytes(self) -> int:
        """gRPC message limit: ``max_pairs`` × 16 bytes of ids plus 1 MiB of framing."""
        return self.max_pairs * 16 + (1 << 20)
