"""Explanation latency: the worker's batched IG on the computation subgraph vs the seed's
full-graph CaptumExplainer, in one run on the same pairs.

Run: ``python -m bench.explain [--pairs 20] [--seed-pairs 5]``. Trains a small link
bundle on ``$REELGRAPH_DATA_DIR/ml-latest-small`` unless ``--bundles`` is given.
Prints p50/p95 per explanation in process (IntegratedGradients, 50 steps) for the
worker's path (batched IG on the exact computation subgraph), CaptumExplainer step
by step on the same subgraph, and the seed-style full-graph run; the max |Δ|
between attributions; and the whole path (gRPC Submit → DONE through Redis and
worker processes): latency one job at a time, and jobs/s with 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import redis
import torch

from bench.common import max_delta, ms, sample_pairs, small_link_bundle
from reelgraph.bundle import load_bundle
from reelgraph.bundle.loader import bundle_names
from reelgraph.cli.redis_process import start_redis
from reelgraph.client import Client
from reelgraph.jobs import keys
from reelgraph.jobs.queue import JobQueue
from worker.explainer import Attribution, PairExplainer
from worker.subgraph import computation_subgraph, whole_graph


def _timed(fn: Callable[[], Attribution]) -> tuple[float, Attribution]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--seed-pairs", type=int, default=5, help="pairs also run the seed's full-graph way")
    parser.add_argument("--no-whole-path", action="store_true", help="skip the server/Redis/worker figures")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        bundles = small_link_bundle(args.bundles, Path(tmp))
        name = bundle_names(bundles)[0]
        bundle = load_bundle(bundles / name)
        explainer = PairExplainer(bundle)
        cfg = explainer.model.cfg
        pairs = sample_pairs(explainer, args.pairs)
        explainer.attribute(*pairs[0])  # warm-up (imports, allocator)
        batched = [_timed(lambda p=p: explainer.attribute(*p))[0] for p in pairs]
        seeds = pairs[: args.seed_pairs]
        captum_sub, full, ratios, deltas = [], [], [], []
        for u, m in seeds:
            sub = computation_subgraph(explainer.adjacency, u, m)
            captum_sub.append(_timed(lambda s=sub: explainer.attribute_on(s, batched=False))[0])
            graph = whole_graph(explainer.adjacency, u, m, cfg.num_users, cfg.num_movies)
            t_full, seed_style = _timed(lambda g=graph: explainer.attribute_on(g, batched=False))
            t_fast, fast = _timed(lambda u=u, m=m: explainer.attribute(u, m))
            full.append(t_full)
            ratios.append(t_full / t_fast)
            deltas.append(max_delta(fast, seed_style))
        path = None if args.no_whole_path else _whole_path(bundles, bundle.manifest.name, pairs)
    _print_table(batched, captum_sub, full, ratios, deltas, path, len(pairs))
    return 0


def _print_table(
    batched: list[float],
    captum_sub: list[float],
    full: list[float],
    ratios: list[float],
    deltas: list[float],
    path: dict[str, list[float] | float] | None,
    n: int,
) -> None:
    print("| measurement | p50 | p95 | note |")
    print("|---|---:|---:|---|")
    print(f"| in process, worker path: batched IG on the computation subgraph ({n} pairs) | {ms(batched, 50)} | "
          f"{ms(batched, 95)} | goal p50 <= 150 ms |")  # fmt: skip
    print(f"| in process, CaptumExplainer step by step on the computation subgraph ({len(captum_sub)} pairs) | "
          f"{ms(captum_sub, 50)} | {ms(captum_sub, 95)} | reference |")  # fmt: skip
    print(f"| in process, seed-style CaptumExplainer on the full graph ({len(full)} pairs) | {ms(full, 50)} | "
          f"{ms(full, 95)} | baseline |")  # fmt: skip
    print(f"| speed-up over the seed style, same pairs (min / median) | {min(ratios):.1f}x | | "
          f"median {np.median(ratios):.1f}x; goal >= 20x |")  # fmt: skip
    print(
        f"| max abs attribution difference vs seed style (users, movies, edges) | {max(deltas):.2e} | | goal <= 1e-5 |"
    )
    if path is None:
        return
    one = path["sequential"]
    assert isinstance(one, list)
    print(f"| whole path Submit -> DONE, one job at a time, 1 worker ({len(one)} jobs) | {ms(one, 50)} | "
          f"{ms(one, 95)} | gRPC + Redis + worker |")  # fmt: skip
    for workers in (1, 2):
        threads = max(1, (os.cpu_count() or 1) // workers)
        print(f"| whole path, {n} jobs submitted at once, {workers} worker(s), {threads} torch thread(s) each | | | "
              f"{path[f'jobs_per_s_{workers}']:.2f} jobs/s |")  # fmt: skip


def _whole_path(bundles: Path, name: str, pairs: list[tuple[int, int]]) -> dict[str, list[float] | float]:
    """Latency one job at a time, then throughput with 1 and 2 worker processes.

    Each worker gets cores / workers torch threads (``--threads``), as the README
    advises; timing starts once every worker heartbeats (bundles preloaded).
    """
    ids = load_bundle(bundles / name).graph
    mlens = [(int(ids.user_ids[u]), int(ids.movie_ids[m])) for u, m in pairs]
    cores = os.cpu_count() or 1
    out: dict[str, list[float] | float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc = start_redis(Path(tmp))
        queue = JobQueue(redis.Redis.from_url(redis_proc.url, decode_responses=True))
        cmd = [sys.executable, "-m", "reelgraph"]
        server = subprocess.Popen(
            [*cmd, "serve", "--bundles", str(bundles), "--port", "0", "--redis", redis_proc.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            target = next(m.group(1) for line in server.stdout if (m := re.search(r"serving on (\S+)", line)))
            with Client(target, timeout_s=600) as client:
                for count in (1, 2):
                    workers = [
                        _worker(cmd, redis_proc.url, bundles, f"{count}-{i}", max(1, cores // count))
                        for i in range(count)
                    ]
                    try:
                        _wait_alive(queue, count)
                        start = time.perf_counter()
                        _run_jobs(client, mlens, n_steps=50 + count)  # distinct requests: no dedup hits
                        out[f"jobs_per_s_{count}"] = len(mlens) / (time.perf_counter() - start)
                        if count == 1:
                            out["sequential"] = [_run_jobs(client, [p], n_steps=50)[0] for p in mlens]
                    finally:
                        _stop(workers)
                        queue.redis.delete(*queue.redis.keys(keys.HEARTBEAT_PATTERN))
        finally:
            _stop([server])
            redis_proc.stop()
    return out


def _worker(cmd: list[str], url: str, bundles: Path, name: str, threads: int) -> subprocess.Popen[bytes]:
    args = ["work", "--redis", url, "--bundles", str(bundles), "--name", f"bench-{name}", "--threads", str(threads)]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_alive(queue: JobQueue, count: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while queue.live_workers() < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not come up in {timeout_s} s")
        time.sleep(0.2)


def _stop(procs: list[subprocess.Popen[Any]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=120)


def _run_jobs(client: Client, pairs: list[tuple[int, int]], n_steps: int) -> list[float]:
    """Submit every pair, wait for all; Submit → DONE seconds per job."""
    submitted = {client.submit_explanation(u, m, n_steps=n_steps).job_id: time.perf_counter() for u, m in pairs}
    latencies = []
    for job, t0 in submitted.items():
        for event in client.watch_explanation(job):
            if event.kind in ("done", "failed", "cancelled"):
                if event.kind != "done":
                    raise RuntimeError(f"job {job} ended {event.kind}: {event.reason}")
                latencies.append(time.perf_counter() - t0)
    return latencies


if __name__ == "__main__":
    sys.exit(main())
