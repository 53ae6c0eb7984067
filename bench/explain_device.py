"""Batched IG on a CUDA device vs the CPU, in one process on the same pairs.

Run on a machine with a GPU: ``python -m bench.explain_device [--bundles B] [--pairs 20]``.
Prints p50/p95 per explanation (IntegratedGradients, 50 steps) on the device and on
the CPU, and the max |Δ| of the device's attributions against the CPU's and against
the seed-style CaptumExplainer run on the full graph.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bench.common import max_delta, ms, sample_pairs, small_link_bundle
from reelgraph.bundle import load_bundle
from reelgraph.bundle.loader import bundle_names
from reelgraph.graphs.hetero import RATES, REV_RATES
from worker.explainer import Attribution, PairExplainer
from worker.subgraph import whole_graph


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t, out


def _delta(a: Attribution, b: Attribution) -> float:
    parts = [(a.user_attr - b.user_attr).abs().max(), (a.movie_attr - b.movie_attr).abs().max()]
    parts += [(a.edge_attr[et] - b.edge_attr[et]).abs().max() for et in (RATES, REV_RATES)]
    return float(torch.stack(parts).max())


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles")
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark needs a GPU")
    with tempfile.TemporaryDirectory() as tmp:
        bundles = small_link_bundle(args.bundles, Path(tmp))
        name = bundle_names(bundles)[0]
        bundle = load_bundle(bundles / name)
    cpu, gpu = PairExplainer(bundle, "cpu"), PairExplainer(bundle, "cuda")
    pairs = sample_pairs(cpu, args.pairs)
    gpu.attribute(*pairs[0])
    cpu.attribute(*pairs[0])
    g_times, c_times, deltas = [], [], []
    for u, m in pairs:
        tg, a = _timed(lambda u=u, m=m: gpu.attribute(u, m))
        tc, b = _timed(lambda u=u, m=m: cpu.attribute(u, m))
        g_times.append(tg)
        c_times.append(tc)
        deltas.append(_delta(a, b))
    cfg = cpu.model.cfg
    seed = [
        max_delta(
            gpu.attribute(u, m),
            cpu.attribute_on(whole_graph(cpu.adjacency, u, m, cfg.num_users, cfg.num_movies), batched=False),
        )
        for u, m in pairs[:2]
    ]
    print(f"device: {torch.cuda.get_device_name(0)}; CPU threads: {torch.get_num_threads()}")
    print("| measurement | p50 | p95 |")
    print("|---|---:|---:|")
    print(f"| batched IG on CUDA ({len(pairs)} pairs) | {ms(g_times, 50)} | {ms(g_times, 95)} |")
    print(f"| batched IG on the CPU, same pairs | {ms(c_times, 50)} | {ms(c_times, 95)} |")
    print(f"| max abs difference CUDA vs CPU | {max(deltas):.2e} | |")
    print(f"| max abs difference CUDA vs seed-style CaptumExplainer, full graph, CPU (2 pairs) | {max(seed):.2e} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
