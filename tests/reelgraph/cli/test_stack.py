"""``reelgraph stack`` and ``reelgraph demo`` as a newcomer runs them: real processes, real Redis."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelgraph.cli.data import find_data
from reelgraph.cli.stack import StackSettings
from reelgraph.errors import ReelgraphError
from tests.movielens_fixtures import make_tiny, write_csv_layout
from tests.processes import alive, wait_gone

READY = "reelgraph stack ready"


class StackProcess:
    """``python -m reelgraph stack`` with its output collected on a thread (children share the pipe)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelgraph", "stack", "--port", "0", "--metrics-port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while READY not in self.output:
            assert self.proc.poll() is None, f"stack exited {self.proc.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"stack not ready after {timeout_s} s:\n{self.output}"
            time.sleep(0.2)

    def target(self) -> str:
        match = re.search(r"gRPC server\s+(\S+)", self.output)
        assert match, self.output
        return match.group(1)

    def child_pids(self) -> list[int]:
        banner = re.findall(r"^  (?:gRPC server|redis|worker \d+)\s.*?pid (\d+)\)?$", self.output, flags=re.M)
        return [int(p) for p in banner]

    def finish(self, timeout_s: float = 60) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish(timeout_s=10)


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return write_csv_layout(tmp_path / "ml-tiny", make_tiny())


@pytest.fixture
def started(bundles: Path) -> Iterator[StackProcess]:
    """A stack over an existing bundle (nothing to train)."""
    stack = StackProcess("--bundles", str(bundles))
    yield stack
    stack.kill()
    wait_gone(stack.child_pids(), timeout_s=10)


def test_stack_trains_serves_demo_and_stops_cleanly_on_ctrl_c(tiny_data: Path, tmp_path: Path) -> None:
    bundles = tmp_path / "bundles"
    stack = StackProcess("--bundles", str(bundles), "--data", str(tiny_data), "--epochs", "2")
    try:
        stack.wait_ready()
        assert "no bundle in" in stack.output  # it trained one
        assert (bundles / "ml-tiny" / "LATEST").is_file()
        pids = stack.child_pids()
        assert len(pids) == 3  # server, redis, one worker
        out = tmp_path / "demo-out"
        demo = subprocess.run(
            [sys.executable, "-m", "reelgraph", "demo", "--server", stack.target(), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr + "\n--- stack output ---\n" + stack.output
        assert "101 pairs in one ScorePairs call" in demo.stdout
        assert "100 scored, 1 unknown movie" in demo.stdout
        assert "Recommended because" in demo.stdout  # the sentence
        assert "Because you rated" in demo.stdout  # titles and stars
        assert "Is it true?" in demo.stdout  # the logit check
        assert {p.name for p in out.iterdir()} == {"attributions.png", "subgraph.png"}
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in out.iterdir())
        stack.proc.send_signal(signal.SIGINT)
        assert stack.finish() == 0, stack.output
        assert "reelgraph stack stopped" in stack.output
        assert wait_gone(pids, timeout_s=5) == []
    finally:
        stack.kill()


def test_sigkilled_supervisor_leaves_no_orphans(started: StackProcess) -> None:
    started.wait_ready()
    pids = started.child_pids()
    assert all(alive(p) for p in pids)
    started.proc.kill()
    assert wait_gone(pids) == []


def test_a_dying_child_stops_the_stack_with_an_error(started: StackProcess) -> None:
    started.wait_ready()
    worker = int(re.findall(r"worker 1\s+pid (\d+)", started.output)[0])
    os.kill(worker, signal.SIGKILL)
    assert started.finish() == 1
    assert "worker 1 exited unexpectedly" in started.output
    assert wait_gone(started.child_pids(), timeout_s=5) == []


def test_missing_redis_server_says_how_to_install_it(bundles: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    stack = StackProcess("--bundles", str(bundles), env={"PATH": str(empty)})
    assert stack.finish() == 2
    assert "redis-server is not on PATH" in stack.output
    assert "apt-get install -y redis-server" in stack.output


def test_no_data_and_no_download_stops_with_a_clear_message(tmp_path: Path) -> None:
    settings = StackSettings(bundles_dir=tmp_path / "b", cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(ReelgraphError, match="set REELGRAPH_DATA_DIR or pass --data DIR"):
        find_data(settings, print)


def test_data_is_found_under_the_data_root_then_the_cache(tiny_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(tiny_data, root / "ml-latest-small")
    settings = StackSettings(data_root=root, cache_dir=tmp_path / "cache", download=False)
    assert find_data(settings, print) == root / "ml-latest-small"
    shutil.copytree(tiny_data, tmp_path / "cache" / "ml-latest-small")
    settings = StackSettings(cache_dir=tmp_path / "cache", download=False)
    assert find_data(settings, print) == tmp_path / "cache" / "ml-latest-small"
    with pytest.raises(ReelgraphError, match="no such directory"):
        find_data(StackSettings(data_dir=tmp_path / "nope"), print)
