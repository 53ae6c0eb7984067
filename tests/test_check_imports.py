"""``scripts/check_imports.py``: imports point one way (the library never imports the apps)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_imports.py"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_repository_passes() -> None:
    proc = _check()
    assert proc.returncode == 0, proc.stderr


def test_a_library_module_importing_an_app_fails_naming_file_and_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "reelgraph/__init__.py": "",
            "reelgraph/fine.py": "import numpy\nfrom reelgraph.errors import ReelgraphError\n",
            "reelgraph/cli/__init__.py": "from server.app import serve_forever\nimport trainer.pipeline\n",
            "reelgraph/bad.py": "import os\n\n\ndef f() -> None:\n    from server.settings import ServerSettings\n",
            "reelgraph/sub/worse.py": "import worker.runner\n",
            "reelgraph/sub/relative.py": "from ...trainer import pipeline\n",
        },
    )
    proc = _check(str(root))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert any(line.startswith("reelgraph/bad.py:5: imports server.settings:") for line in lines), proc.stderr
    assert any(line.startswith("reelgraph/sub/worse.py:1: imports worker.runner:") for line in lines), proc.stderr
    assert any(line.startswith("reelgraph/sub/relative.py:1: imports trainer") for line in lines), proc.stderr
    assert "must not import trainer, server or worker" in proc.stderr
    assert "reelgraph/cli/" not in "\n".join(line.split(":")[0] for line in lines)  # the CLI may import the apps
    assert "reelgraph/fine.py" not in proc.stderr


def test_an_app_importing_the_command_line_fails(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "reelgraph/__main__.py": "from reelgraph.cli import main\n",  # the entry point may
            "reelgraph/lib.py": "from reelgraph import cli\n",
            "server/__main__.py": "from reelgraph.cli import main\n",
            "worker/runner.py": "def f() -> None:\n    import reelgraph.cli.stack\n",
        },
    )
    proc = _check(str(root))
    assert proc.returncode == 1
    assert "server/__main__.py:1: imports reelgraph.cli:" in proc.stderr
    assert "worker/runner.py:2: imports reelgraph.cli.stack:" in proc.stderr
    assert "reelgraph/lib.py:1: imports reelgraph.cli:" in proc.stderr
    assert "reelgraph/__main__.py" not in proc.stderr
    assert "must not import the command line" in proc.stderr


def test_the_client_distribution_importing_torch_or_reelgraph_fails(tmp_path: Path) -> None:
    client = "clients/python/src/reelgraph_client"
    root = _tree(
        tmp_path,
        {
            f"{client}/__init__.py": "from reelgraph_client.client import Client\n",
            f"{client}/client.py": "import json\nimport grpc\nimport numpy as np\nfrom google.protobuf import message\n"
            "from . import tensors\n",
            f"{client}/tensors.py": "import numpy\n",
            f"{client}/heavy.py": "import torch\n",
            f"{client}/leaky.py": "def f() -> None:\n    from reelgraph.errors import ReelgraphError\n",
        },
    )
    proc = _check(str(root))
    assert proc.returncode == 1
    lines = sorted(line.split(": imports")[0] for line in proc.stderr.splitlines() if ": imports" in line)
    assert lines == [f"{client}/heavy.py:1", f"{client}/leaky.py:2"], proc.stderr
    assert "imports only the standard library, grpc, protobuf and numpy" in proc.stderr
