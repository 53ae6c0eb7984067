"""``reelgraph serve --processes N``: N server processes sharing one port (SO_REUSEPORT).

One grpc.aio process handles about one core's worth of calls; on a host with
more cores, N processes on the same port let the kernel spread connections
over them (the README's serving section has the measured rates). The parent only supervises: each child is a
complete server (own health, own metrics port), as a replica behind an L4
balancer would be. Children are stopped with the parent and die with it.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable

from reelgraph.supervision import Supervisor, free_port, grpc_serving, supervise
from server.settings import ServerSettings


def child_args(settings: ServerSettings, port: int, index: int) -> list[str]:
    """``reelgraph serve`` arguments of child ``index``; settings not given here come from the environment."""
    args = [sys.executable, "-m", "reelgraph", "serve", "--processes", "1"]
    args += ["--bundles", str(settings.bundles_dir), "--host", settings.host, "--port", str(port)]
    args += ["--scoring-threads", str(settings.workers), "--max-pairs", str(settings.max_pairs)]
    args += ["--log-format", settings.log_format.value, "--event-loop", settings.event_loop.value]
    if settings.redis_url:
        args += ["--redis", settings.redis_url]
    if settings.metrics_port is not None:
        args += ["--metrics-port", str(settings.metrics_port + index if settings.metrics_port else 0)]
    return args


def _ready(stack: Supervisor, target: str, n: int, timeout_s: float = 300.0) -> bool:
    """Until 3·n health checks in a row, each on a new connection, say SERVING (so, very
    likely, every child answers); False when a child dies or time runs out."""
    deadline, streak = time.monotonic() + timeout_s, 0
    while streak < 3 * n:
        if stack.exited() is not None or time.monotonic() > deadline:
            stack.say("a server process did not come up")
            return False
        streak = streak + 1 if grpc_serving(target, timeout_s=1.0) else 0
        if streak == 0:
            time.sleep(0.2)
    return True


def serve_processes(settings: ServerSettings, say: Callable[[str], None] = print) -> int:
    """Run ``settings.processes`` servers on one port until SIGINT/SIGTERM or one dies; the exit status."""
    port = settings.port or free_port(settings.host)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Supervisor(say)
    try:
        for i in range(settings.processes):
            child = stack.spawn(f"server {i + 1}", child_args(settings, port, i))
            say(f"server {i + 1}: pid {child.proc.pid}")
        if not _ready(stack, f"{settings.host}:{port}", settings.processes):
            return 1
        say(f"reelgraph serving on {settings.host}:{port} ({settings.processes} processes)")
        return supervise(stack, stop)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
