"""``reelgraph score`` / ``recommend`` end to end against a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from reelgraph.metrics_http import serve_metrics
from reelgraph.redis_process import free_port
from tests.server.conftest import ServerThread
from worker.metrics import WorkerMetrics


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reelgraph", *args], capture_output=True, text=True, timeout=120)


def test_score_streams_a_file(server: ServerThread, tmp_path: Path) -> None:
    src = tmp_path / "pairs.csv"
    rows = [(u, m) for u in range(1, 25) for m in (10, 13, 16, 11)]  # movie 11 is unknown
    pd.DataFrame(rows, columns=["userId", "movieId"]).to_csv(src, index=False)
    dst = tmp_path / "scores.csv"
    proc = _cli(
        "score",
        "--in",
        str(src),
        "--out",
        str(dst),
        "--server",
        server.target,
        "--kind",
        "link",
        "--kind",
        "rating",
        "--chunk",
        "7",
    )
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(dst)
    assert list(out.columns) == ["user_id", "movie_id", "link_probability", "rating", "status"]
    assert out[["user_id", "movie_id"]].to_numpy().tolist() == [list(r) for r in rows]  # order kept across chunks
    assert (out["status"] == (out["movie_id"] == 11) * 2).all()
    assert out.loc[out.status == 0, "link_probability"].between(0, 1).all()
    assert f"wrote {len(rows)} rows" in proc.stdout
    assert "24 not scored" in proc.stdout


def test_score_bad_input_is_one_line(server: ServerThread, tmp_path: Path) -> None:
    src = tmp_path / "pairs.csv"
    src.write_text("user_id,movie_id\n1,10\nx,10\n")
    proc = _cli("score", "--in", str(src), "--out", str(tmp_path / "o.csv"), "--server", server.target)
    assert proc.returncode == 2
    assert "pairs.csv:3: column 'user_id' is not an integer id" in proc.stderr
    assert not (tmp_path / "o.csv").exists()
    assert not (tmp_path / "o.csv.tmp").exists()


def test_recommend_prints_titles(server: ServerThread) -> None:
    proc = _cli("recommend", "--user", "1", "--user", "777", "-k", "3", "--server", server.target)
    assert proc.returncode == 0, proc.stderr
    assert "user 1" in proc.stdout
    assert "Movie " in proc.stdout
    assert "unknown user" in proc.stdout


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    proc = _cli("recommend", "--user", "1", "--server", "127.0.0.1:1")
    assert proc.returncode == 2
    assert "UNAVAILABLE" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_health_probe_exit_codes(server: ServerThread) -> None:
    ok = _cli("health", "--server", server.target)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    down = _cli("health", "--server", f"127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "not serving" in down.stdout
    assert _cli("health").returncode == 2  # neither --server nor --metrics


def test_health_probe_reads_a_worker_heartbeat() -> None:
    metrics = WorkerMetrics()
    http, port = serve_metrics(metrics.registry, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert _cli("health", "--metrics", url).returncode == 1  # never beat
        metrics.heartbeat.set(time.time() - 300)
        stale = _cli("health", "--metrics", url, "--max-age", "60")
        assert stale.returncode == 1
        assert "limit 60 s" in stale.stdout
        metrics.heartbeat.set_to_current_time()
        assert _cli("health", "--metrics", url, "--max-age", "60").returncode == 0
    finally:
        http.shutdown()
        http.server_close()
