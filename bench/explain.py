"""Explanation latency: exact computation subgraph vs the seed's full-graph CaptumExplainer.

Run: ``python -m bench.explain [--pairs 20] [--seed-pairs 5]``. Trains a small link
bundle on ``$REELGRAPH_DATA_DIR/ml-latest-small`` unless ``--bundles`` is given.
Prints p50/p95 per explanation in process (IntegratedGradients, 50 steps) for
both ways on the same pairs, the max |Δ| between their attributions, and the
whole path (gRPC Submit → DONE through Redis and worker processes).
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import small_link_bundle
from reelgraph.bundle import load_bundle
from reelgraph.client import Client
from worker.explainer import PairExplainer
from worker.subgraph import whole_graph


def _pairs(explainer: PairExplainer, n: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(0)
    edges = explainer.adjacency.edge_index
    picks = rng.choice(edges.shape[1], n, replace=False)  # fixed, existing ratings
    return [(int(edges[0, i]), int(edges[1, i])) for i in picks]


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seed-pairs", type=int, default=5, help="pairs also run the seed's full-graph way")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bundles = small_link_bundle(args.bundles, Path(tmp))
        name = sorted(p.name for p in bundles.iterdir() if (p / "LATEST").is_file())[0]
        bundle = load_bundle(bundles / name)
        explainer = PairExplainer(bundle)
        cfg = explainer.model.cfg
        pairs = _pairs(explainer, args.pairs)
        explainer.attribute(*pairs[0])  # warm-up
        sub_times = [_timed(lambda p=p: explainer.attribute(*p)) for p in pairs]
        full_times, deltas = [], []
        for u, m in pairs[: args.seed_pairs]:
            t = time.perf_counter()
            full = explainer.attribute_on(whole_graph(explainer.adjacency, u, m, cfg.num_users, cfg.num_movies))
            full_times.append(time.perf_counter() - t)
            sub = explainer.attribute(u, m)
            deltas.append(float((sub.user_attr - full.user_attr[sub.subgraph.users]).abs().max()))
            deltas.append(float((sub.movie_attr - full.movie_attr[sub.subgraph.movies]).abs().max()))
        path = _whole_path(bundles, bundle.manifest.name, explainer, pairs)
    sub_p50, full_p50 = np.percentile(sub_times, 50), np.percentile(full_times, 50)
    print("| measurement | p50 | p95 | note |")
    print("|---|---:|---:|---|")
    print(
        f"| in process, computation subgraph ({len(pairs)} pairs) | {sub_p50 * 1000:.0f} ms | "
        f"{np.percentile(sub_times, 95) * 1000:.0f} ms | goal p50 <= 150 ms |"
    )
    print(
        f"| in process, seed-style full graph ({len(full_times)} pairs) | {full_p50 * 1000:.0f} ms | "
        f"{np.percentile(full_times, 95) * 1000:.0f} ms | speed-up of subgraph at p50: {full_p50 / sub_p50:.1f}x "
        f"(goal >= 20x) |"
    )
    print(f"| max abs attribution difference subgraph vs full graph | {max(deltas):.2e} | | goal <= 1e-5 |")
    print(
        f"| whole path Submit -> DONE, 2 workers ({len(path['latencies'])} jobs) | "
        f"{np.percentile(path['latencies'], 50) * 1000:.0f} ms | {np.percentile(path['latencies'], 95) * 1000:.0f} ms "
        f"| {path['jobs_per_s']:.2f} jobs/s with 2 workers |"
    )
    return 0


def _whole_path(bundles: Path, name: str, explainer: PairExplainer, pairs: list[tuple[int, int]]) -> dict[str, object]:
    """Submit every pair at once through a real server, Redis and two worker processes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("redis-server") or sys.exit("redis-server is needed for the whole-path figure")
    redis_proc = subprocess.Popen(
        [exe, "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    cmd = [sys.executable, "-m", "reelgraph"]
    server = subprocess.Popen(
        [*cmd, "serve", "--bundles", str(bundles), "--port", "0", "--redis", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [*cmd, "work", "--redis", url, "--bundles", str(bundles), "--name", f"w{i}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    try:
        assert server.stdout is not None
        target = next(m.group(1) for line in server.stdout if (m := re.search(r"serving on (\S+)", line)))
        time.sleep(8)  # workers import torch and connect
        ids = load_bundle(bundles / name).graph
        with Client(target, timeout_s=600) as client:
            start = time.perf_counter()
            submitted = {}
            for u, m in pairs:
                job = client.submit_explanation(int(ids["user_ids"][u]), int(ids["movie_ids"][m])).job_id
                submitted[job] = time.perf_counter()
            latencies = []
            for job, t0 in submitted.items():
                for event in client.watch_explanation(job):
                    if event.kind in ("done", "failed", "cancelled"):
                        latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
        return {"latencies": latencies, "jobs_per_s": len(pairs) / elapsed}
    finally:
        for p in [*workers, server, redis_proc]:
            p.terminate()
            p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
