"""The worker's settings object: environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reelgraph.errors import InvalidOptionError
from reelgraph.jobs.queue import QueueSettings
from reelgraph.logs import LogFormat
from reelgraph.options import DeviceChoice, coerce

_P = "REELGRAPH_"


@dataclass(frozen=True)
class WorkerSettings:
    """How ``reelgraph work`` runs.

    Attributes:
        redis_url: the queue (``REELGRAPH_REDIS_URL``, default ``redis://127.0.0.1:6379/0``).
        bundles_dir: bundles root, the same the server reads (``REELGRAPH_BUNDLES_DIR``).
        name: consumer name, unique per worker (``REELGRAPH_WORKER_NAME``; default host-pid).
        device: ``auto`` | ``cpu`` | ``cuda`` (``REELGRAPH_DEVICE``, default auto: CUDA
            when present). Integrated Gradients (the default method) runs there; the
            other Captum methods and fidelity re-scoring run on the CPU.
        concurrency: jobs one worker process runs at once, each in its own thread and
            consumer (``REELGRAPH_WORKER_CONCURRENCY``, default 1). Bundles are shared;
            Captum's step-by-step methods serialise on a lock, batched IG does not.
        torch_threads: intra-op threads for torch (``REELGRAPH_TORCH_THREADS``; default:
            torch's own, all cores). With several workers on one host, give each
            cores / workers.
        queue: visibility timeout, deliveries before dead-lettering, block time
            (``REELGRAPH_VISIBILITY_TIMEOUT_S``, ``REELGRAPH_MAX_DELIVERIES``).
        metrics_port: Prometheus ``/metrics`` port (``REELGRAPH_WORKER_METRICS_PORT``;
            unset = none; 0 = any free port).
        metrics_host: address the metrics endpoint binds (default ``127.0.0.1``).
        log_format: ``text`` or ``json`` (``REELGRAPH_LOG_FORMAT``, default text).
    """

    redis_url: str = "redis://127.0.0.1:6379/0"
    bundles_dir: Path = Path("bundles")
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    device: DeviceChoice = DeviceChoice.AUTO
    queue: QueueSettings = field(default_factory=QueueSettings)
    concurrency: int = 1
    torch_threads: int | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    log_format: LogFormat = LogFormat.TEXT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WorkerSettings:
        """Read ``REELGRAPH_*``; keyword overrides (CLI flags) win when not None."""
        env = os.environ if env is None else env
        default = QueueSettings()
        values: dict[str, object] = {
            "redis_url": env.get(_P + "REDIS_URL", cls.redis_url),
            "bundles_dir": Path(env.get(_P + "BUNDLES_DIR", "bundles")),
            "device": coerce(DeviceChoice, env.get(_P + "DEVICE", "auto"), "REELGRAPH_DEVICE"),
            "queue": QueueSettings(
                visibility_timeout_s=float(env.get(_P + "VISIBILITY_TIMEOUT_S", default.visibility_timeout_s)),
                max_deliveries=int(env.get(_P + "MAX_DELIVERIES", default.max_deliveries)),
            ),
            "metrics_host": env.get(_P + "METRICS_HOST", cls.metrics_host),
            "log_format": coerce(LogFormat, env.get(_P + "LOG_FORMAT", "text"), "REELGRAPH_LOG_FORMAT"),
        }
        if env.get(_P + "WORKER_CONCURRENCY"):
            values["concurrency"] = int(env[_P + "WORKER_CONCURRENCY"])
        if env.get(_P + "TORCH_THREADS"):
            values["torch_threads"] = int(env[_P + "TORCH_THREADS"])
        if env.get(_P + "WORKER_METRICS_PORT"):
            values["metrics_port"] = int(env[_P + "WORKER_METRICS_PORT"])
        if env.get(_P + "WORKER_NAME"):
            values["name"] = env[_P + "WORKER_NAME"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.concurrency < 1:
            raise InvalidOptionError(f"worker concurrency must be >= 1, got {settings.concurrency}")
        return settings
