"""The ``reelgraph`` command: one module per command group, heavy modules imported lazily.

The command line is the only part of ``reelgraph`` that may import the apps
(``trainer``, ``server``, ``worker``); ``scripts/check_imports.py`` enforces it.
"""

from __future__ import annotations

import typer

from reelgraph.cli import audience, client, serve, stack, train

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="reelgraph: GNN movie recommender.",
)
for command in (
    train.train,
    train.report,
    serve.serve,
    serve.work,
    stack.stack,
    client.health,
    client.score,
    client.recommend,
    client.explain,
    audience.audience,
    stack.demo,
):
    app.command()(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``reelgraph`` console script."""
    app(args=argv)
