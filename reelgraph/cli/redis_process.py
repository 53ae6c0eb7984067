"""Start a private ``redis-server`` on a free local port (local stack and tests)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reelgraph.errors import ReelgraphError
from reelgraph.supervision import free_port

INSTALL_HINT = (
    "redis-server is not on PATH: install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; "
    "macOS: `brew install redis`). `reelgraph stack` always runs its own; to use a running Redis instead, "
    "start `reelgraph serve --redis URL` and `reelgraph work --redis URL` yourself"
)


@dataclass
class RedisProcess:
    """A running ``redis-server`` child and its URL."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s`` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_redis(
    workdir: Path,
    *,
    port: int = 0,
    appendonly: bool = False,
    timeout_s: float = 10.0,
    preexec_fn: Callable[[], None] | None = None,
) -> RedisProcess:
    """Start ``redis-server`` bound to 127.0.0.1 and wait until it answers PING.

    Args:
        workdir: its working directory (AOF files land here with ``appendonly``).
        port: TCP port; 0 picks a free one.
        appendonly: keep an append-only file (default off: nothing persisted).
        timeout_s: how long to wait for PING (default 10 s).
        preexec_fn: run in the child before exec (e.g. to die with its parent).

    Raises:
        ReelgraphError: ``redis-server`` missing, or it did not come up in time.
    """
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        raise ReelgraphError(INSTALL_HINT)
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)]
    args += ["--appendonly", "yes" if appendonly else "no"]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec_fn
    )
    running = RedisProcess(proc, f"redis://127.0.0.1:{port}/0", port)
    client = redis.Redis.from_url(running.url)
    deadline = time.monotonic() + timeout_s
    try:
        while not _answers(client):
            if proc.poll() is not None or time.monotonic() > deadline:
                running.stop()
                raise ReelgraphError(f"redis-server on port {port} did not start (exit status {proc.poll()})")
            time.sleep(0.05)
    finally:
        client.close()
    return running


def _answers(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.ConnectionError:
        return False
