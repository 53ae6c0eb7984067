"""``reelgraph stack``: the whole system on one machine, in one command.

Finds the data (or downloads it), trains a bundle when none exists, starts a
private ``redis-server``, the gRPC server and the workers as child processes,
prints where they listen, and on Ctrl-C/SIGTERM stops them in order (workers,
server, Redis) — killing any that outstay their grace — so nothing is orphaned.
Children run in their own sessions (the terminal's Ctrl-C reaches only this
supervisor) and, on Linux, receive SIGTERM should the supervisor die abruptly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reelgraph.bundle.loader import bundle_names
from reelgraph.errors import ReelgraphError
from reelgraph.redis_process import RedisProcess, free_port, start_redis

DATASET = "ml-latest-small"
_GRACE_S = 15.0


@dataclass(frozen=True)
class StackSettings:
    """What ``reelgraph stack`` starts.

    Attributes:
        bundles_dir: bundles root; a bundle is trained into it when it has none.
        data_dir: explicit MovieLens directory (``--data``), or None to look in
            ``data_root/ml-latest-small``, then the download cache, then download.
        data_root: ``REELGRAPH_DATA_DIR`` (None when unset).
        cache_dir: download cache (``REELGRAPH_CACHE_DIR``).
        download: allowed to download ml-latest-small (checksum-verified) when no data is found.
        host, port: the server's address (port 0 = a free one).
        metrics_port: the server's /metrics port (None = off; 0 = a free one);
            workers use the following ports.
        workers: explanation worker processes (default 1).
        train_args: extra ``reelgraph train`` arguments (e.g. ``--epochs 2``).
    """

    bundles_dir: Path = Path("bundles")
    data_dir: Path | None = None
    data_root: Path | None = None
    cache_dir: Path = Path.home() / ".cache" / "reelgraph"
    download: bool = True
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int | None = 9464
    workers: int = 1
    train_args: tuple[str, ...] = ()


@dataclass
class Child:
    """A supervised child process."""

    name: str
    proc: subprocess.Popen[bytes]


@dataclass
class Stack:
    """Running children, stopped in reverse start order."""

    say: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    redis: RedisProcess | None = None

    def spawn(self, name: str, args: Sequence[str]) -> Child:
        proc = subprocess.Popen(list(args), start_new_session=True, preexec_fn=die_with_parent)
        child = Child(name, proc)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every child (last started first), SIGKILL what outstays the grace, then Redis."""
        for child in reversed(self.children):
            if child.proc.poll() is None:
                self.say(f"stopping {child.name} (pid {child.proc.pid})")
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_S
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop in {_GRACE_S:.0f} s: killing it")
                child.proc.kill()
                child.proc.wait()
        if self.redis is not None:
            self.say(f"stopping redis-server (pid {self.redis.proc.pid})")
            self.redis.stop()


