"""``scripts/settings_table.py``: the README's settings table is generated from the declaration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "settings_table.py"


def _table(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_readme_table_matches_the_declaration() -> None:
    proc = _table("--check")
    assert proc.returncode == 0, proc.stderr


def test_a_stale_table_fails_the_check_and_is_rewritten(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    readme.write_text(text.replace("| `REELGRAPH_PORT` | `50051` |", "| `REELGRAPH_PORT` | `50052` |"))
    proc = _table("--check", str(readme))
    assert proc.returncode == 1
    assert "settings table differs" in proc.stderr
    assert _table(str(readme)).returncode == 0
    assert readme.read_text() == text
    assert _table("--check", str(readme)).returncode == 0


def test_a_readme_without_markers_fails(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no table\n")
    proc = _table("--check", str(readme))
    assert proc.returncode == 1
    assert "lacks the markers" in proc.stderr
