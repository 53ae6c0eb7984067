"""Every Python snippet in the README runs as written, against a real bundle and a real server.

The bundle is the tests' tiny one (``tiny_bundle``: its movie ids 10, 13, …, 97
are ids ml-latest-small has too), placed where the snippets look for it
(``bundles/ml-latest-small`` under the working directory). The snippets run in
README order in one namespace, so a later one may use an earlier one's names.
The one change made to them: the client's ``127.0.0.1:50051`` becomes the test
server's port. Shell snippets are not run; each must say why in a
``<!-- not run by tests: … -->`` comment on the line before it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.server.conftest import ServerThread, settings_for

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
NOT_RUN = re.compile(r"<!-- not run by tests: \S.* -->")


def _blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) == language]


def test_the_readme_has_python_snippets_to_run() -> None:
    assert len(_blocks("python")) >= 3


def test_every_python_snippet_runs_as_written(
    tiny_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(tiny_bundle, tmp_path / "bundles" / "ml-latest-small")
    monkeypatch.chdir(tmp_path)
    server = ServerThread(settings_for(tmp_path / "bundles"))
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for line, code in _blocks("python"):
            code = code.replace('"127.0.0.1:50051"', f'"{server.target}"')
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
    finally:
        server.stop()


def test_every_shell_snippet_says_why_it_is_not_run() -> None:
    lines = README.read_text().splitlines()
    unmarked = [
        f"README.md:{line}"
        for line, _ in _blocks("sh")
        if not NOT_RUN.fullmatch(next((s for s in reversed(lines[: line - 1]) if s.strip()), ""))
    ]
    assert unmarked == []
