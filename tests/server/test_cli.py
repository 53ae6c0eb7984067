"""``reelgraph score`` / ``recommend`` end to end against a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from reelgraph.metrics_http import serve_metrics
from reelgraph.supervision import free_port
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


def test_recommend_for_a_ratings_file(server: ServerThread, tmp_path: Path) -> None:
    mine = tmp_path / "my_ratings.csv"
    mine.write_text("movie_id,stars,timestamp\n10,5,964982703\n13,4.5,964982931\n16,1,964983000\n")
    proc = _cli("recommend", "--ratings", str(mine), "-k", "27", "--server", server.target)
    assert proc.returncode == 0, proc.stderr
    assert "your ratings" in proc.stdout
    listed = {int(line.split("│")[2]) for line in proc.stdout.splitlines() if line.count("│") == 5}
    assert len(listed) == 27  # every movie but the three given
    assert not listed & {10, 13, 16}
    empty = tmp_path / "empty.csv"
    empty.write_text("movie_id,stars\n")
    assert _cli("recommend", "--ratings", str(empty), "--server", server.target).returncode == 0  # popularity


def test_bad_ratings_file_is_one_line(server: ServerThread, tmp_path: Path) -> None:
    cases = [
        ("movie_id,stars\n10,4\nabc,4\n", "my_ratings.csv:3: column 'movie_id' is not an integer id: 'abc'"),
        ("movie_id,stars\n10,4\n13,5.5\n", "my_ratings.csv:3: stars must be 0.5-5.0, got '5.5'"),
        ("movie_id,stars\n10,\n", "my_ratings.csv:2: column 'stars' is not a number: ''"),
        ("movie,score\n10,4\n", "my_ratings.csv:1: expected columns movie_id,stars[,timestamp]"),
        ("movie_id,stars\n10,4\n11,4\n", "INVALID_ARGUMENT: history.movie_ids: unknown movie ids 11"),
    ]
    mine = tmp_path / "my_ratings.csv"
    for text, message in cases:
        mine.write_text(text)
        proc = _cli("recommend", "--ratings", str(mine), "--server", server.target)
        assert proc.returncode == 2, text
        assert message in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert _cli("recommend", "--ratings", str(tmp_path / "missing.csv")).returncode == 2
    both = _cli("recommend", "--user", "1", "--ratings", str(mine), "--server", server.target)
    assert both.returncode == 2
    assert "not both" in both.stderr


def test_score_movies_for_a_ratings_file(server: ServerThread, tmp_path: Path) -> None:
    mine = tmp_path / "my_ratings.csv"
    mine.write_text("movieId,rating\n10,5\n13,4.5\n")
    src = tmp_path / "candidates.csv"
    src.write_text("movie_id,title\n19,a\n11,b\n22,c\n25,d\n28,e\n")
    dst = tmp_path / "scores.csv"
    args = ("--ratings", str(mine), "--in", str(src), "--out", str(dst), "--kind", "link", "--kind", "rating")
    proc = _cli("score", *args, "--chunk", "2", "--server", server.target)
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(dst)
    assert list(out.columns) == ["movie_id", "link_probability", "rating", "status"]
    assert out["movie_id"].tolist() == [19, 11, 22, 25, 28]
    assert out["status"].tolist() == [0, 2, 0, 0, 0]
    assert out.loc[out.status == 0, "link_probability"].between(0, 1).all()
    assert out.loc[out.status == 0, "rating"].between(0.5, 5).all()
    assert "wrote 5 rows" in proc.stdout
    assert "1 not scored" in proc.stdout


def test_serve_names_its_threads_scoring_threads_and_keeps_workers_as_a_hidden_alias() -> None:
    help_text = _cli("serve", "--help").stdout
    assert "--scoring-threads" in help_text
    assert "--workers" not in help_text  # `stack --workers` means worker processes; here it meant threads
    for flag in ("--scoring-threads", "--workers"):
        bad = _cli("serve", flag, "0")
        assert bad.returncode == 2
        assert f"'{flag}'" in bad.stderr
