"""Virtualenvs built once per machine for tests that need packages this project cannot import.

tritonclient needs protobuf < 7, and the client distribution must be shown to work without
torch and under both protobuf 6 and 7: each lives in its own virtualenv under
``~/.cache/reelgraph/`` (``$XDG_CACHE_HOME`` if set), built from pip wheels on first use and
reused afterwards. Tests skip, saying why, only when a virtualenv cannot be built (no index
reachable).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def cache_dir() -> Path:
    """Where the virtualenvs live."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "reelgraph"


def cached_venv(name: str, requirements: list[str], check: str) -> Path:
    """The Python of a virtualenv holding ``requirements`` (wheels only), built on first use.

    ``check`` is Python source run in the new environment to prove it works. The directory
    name carries a hash of both, so changing either builds a new one. Skips the calling
    test when the environment cannot be built.
    """
    key = hashlib.sha256("\n".join([*requirements, check]).encode()).hexdigest()[:10]
    venv = cache_dir() / f"{name}-{key}-venv"
    python, done = venv / "bin" / "python", venv / ".complete"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per machine, even with concurrent test runs
        if done.is_file():
            return python
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
             *requirements],
            [str(python), "-c", check],
        ]  # fmt: skip
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
            if proc.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                pytest.skip(f"cannot build the {name} virtualenv ({' '.join(step[2:5])}): {proc.stderr[-500:]}")
        done.touch()
    return python
