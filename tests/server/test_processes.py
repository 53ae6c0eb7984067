"""``reelgraph serve --processes 2``: two real server processes listening on one port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reelgraph.client import Client
from reelgraph.supervision import free_port
from tests.processes import alive, wait_gone


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A = LISTEN
                inodes.add(fields[9])
    return inodes


def _holds(pid: int, inodes: set[str]) -> bool:
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if m := re.fullmatch(r"socket:\[(\d+)\]", target):
            held.add(m.group(1))
    return bool(held & inodes)


def test_two_processes_share_the_port_and_stop_with_the_parent(bundles: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        parent = subprocess.Popen(
            [sys.executable, "-m", "reelgraph", "serve", "--bundles", str(bundles), "--port", str(port),
             "--processes", "2", "--metrics-port", "0"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(_listening_inodes(port)) < 2:
            assert parent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pids = [int(p) for p in re.findall(r"server \d: pid (\d+)", log.read_text())]
        assert len(pids) == 2
        inodes = _listening_inodes(port)
        assert all(_holds(pid, inodes) for pid in pids)  # each child has its own listening socket
        for _ in range(4):  # new connections, spread by the kernel; every one is answered
            with Client(f"127.0.0.1:{port}", retries=3) as c:
                assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0, log.read_text()
        assert wait_gone(pids, timeout_s=10) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
    assert all(not alive(p) for p in pids)