def die_with_parent() -> None:
    """In a child before exec: ask Linux to SIGTERM it when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def find_data(settings: StackSettings, say: Callable[[str], None]) -> Path:
    """The MovieLens directory to train on; downloads ml-latest-small when allowed and needed."""
    if settings.data_dir is not None:
        if not settings.data_dir.is_dir():
            raise ReelgraphError(f"--data {settings.data_dir}: no such directory")
        return settings.data_dir
    candidates = [settings.cache_dir / DATASET]
    if settings.data_root is not None:
        candidates.insert(0, settings.data_root / DATASET)
    for candidate in candidates:
        if (candidate / "ratings.csv").is_file():
            return candidate
    where = " or ".join(str(c) for c in candidates)
    if not settings.download:
        raise ReelgraphError(f"no MovieLens data in {where}: set REELGRAPH_DATA_DIR or pass --data DIR")
    from reelgraph.data.download import fetch_dataset

    say(f"no MovieLens data in {where}: downloading {DATASET} from GroupLens (checksum-verified)")
    return fetch_dataset(DATASET, settings.cache_dir)


def run_stack(settings: StackSettings, say: Callable[[str], None] = print) -> int:
    """Run until SIGINT/SIGTERM or a child dies; returns the exit status (0 = clean stop)."""
    reelgraph = [sys.executable, "-m", "reelgraph"]
    if not bundle_names(settings.bundles_dir):
        data = find_data(settings, say)
        say(f"no bundle in {settings.bundles_dir}: training one on {data} (progress below)")
        train = [*reelgraph, "train", "--data", str(data), "--out", str(settings.bundles_dir), *settings.train_args]
        if subprocess.run(train, check=False).returncode != 0:
            raise ReelgraphError("training failed (see above)")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Stack(say)
    try:
        with tempfile.TemporaryDirectory(prefix="reelgraph-redis-") as redis_dir:
            stack.redis = start_redis(Path(redis_dir), preexec_fn=die_with_parent)
            port = _start_children(stack, settings, reelgraph)
            say(_banner(settings, port, stack))
            return supervise(stack, stop)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("reelgraph stack stopped")


def _start_children(stack: Stack, settings: StackSettings, reelgraph: list[str]) -> int:
    assert stack.redis is not None
    port = settings.port or free_port(settings.host)
    serve = [*reelgraph, "serve", "--bundles", str(settings.bundles_dir), "--host", settings.host]
    serve += ["--port", str(port), "--redis", stack.redis.url]
    metrics = settings.metrics_port
    if metrics is not None:
        serve += ["--metrics-port", str(metrics)]
    server = stack.spawn("server", serve)
    _wait_serving(f"{settings.host}:{port}", server)
    for i in range(settings.workers):
        work = [*reelgraph, "work", "--redis", stack.redis.url, "--bundles", str(settings.bundles_dir)]
        work += ["--name", f"stack-worker-{i + 1}"]
        if metrics is not None:
            work += ["--metrics-port", str(metrics + 1 + i if metrics else 0)]
        stack.spawn(f"worker {i + 1}", work)
    return port


def _wait_serving(target: str, server: Child, timeout_s: float = 120.0) -> None:
    """Block until the server's health check says SERVING."""
    from reelgraph.probes import grpc_serving

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ReelgraphError(f"the server exited with status {server.proc.returncode} (see above)")
        if grpc_serving(target, timeout_s=1.0):
            return
        time.sleep(0.2)
    raise ReelgraphError(f"the server at {target} was not SERVING after {timeout_s:.0f} s")


def supervise(stack: Stack, stop: threading.Event) -> int:
    """Wait for ``stop``; 0 then, or 1 as soon as a child exits on its own."""
    while not stop.wait(0.5):
        child = stack.exited()
        if child is not None:
            stack.say(f"{child.name} exited unexpectedly with status {child.proc.returncode}: stopping the stack")
            return 1
    stack.say("stopping (signal received)")
    return 0


def _banner(settings: StackSettings, port: int, stack: Stack) -> str:
    target = f"{settings.host}:{port}"
    assert stack.redis is not None
    lines = [
        "",
        "reelgraph stack ready",
        f"  gRPC server   {target}   (pid {stack.children[0].proc.pid})",
        f"  redis         {stack.redis.url}   (pid {stack.redis.proc.pid})",
        *(f"  {c.name:<13} pid {c.proc.pid}" for c in stack.children[1:]),
    ]
    if settings.metrics_port:
        lines.append(f"  metrics       http://{settings.host}:{settings.metrics_port}/metrics (workers: next ports)")
    lines += [
        "try:",
        f"  reelgraph demo --server {target}",
        f"  reelgraph recommend --server {target} --user 1 -k 10",
        f"  reelgraph explain --server {target} --user 1 --movie 318 --out explain-out",
        f"  grpcurl -plaintext {target} list",
        "Ctrl-C stops everything.",
    ]
    return os.linesep.join(lines)
