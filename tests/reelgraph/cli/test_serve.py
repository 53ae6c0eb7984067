"""The help of ``reelgraph serve`` / ``work`` (and every other command): defaults come from the declaration."""

from __future__ import annotations

import re

import pytest
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


@pytest.mark.parametrize(
    ("command", "option", "view", "field"),
    [
        ("serve", "host", ServerSettings, "host"),
        ("serve", "port", ServerSettings, "port"),
        ("serve", "scoring_threads", ServerSettings, "workers"),
        ("serve", "max_pairs", ServerSettings, "max_pairs"),
        ("serve", "processes", ServerSettings, "processes"),
        ("serve", "event_loop", ServerSettings, "event_loop"),
        ("serve", "log_format", ServerSettings, "log_format"),
        ("serve", "bundles", ServerSettings, "bundles_dir"),
        ("work", "redis_url", WorkerSettings, "redis_url"),
        ("work", "concurrency", WorkerSettings, "concurrency"),
        ("work", "name", WorkerSettings, "name"),
        ("work", "device", WorkerSettings, "device"),
    ],
)
def test_serve_and_work_help_their_declared_fallbacks(
    command: str, option: str, view: type[ServerSettings | WorkerSettings], field: str
) -> None:
    assert f"(default {view.flag_default(field)})." in _helps()[command][option]


def test_a_flag_default_is_the_variable_and_its_declared_default() -> None:
    assert ServerSettings.flag_default("port") == "$REELGRAPH_PORT or 50051"
    assert ServerSettings.flag_default("event_loop") == "$REELGRAPH_EVENT_LOOP or auto"
    assert ServerSettings.flag_default("redis_url") == "$REELGRAPH_REDIS_URL"  # unset: the variable alone
    assert WorkerSettings.flag_default("redis_url") == "$REELGRAPH_REDIS_URL or redis://127.0.0.1:6379/0"
    assert WorkerSettings.flag_default("name") == "$REELGRAPH_WORKER_NAME or host-pid"  # shown, not computed
