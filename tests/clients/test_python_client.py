"""The client distribution (``clients/python``) installed alone, against a real server.

For each supported protobuf runtime (6.30, the floor; 6.33+; 7) a fresh virtualenv (``tests.venvs``) gets only the
client's dependencies, then ``pip install clients/python`` (a real, non-editable install of
this checkout, redone every run). In it: torch, torch_geometric, pandas and captum are not
importable, and the client's own tests (``clients/python/tests``) pass against a real
``reelgraph serve`` (bearer token, Redis and a worker for explanations). One protobuf 6
environment also holds the stock tritonclient, which requires protobuf < 7: the two install
side by side in one service.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import ServerThread, settings_for
from tests.venvs import cached_venv

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"
TOKEN = "client-s3cret"
HEAVY = ("torch", "torch_geometric", "pandas", "captum", "reelgraph")
# name -> (requirements beside the client's own, the protobuf major version it must load)
# (tritonclient 2.73's own stubs need protobuf >= 6.33.5, though its metadata says 6.30.)
RUNTIMES = {
    "protobuf6.30": (["protobuf==6.30.2"], "6"),  # the client's floor
    "protobuf6-beside-tritonclient": (["protobuf>=6.33.5,<7", "tritonclient[grpc]==2.73.0"], "6"),
    "protobuf7": (["protobuf>=7,<8"], "7"),
}
BASE = ["grpcio>=1.72.1", "numpy", "pytest>=8", "pytest-timeout>=2.3", "setuptools>=77"]


@pytest.fixture(scope="module")
def served(tiny_bundle: Path, redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (token required) with Redis and a worker process over the tiny bundle: its target."""
    bundles = tmp_path_factory.mktemp("client-dist") / "bundles"
    shutil.copytree(tiny_bundle, bundles / "tiny")
    server = ServerThread(settings_for(bundles, redis_url=redis_server, auth_tokens=frozenset({TOKEN})))
    worker = subprocess.Popen(
        [sys.executable, "-m", "reelgraph", "work", "--redis", redis_server, "--bundles", str(bundles), "--name", "c"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield server.target
    finally:
        worker.kill()
        worker.wait(timeout=10)
        server.stop()


@functools.cache  # one install per runtime and test run: two tests use the tritonclient one
def _client_python(runtime: str) -> Path:
    """A virtualenv with the client's dependencies and a fresh install of this checkout's client."""
    extra, _ = RUNTIMES[runtime]
    python = cached_venv(f"client-{runtime}", [*BASE, *extra], "import grpc, google.protobuf, numpy")
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--no-build-isolation", "--force-reinstall", str(CLIENT)]  # fmt: skip
    proc = subprocess.run(install, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(CLIENT / "build", ignore_errors=True)  # setuptools' in-tree build directory
    return python


@pytest.mark.slow
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_the_client_installs_alone_and_passes_its_tests(runtime: str, served: str, tmp_path: Path) -> None:
    python = _client_python(runtime)
    probe = (
        "import importlib.util, json, google.protobuf, reelgraph_client;"
        f"print(json.dumps([google.protobuf.__version__, [m for m in {HEAVY!r} if importlib.util.find_spec(m)]]))"
    )
    # cwd outside the checkout and no PYTHONPATH, so nothing of it is importable by accident
    alone = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=alone, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    version, importable = json.loads(proc.stdout)
    assert importable == []
    assert version.split(".")[0] == RUNTIMES[runtime][1]
    env = {**alone, "REELGRAPH_TEST_TARGET": served, "REELGRAPH_TEST_TOKEN": TOKEN, "PYTHONDONTWRITEBYTECODE": "1"}
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(CLIENT / "pyproject.toml"),
         "--rootdir", str(CLIENT), str(CLIENT / "tests")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )  # fmt: skip
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary  # nothing skipped


@pytest.mark.slow
def test_tritonclient_and_the_client_load_in_one_process() -> None:
    python = _client_python("protobuf6-beside-tritonclient")
    proc = subprocess.run(
        [str(python), "-c", "import tritonclient.grpc, reelgraph_client; print(reelgraph_client.__version__)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0.1.0"
