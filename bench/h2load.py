"""Closed-loop gRPC load from h2load (nghttp2's C HTTP/2 load generator).

A unary gRPC call is an HTTP/2 POST whose body is one length-prefixed message,
so h2load can replay a serialised ``ScorePairsRequest`` at a fraction of the
CPU of a Python or Node gRPC client (~40 µs per request here). That matters
on a 2-core machine, where the client takes cores from the server it measures.

h2load only sees the HTTP status (always 200 for gRPC); the gRPC status is in
the trailers. Callers therefore check the server's own per-code RPC counters
(``reelgraph_rpc_requests_total``) before and after a run.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INSTALL_HINT = "h2load not found: apt-get install nghttp2-client (Debian/Ubuntu) or brew install nghttp2"


def available() -> bool:
    """Whether ``h2load`` is on PATH."""
    return shutil.which("h2load") is not None


@dataclass(frozen=True)
class LoadResult:
    """One closed-loop run: latency percentiles (ms), completed requests/s, and CPU per request (µs)."""

    p50_ms: float
    p99_ms: float
    rps: float
    requests: int
    server_cpu_us: float
    client_cpu_us: float


def grpc_frame(message: bytes) -> bytes:
    """The HTTP/2 body of a unary gRPC call: uncompressed flag, big-endian length, message."""
    return b"\0" + struct.pack(">I", len(message)) + message


def run(
    target: str, path: str, message: bytes, *, clients: int, requests: int, server_pids: list[int], warmup: int = 2000
) -> LoadResult:
    """``requests`` calls of ``path`` with ``message`` from ``clients`` connections, one call in flight on each."""
    with tempfile.TemporaryDirectory() as tmp:
        body, log = Path(tmp) / "body", Path(tmp) / "log"
        body.write_bytes(grpc_frame(message))
        args = ["h2load", "-c", str(clients), "-m", "1", "-d", str(body)]
        args += ["-H", "content-type: application/grpc", "-H", "te: trailers", f"http://{target}{path}"]
        _h2load([*args, "-n", str(warmup)])
        cpu0, child0 = _cpu_s(server_pids), _children_cpu_s()
        out = _h2load([*args, "-n", str(requests), "--log-file", str(log)])
        cpu1, child1 = _cpu_s(server_pids), _children_cpu_s()
        rows = [line.split("\t") for line in log.read_text().splitlines()]
    if len(rows) != requests or any(status != "200" for _, status, _ in rows):
        raise RuntimeError(f"h2load: {len(rows)} of {requests} requests logged, not all HTTP 200:\n{out}")
    latency_ms = np.array([int(us) for _, _, us in rows]) / 1000.0
    match = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    if match is None:
        raise RuntimeError(f"h2load printed no rate:\n{out}")
    return LoadResult(
        p50_ms=float(np.percentile(latency_ms, 50)),
        p99_ms=float(np.percentile(latency_ms, 99)),
        rps=float(match.group(1)),
        requests=requests,
        server_cpu_us=(cpu1 - cpu0) / requests * 1e6,
        client_cpu_us=(child1 - child0) / requests * 1e6,
    )


def _h2load(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"h2load failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of every thread of ``pids`` (Linux /proc)."""
    ticks = 0
    for pid in pids:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def ok_count(metrics_urls: list[str], method: str) -> tuple[int, int]:
    """(OK, non-OK) finished calls of ``method`` summed over the servers' /metrics pages."""
    ok = bad = 0
    pattern = re.compile(r'^reelgraph_rpc_requests_total\{code="(\w+)",method="(\w+)"\} ([\d.e+]+)$', re.M)
    for url in metrics_urls:
        with urllib.request.urlopen(url, timeout=10) as page:
            text = page.read().decode()
        for code, name, value in pattern.findall(text):
            if name == method:
                ok, bad = (ok + int(float(value)), bad) if code == "OK" else (ok, bad + int(float(value)))
    return ok, bad
