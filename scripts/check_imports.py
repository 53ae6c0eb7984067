"""Imports point one way: the shared library never imports the apps.

Rules (``make lint`` runs this; ``tests/test_check_imports.py`` runs it too):

- ``reelgraph/`` outside ``reelgraph/cli/`` never imports ``trainer``, ``server`` or
  ``worker``, nor ``reelgraph.cli`` (which imports them) — except ``reelgraph/__main__.py``,
  the ``python -m reelgraph`` entry point, which runs the command line.
- ``trainer/``, ``server/`` and ``worker/`` never import ``reelgraph.cli``.
- The client distribution (``clients/python/src/reelgraph_client``) imports only the standard
  library, grpc, protobuf, numpy and itself: services install it without torch.

Every ``import`` / ``from ... import`` counts, at module level or inside functions, relative
ones resolved. Usage: ``python scripts/check_imports.py [ROOT]`` (default: the repository
root); exit status 1 with one line per violation (file:line: the import and the rule).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

APPS = ("trainer", "server", "worker")
CLI = "reelgraph.cli"
ENTRY_POINTS = ("reelgraph/__main__.py",)
CLIENT_SRC = "clients/python/src"
CLIENT_ALLOWED = ("reelgraph_client", "grpc", "google.protobuf", "numpy")


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.module}: {self.rule}"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``, ``from X import y`` giving X.y too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule(relative: str, name: str) -> str | None:
    """Why importing ``name`` from the file at ``relative`` (posix, from the root) is forbidden, or None."""
    if relative.startswith("reelgraph/") and not relative.startswith("reelgraph/cli/"):
        if any(_within(name, app) for app in APPS):
            return "the library (reelgraph/ outside reelgraph/cli/) must not import trainer, server or worker"
        if _within(name, CLI) and relative not in ENTRY_POINTS:
            return "the library (reelgraph/ outside reelgraph/cli/) must not import the command line"
    if relative.split("/")[0] in APPS and _within(name, CLI):
        return "trainer, server and worker must not import the command line (reelgraph.cli)"
    if relative.startswith(CLIENT_SRC + "/"):
        top = name.split(".")[0]
        if top not in sys.stdlib_module_names and not any(_within(name, ok) for ok in CLIENT_ALLOWED):
            return "the client distribution imports only the standard library, grpc, protobuf and numpy"
    return None


def check_file(root: Path, path: Path) -> list[Violation]:
    """The forbidden imports of one file."""
    relative = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[tuple[int, str], Violation] = {}
    package_root = root / CLIENT_SRC if relative.startswith(CLIENT_SRC + "/") else root
    for line, name in _imported(tree, _module_name(package_root, path), path.name == "__init__.py"):
        rule = _rule(relative, name)
        if rule is not None:
            key = (line, rule)  # `from server import app` names server and server.app: report it once
            found.setdefault(key, Violation(path.relative_to(root), line, name, rule))
    return sorted(found.values(), key=lambda v: v.line)


def check(root: Path) -> list[Violation]:
    """Every violation under ``root`` (reelgraph/, trainer/, server/, worker/, the client distribution)."""
    violations: list[Violation] = []
    for top in ("reelgraph", *APPS, CLIENT_SRC):
        for path in sorted((root / top).rglob("*.py")):
            violations += check_file(root, path)
    return violations


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    violations = check(root)
    for violation in violations:
        print(violation, file=sys.stderr)
    if violations:
        print(f"check_imports: {len(violations)} forbidden import(s); see ARCHITECTURE.md", file=sys.stderr)
        return 1
    print("check_imports: imports point one way (library -> no apps; apps -> no CLI; client -> grpc, protobuf, numpy)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
