"""The server runs on either event loop; a missing uvloop is one clear error."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from reelgraph.errors import InvalidOptionError
from reelgraph.options import EventLoop
from reelgraph_client.api.v1 import scoring_pb2_grpc
from reelgraph_client.client import _request
from server import eventloop
from server.app import start
from tests.server.conftest import settings_for


@pytest.mark.parametrize("loop", [EventLoop.ASYNCIO, EventLoop.UVLOOP])
def test_server_answers_on_each_event_loop(bundles: Path, loop: EventLoop) -> None:
    async def main() -> tuple[str, list[int]]:
        running = await start(settings_for(bundles))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = scoring_pb2_grpc.ScoringServiceStub(channel)
                reply = await stub.ScorePairs(_request(np.array([1, 999]), np.array([10, 10]), ("link",), "", ""))
            return type(asyncio.get_running_loop()).__module__, list(reply.status.raw)
        finally:
            await running.stop()

    module, status = eventloop.run(main(), loop)
    assert module.startswith("uvloop") == (loop is EventLoop.UVLOOP)
    assert status == [0, 1]


def test_auto_takes_uvloop_when_installed() -> None:
    assert importlib.util.find_spec("uvloop") is not None  # a project dependency on Linux
    assert eventloop.resolve(EventLoop.AUTO) is EventLoop.UVLOOP


def test_asking_for_a_missing_uvloop_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    assert eventloop.resolve(EventLoop.AUTO) is EventLoop.ASYNCIO
    with pytest.raises(InvalidOptionError, match="uvloop' is not installed"):
        eventloop.resolve(EventLoop.UVLOOP)


def test_serve_rejects_an_unknown_event_loop(bundles: Path) -> None:
    args = ["serve", "--bundles", str(bundles), "--port", "0", "--event-loop", "tokio"]
    proc = subprocess.run([sys.executable, "-m", "reelgraph", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "invalid --event-loop 'tokio': expected auto, asyncio or uvloop" in proc.stderr  # the settings' one line
