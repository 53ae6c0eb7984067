"""Worker heartbeat probe for containers (``reelgraph health --metrics``); the gRPC health probe
is ``reelgraph.supervision.grpc_serving``."""

from __future__ import annotations

import time
import urllib.request

HEARTBEAT_METRIC = "reelgraph_worker_heartbeat_timestamp_seconds"


def heartbeat_age_s(metrics_url: str, timeout_s: float = 3.0) -> float:
    """Seconds since the worker behind ``metrics_url`` last heartbeat (inf when unreadable)."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout_s) as resp:
            text = resp.read().decode()
    except OSError:
        return float("inf")
    for line in text.splitlines():
        if line.startswith(HEARTBEAT_METRIC + " "):
            stamp = float(line.split()[1])
            return max(0.0, time.time() - stamp) if stamp > 0 else float("inf")
    return float("inf")
