"""``reelgraph score`` / ``recommend`` end to end against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.server.conftest import ServerThread


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
