"""The help of ``reelgraph serve`` / ``work`` (and every other command): defaults come from the declaration."""

from __future__ import annotations

import re

import typer.core
import typer.main

from reelgraph.cli import app
from reelgraph.settings import ClientSettings, CommonSettings, ServerSettings, WorkerSettings

FALLBACK = re.compile(r"\$(REELGRAPH_\w+)(?: or (\S+?))?\)")


def _helps() -> dict[str, dict[str, str]]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return {
        name: {p.name or "": getattr(p, "help", None) or "" for p in command.params}
        for name, command in group.commands.items()
    }


def test_every_default_a_help_names_is_the_declared_one() -> None:
    declared: dict[str, set[str]] = {}  # a variable two views read may default differently in each
    for view in (CommonSettings, ServerSettings, WorkerSettings, ClientSettings):
        for v in view.variables():
            declared.setdefault(v.name, set()).add(v.default.strip("`"))
    named = 0
    for command, helps in _helps().items():
        for option, text in helps.items():
            for variable, default in FALLBACK.findall(text):
                named += 1
                assert variable in declared, f"{command} --{option}: {variable} is not declared"
                assert (default or "unset") in declared[variable], f"{command} --{option}: {text}"
    assert named >= 20


def test_serve_and_work_help_their_declared_fallbacks() -> None:
    helps = _helps()
    field = {"scoring_threads": "workers", "threads": "torch_threads", "bundles": "bundles_dir"}  # else the same
    serve = ("host", "port", "scoring_threads", "max_pairs", "processes", "event_loop", "log_format", "bundles")
    work = ("redis_url", "concurrency", "name", "device", "threads", "log_format", "bundles")
    for command, view, options in (("serve", ServerSettings, serve), ("work", WorkerSettings, work)):
        for option in options:
            assert f"(default {view.flag_default(field.get(option, option))})." in helps[command][option]


def test_a_flag_default_is_the_variable_and_its_declared_default() -> None:
    assert ServerSettings.flag_default("port") == "$REELGRAPH_PORT or 50051"
    assert ServerSettings.flag_default("event_loop") == "$REELGRAPH_EVENT_LOOP or auto"
    assert ServerSettings.flag_default("redis_url") == "$REELGRAPH_REDIS_URL"  # unset: the variable alone
    assert WorkerSettings.flag_default("redis_url") == "$REELGRAPH_REDIS_URL or redis://127.0.0.1:6379/0"
    assert WorkerSettings.flag_default("name") == "$REELGRAPH_WORKER_NAME or host-pid"  # shown, not computed
