"""The ``reelgraph`` CLI end to end on tiny data (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reelgraph


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reelgraph", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
    )


def test_train_writes_a_loadable_bundle(tiny_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundles"
    proc = _run(
        "train",
        "--data",
        str(tiny_csv),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--quiet",
        "--model",
        "link",
        "--model",
        "rating",
    )
    assert proc.returncode == 0, proc.stderr
    assert "e1_test_auc" in proc.stdout
    assert "test_rmse" in proc.stdout
    assert "bundle written" in proc.stdout
    bundle = out / "tiny-csv"
    assert (bundle / "1" / "curve_link.png").read_bytes().startswith(b"\x89PNG")
    scorer = reelgraph.Scorer.load(bundle)
    assert set(scorer.bundle.manifest.models) == {"link", "rating"}
    assert scorer.link_probability(np.array([1]), np.array([10])).shape == (1,)


def test_python_m_trainer_is_train(tiny_100k: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "--data",
            str(tiny_100k),
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--quiet",
            "--model",
            "rating",
            "--ratings-file",
            "u1.base",
            "--test-ratings",
            "u1.test",
            "--name",
            "e2",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "rating test set u1.test" in proc.stderr + proc.stdout
    assert (tmp_path / "e2" / "LATEST").is_file()


def test_bad_data_is_one_clear_line(tiny_csv: Path, tmp_path: Path) -> None:
    path = tiny_csv / "ratings.csv"
    path.write_text(path.read_text() + "1,10,9,5\n")
    proc = _run("train", "--data", str(tiny_csv), "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "outside 0.5–5" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_option_values_are_named(tiny_csv: Path, tmp_path: Path) -> None:
    proc = _run("train", "--data", str(tiny_csv), "--out", str(tmp_path), "--model", "gat")
    assert proc.returncode == 2
    assert "invalid --model 'gat'" in proc.stderr
    proc = _run("train", "--data", str(tiny_csv), "--out", str(tmp_path), "--device", "tpu")
    assert proc.returncode == 2
    assert "invalid device 'tpu'" in proc.stderr


def test_reelgraph_device_is_honoured(tiny_csv: Path, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA: asking for it must fail before training")
    args = ("train", "--data", str(tiny_csv), "--out", str(tmp_path), "--quiet", "--model", "rating")
    proc = _run(*args, env={"REELGRAPH_DEVICE": "cuda"})  # the flag's default no longer overrides it
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "device 'cuda' was requested but no CUDA device is available" in proc.stderr
    # --device beating it: tests/reelgraph/test_settings.py (training here would take 20 s)


def test_no_data_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REELGRAPH_DATA_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "reelgraph", "train", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2
    assert "pass --data DIR" in proc.stderr


def test_report_writes_seed_004_analysis(tiny_csv: Path, tmp_path: Path) -> None:
    proc = _run("report", "--data", str(tiny_csv), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    stats = (tmp_path / "r" / "graph_stats.md").read_text()
    assert "| users | 24 |" in stats
    assert "average degree" in stats
    for png in ("genre_distribution.png", "genre_link_correlation.png"):
        assert (tmp_path / "r" / png).read_bytes().startswith(b"\x89PNG")


def test_if_missing_skips_when_a_bundle_exists(bundles: Path, tiny_csv: Path) -> None:
    before = sorted(p.name for p in (bundles / "tiny").iterdir())
    proc = _run("train", "--data", str(tiny_csv), "--out", str(bundles), "--if-missing", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "nothing to train" in proc.stdout
    assert sorted(p.name for p in (bundles / "tiny").iterdir()) == before
