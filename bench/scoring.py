"""Scoring service throughput and latency vs in-process scoring.

Run: ``python -m bench.scoring`` (``make bench``). Trains a small bundle on
``$REELGRAPH_DATA_DIR/ml-latest-small`` unless ``--bundles`` points at one,
starts ``reelgraph serve`` as a separate process on loopback, and prints every
figure next to the in-process ``Scorer`` baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from bench import h2load
from bench.common import small_link_bundle
from reelgraph.bundle.loader import bundle_names
from reelgraph.client import Client
from reelgraph.scoring import Scorer
from reelgraph_client.api.inference import open_inference_grpc_pb2 as oip
from reelgraph_client.api.inference import open_inference_grpc_pb2_grpc
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.api.v1 import scoring_pb2_grpc, tensor_pb2
from reelgraph_client.client import _request
from reelgraph_client.tensors import HTTP2_BULK_OPTIONS, id_column

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = ROOT / "bench" / "loadgen.mjs"
PROTOS = ROOT / "protos"


@dataclass
class Served:
    """A ``reelgraph serve`` under test: the process, its address, its servers' pids and /metrics URLs."""

    proc: subprocess.Popen[str]
    target: str
    pids: list[int]
    metrics_urls: list[str]

    def stop(self) -> None:
        """SIGTERM and wait (children stop with the parent)."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _start_server(
    bundles: Path, processes: int = 1, event_loop: str | None = "auto", metrics: bool = False, cwd: Path = ROOT
) -> Served:
    """``reelgraph serve`` (the code under ``cwd``) on a free port; returns once it serves."""
    args = ["serve", "--bundles", str(bundles), "--port", "0", "--max-pairs", "1000000", "--processes", str(processes)]
    args += (["--event-loop", event_loop] if event_loop else []) + (["--metrics-port", "0"] if metrics else [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelgraph", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=cwd,  # `python -m` imports the packages of the working directory first
    )
    # With several processes, the parent's line comes once every child serves.
    ready = re.compile(r"serving on (\S+)" + (r" \(\d+ processes\)" if processes > 1 else ""))
    pids = [proc.pid] if processes == 1 else []
    urls: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.search(r"server \d+: pid (\d+)", line):
            pids.append(int(m.group(1)))
        if m := re.search(r"metrics on (http://\S+)", line):
            urls.append(m.group(1))
        if m := ready.search(line):
            served = Served(proc, m.group(1), pids, urls)
            if metrics:  # a single server prints its metrics address just after "serving on"
                while len(urls) < processes and (line := proc.stdout.readline()):
                    if m := re.search(r"metrics on (http://\S+)", line):
                        urls.append(m.group(1))
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
            return served
    raise RuntimeError("server did not start")


def _rate(fn, n_pairs: int, seconds: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    """Pairs per second of ``fn`` (one call scores ``n_pairs``), best of repeated windows."""
    fn()
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            fn()
            calls += 1
        best = max(best, calls * n_pairs / (time.perf_counter() - start))
    return best


async def _latency(
    targets: list[str], users: np.ndarray, movies: np.ndarray, clients: int, per_client: int
) -> tuple[float, ...]:
    """p50, p99 (ms) and requests/s; clients spread round-robin over ``targets`` (an L4 balancer's view)."""
    # Each client its own connection (grpc shares one per target otherwise), like 16 client processes.
    own = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(targets[i % len(targets)], options=own) for i in range(clients)]
    stubs = [scoring_pb2_grpc.ScoringServiceStub(c) for c in channels]
    request = _request(users[:100], movies[:100], ("link",), "", "")
    latencies: list[float] = []

    async def run(stub: scoring_pb2_grpc.ScoringServiceStub) -> None:
        for _ in range(per_client):
            t = time.perf_counter()
            await stub.ScorePairs(request, timeout=10)
            latencies.append(time.perf_counter() - t)

    await asyncio.gather(*(run(s) for s in stubs[:clients]))  # warm-up
    latencies.clear()
    start = time.perf_counter()
    await asyncio.gather(*(run(s) for s in stubs))
    wall = time.perf_counter() - start
    for c in channels:
        await c.close()
    lat = np.array(latencies) * 1000
    return float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), len(lat) / wall


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", help="bundles root to serve (default: train a small one)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput figure")
    parser.add_argument(
        "--server-processes", type=int, default=1, help="`reelgraph serve --processes N` for the main figures"
    )
    parser.add_argument("--h2load-requests", type=int, default=30_000, help="requests per h2load run")
    parser.add_argument("--against", metavar="GIT_REF", help="also run the h2load test on this commit's server")
    parser.add_argument(
        "--infer-only", action="store_true", help="only ModelInfer (Open Inference Protocol) next to ScorePairs"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bundles = small_link_bundle(args.bundles, Path(tmp))
        name = bundle_names(bundles)[0]
        scorer = Scorer.load(bundles / name)
        rng = np.random.default_rng(0)
        users = rng.choice(scorer.users.ids, 100_000)
        movies = rng.choice(scorer.movies.ids, 100_000)
        served = _start_server(bundles, args.server_processes)
        print(f"server: reelgraph serve --processes {args.server_processes}", file=sys.stderr)
        if args.infer_only:
            try:
                rows = _infer_rows(scorer, served.target, users, movies, args.seconds)
            finally:
                served.stop()
            _print(rows)
            return 0
        try:
            rows = _measure(scorer, served.target, users, movies, args.seconds)
            rows += _infer_rows(scorer, served.target, users, movies, args.seconds)
            second = _start_server(bundles)  # scale-out: a second server process
            try:
                rows += _two_processes([served.target, second.target], users, movies, args.seconds)
            finally:
                second.stop()
        finally:
            served.stop()
        rows += _h2load_rows(bundles, scorer, users, movies, args.h2load_requests, args.against)
    _print(rows)
    return 0


def _print(rows: list[list[str]]) -> None:
    print("| measurement | value | in-process baseline | ratio | goal |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _interleaved(fns, n_pairs: int, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Pairs per second of each of ``fns``, best of windows taken in turn, so drifts in machine speed hit all alike."""
    for fn in fns:
        fn()
    best = [0.0] * len(fns)
    for _ in range(3):
        for i, fn in enumerate(fns):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / 3:
                fn()
                calls += 1
            best[i] = max(best[i], calls * n_pairs / (time.perf_counter() - start))
    return best


def _infer_rows(scorer: Scorer, target: str, users: np.ndarray, movies: np.ndarray, seconds: float) -> list[list[str]]:
    """ModelInfer (Open Inference Protocol, raw contents, INT32 ids) next to ScorePairs, 100k-pair requests."""
    n = 100_000
    u, m = users[:n], movies[:n]
    options = [*HTTP2_BULK_OPTIONS, ("grpc.max_receive_message_length", 64 << 20)]
    options.append(("grpc.max_send_message_length", 64 << 20))
    with Client(target, timeout_s=60) as client, grpc.insecure_channel(target, options=options) as channel:
        stub = open_inference_grpc_pb2_grpc.GRPCInferenceServiceStub(channel)
        model = f"{scorer.name}-link"

        def infer() -> np.ndarray:
            return _model_infer(stub, model, u, m)

        np.testing.assert_array_equal(infer(), client.score_pairs(u, m).link_probability)
        local, remote, oip_rate = _interleaved(
            [lambda: scorer.link_probability(u, m), lambda: client.score_pairs(u, m), infer], n, seconds
        )
    return [
        ["ScorePairs 100,000-pair requests, pairs/s (in turn with ModelInfer)", f"{remote / 1e6:.2f} M",
         f"{local / 1e6:.2f} M", f"{remote / local:.2f}", "report"],
        ["ModelInfer (Open Inference Protocol) 100,000-pair requests, pairs/s", f"{oip_rate / 1e6:.2f} M",
         f"{local / 1e6:.2f} M", f"{oip_rate / local:.2f}", "report"],
        ["ModelInfer / ScorePairs pairs/s, 100,000-pair requests", f"{oip_rate / remote:.2f}", "", "", ">= 0.9"],
    ]  # fmt: skip


def _model_infer(
    stub: open_inference_grpc_pb2_grpc.GRPCInferenceServiceStub, model: str, users: np.ndarray, movies: np.ndarray
) -> np.ndarray:
    """One ModelInfer call as an OIP client makes it: raw little-endian ids in, every output back (probability kept)."""
    columns = [id_column(users), id_column(movies)]
    inputs = [
        oip.ModelInferRequest.InferInputTensor(
            name=name, datatype="INT32" if c.dtype == np.int32 else "INT64", shape=[c.size]
        )
        for name, c in zip(("user_id", "movie_id"), columns, strict=True)
    ]
    request = oip.ModelInferRequest(
        model_name=model,
        inputs=inputs,
        raw_input_contents=[c.astype(c.dtype.newbyteorder("<")).tobytes() for c in columns],
    )
    response = stub.ModelInfer(request, timeout=60)  # every output: probability and status, as ScorePairs answers
    return np.frombuffer(response.raw_output_contents[0], dtype="<f4")


def _measure(scorer: Scorer, target: str, users: np.ndarray, movies: np.ndarray, seconds: float) -> list[list[str]]:
    rows = []
    with Client(target, timeout_s=60) as client:
        for n in (100_000, 10_000):
            local = _rate(lambda n=n: scorer.link_probability(users[:n], movies[:n]), n, seconds)
            remote = _rate(lambda n=n: client.score_pairs(users[:n], movies[:n]), n, seconds)
            goal = ">= 0.6" if n == 100_000 else "report"
            rows.append(
                [
                    f"ScorePairs {n:,}-pair requests, pairs/s",
                    f"{remote / 1e6:.2f} M",
                    f"{local / 1e6:.2f} M",
                    f"{remote / local:.2f}",
                    goal,
                ]
            )
        p50, p99, rps = asyncio.run(_latency([target], users, movies, clients=16, per_client=200))
        rows.append(
            [
                "100-pair requests, 16 concurrent clients: p50 / p99 latency",
                f"{p50:.2f} / {p99:.2f} ms",
                "",
                "",
                "p99 <= 5 ms",
            ]
        )
        rows.append(["100-pair requests, 16 concurrent clients: requests/s", f"{rps:,.0f}", "", "", "report"])
        rows += _node_rows([target], users, movies, "")
        all_users = scorer.users.ids.tolist()
        t = time.perf_counter()
        local_rec = scorer.recommend(np.asarray(all_users), 10)
        local_s = time.perf_counter() - t
        t = time.perf_counter()
        recs = list(client.recommend(all_users, 10))
        remote_s = time.perf_counter() - t
        assert len(recs) == len(all_users)
        assert recs[0].movie_ids == local_rec.movie_ids[0].tolist()
        rows.append(
            [
                f"Recommend top-10 for all {len(all_users)} users",
                f"{remote_s:.3f} s",
                f"{local_s:.3f} s",
                f"{remote_s / local_s:.1f}",
                "<= 1 s",
            ]
        )
    return rows


def _two_processes(targets: list[str], users: np.ndarray, movies: np.ndarray, seconds: float) -> list[list[str]]:
    """The same 16-client load, and 100k-pair throughput from one thread per process, over two servers."""
    p50, p99, rps = asyncio.run(_latency(targets, users, movies, clients=16, per_client=200))
    n = 100_000
    clients = [Client(t, timeout_s=60) for t in targets]
    try:
        with ThreadPoolExecutor(len(clients)) as pool:  # gRPC I/O releases the GIL
            rates = list(pool.map(lambda c: _rate(lambda: c.score_pairs(users[:n], movies[:n]), n, seconds), clients))
    finally:
        for c in clients:
            c.close()
    label = "2 server processes"
    return [
        *_node_rows(targets, users, movies, f"{label}, "),
        [f"{label}, 16 clients round-robin: p50 / p99 latency", f"{p50:.2f} / {p99:.2f} ms", "", "", "report"],
        [f"{label}, 16 clients round-robin: requests/s", f"{rps:,.0f}", "", "", "report"],
        [f"{label}, 100,000-pair requests, one client each: pairs/s", f"{sum(rates) / 1e6:.2f} M", "", "", "report"],
    ]


def _node_latency(targets: list[str], users: np.ndarray, movies: np.ndarray, clients: int = 16) -> dict[str, float]:
    """The 16-client test driven by bench/loadgen.mjs (Node), clients spread over ``targets``."""
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "pairs.json"
        pairs.write_text(json.dumps({"users": users[:100].tolist(), "movies": movies[:100].tolist()}))
        runs = []
        share = [clients // len(targets) + (i < clients % len(targets)) for i in range(len(targets))]
        procs = [
            subprocess.Popen(
                ["node", str(LOADGEN), t, str(PROTOS), str(pairs), str(n), "400"], stdout=subprocess.PIPE, text=True
            )
            for t, n in zip(targets, share, strict=True)
        ]
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"loadgen failed ({proc.returncode})")
            runs.append(json.loads(out.strip().splitlines()[-1]))
    if len(runs) == 1:
        return {k: float(v) for k, v in runs[0].items()}
    # Several generators (one per server): report the worst percentiles and the summed rate.
    return {
        "p50_ms": max(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "rps": sum(r["rps"] for r in runs),
    }


def _node_rows(targets: list[str], users: np.ndarray, movies: np.ndarray, label: str) -> list[list[str]]:
    if shutil.which("node") is None or not (ROOT / ".tools" / "loadgen" / "node_modules" / "@grpc").is_dir():
        print("note: Node load generator skipped (needs node and `make bench`'s .tools/loadgen)", file=sys.stderr)
        return []
    r = _node_latency(targets, users, movies)
    name = f"{label}100-pair requests, 16 concurrent clients, Node load generator"
    return [
        [f"{name}: p50 / p99 latency", f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms", "", "", "p99 <= 5 ms"],
        [f"{name}: requests/s", f"{r['rps']:,.0f}", "", "", "report"],
    ]


# (label, serve --processes, --event-loop): the loop A/B at one process, then one process per core.
H2LOAD_CONFIGS = (("1 process, asyncio", 1, "asyncio"), ("1 process, uvloop", 1, "uvloop"))
SCORE_PATH = "/reelgraph.v1.ScoringService/ScorePairs"


def _h2load_rows(
    bundles: Path, scorer: Scorer, users: np.ndarray, movies: np.ndarray, requests: int, against: str | None
) -> list[list[str]]:
    """The 16-client test from h2load: real server configurations, then the bare grpc.aio ceiling."""
    if not h2load.available():
        print(f"note: h2load rows skipped ({h2load.INSTALL_HINT})", file=sys.stderr)
        return []
    message = _int64_request(users[:100], movies[:100]).SerializeToString()
    cores = os.cpu_count() or 1
    configs = [*H2LOAD_CONFIGS, (f"{cores} processes (one per core), uvloop", cores, "uvloop")]
    rows = []
    if against:  # before/after in one run: the same load on another commit's server (its defaults)
        with _worktree(against) as tree:
            r = _h2load_server(_start_server(bundles, event_loop=None, metrics=True, cwd=tree), message, requests)
        rows.append(_h2load_row(f"reelgraph serve at {against}, 1 process", r, "report"))
    for label, processes, loop in configs:
        r = _h2load_server(_start_server(bundles, processes, loop, metrics=True), message, requests)
        rows.append(_h2load_row(f"reelgraph serve, {label}", r, "p99 <= 5 ms"))
    bare = _bare(scorer, users, movies, message, requests)
    rows.append(_h2load_row("reference: bare grpc.aio, canned reply, 1 process, uvloop", bare, "report"))
    return rows


def _h2load_server(served: Served, message: bytes, requests: int) -> h2load.LoadResult:
    """h2load against ``served`` (stopped afterwards); every call must be counted OK by the server."""
    try:
        before = h2load.ok_count(served.metrics_urls, "ScorePairs")
        r = h2load.run(served.target, SCORE_PATH, message, clients=16, requests=requests, server_pids=served.pids)
        after = h2load.ok_count(served.metrics_urls, "ScorePairs")
    finally:
        served.stop()
    calls = r.requests + 2000  # with the warm-up
    if after[0] - before[0] != calls or after[1] != before[1]:
        raise RuntimeError(f"the server counted {after[0] - before[0]} OK of {calls} h2load calls")
    return r


def _int64_request(users: np.ndarray, movies: np.ndarray) -> pb.ScorePairsRequest:
    """A link ScorePairsRequest with INT64 id columns, which servers of every version accept."""
    request = _request(users, movies, ("link",), "", "")
    for column, ids in ((request.user_ids, users), (request.movie_ids, movies)):
        column.dtype, column.raw = tensor_pb2.DATA_TYPE_INT64, np.asarray(ids, dtype="<i8").tobytes()
    return request


@contextlib.contextmanager
def _worktree(ref: str) -> Iterator[Path]:
    """A detached git worktree of ``ref`` in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        add = ["git", "worktree", "add", "--detach", str(tree), ref]
        subprocess.run(add, cwd=ROOT, check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def _bare(scorer: Scorer, users: np.ndarray, movies: np.ndarray, message: bytes, requests: int) -> h2load.LoadResult:
    from server.batch import score_batch
    from server.servicer import _response

    reply = _response(score_batch(scorer, users[:100], movies[:100], (), 100)).SerializeToString()
    with tempfile.NamedTemporaryFile() as f:
        f.write(reply)
        f.flush()
        proc = subprocess.Popen([sys.executable, "-m", "bench.bare_grpc", f.name], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            return h2load.run(
                f"127.0.0.1:{port}", SCORE_PATH, message, clients=16, requests=requests, server_pids=[proc.pid]
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _h2load_row(label: str, r: h2load.LoadResult, goal: str) -> list[str]:
    return [
        f"h2load 16 clients, 100-pair requests, {label}: p50 / p99; req/s; server / h2load CPU per request",
        f"{r.p50_ms:.2f} / {r.p99_ms:.2f} ms; {r.rps:,.0f}; {r.server_cpu_us:.0f} / {r.client_cpu_us:.0f} µs",
        "",
        "",
        goal,
    ]


if __name__ == "__main__":
    sys.exit(main())
