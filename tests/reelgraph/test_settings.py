"""``reelgraph.settings``: every ``REELGRAPH_*`` variable declared once, read per process, bad values named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelgraph.jobs.queue import QueueSettings
from reelgraph.logs import LogFormat
from reelgraph.options import DeviceChoice, EventLoop
from reelgraph.settings import (
    ClientSettings,
    CommonSettings,
    ReelgraphSettings,
    ServerSettings,
    SettingsError,
    WorkerSettings,
    all_variables,
)


def test_the_environment_is_read_typed_and_flags_win() -> None:
    env = {
        "REELGRAPH_PORT": "6000",
        "REELGRAPH_AUTH_TOKENS": "a, b,,c",
        "REELGRAPH_LOG_FORMAT": "JSON",
        "REELGRAPH_EVENT_LOOP": "asyncio",
        "REELGRAPH_RELOAD_INTERVAL_S": "0.5",
        "REELGRAPH_BUNDLES_DIR": "/srv/b",
        "REELGRAPH_DEFAULT_MODEL": "",  # empty counts as unset
    }
    s = ServerSettings.from_env(env, port=7000, workers=None)
    assert (s.port, s.workers, s.reload_interval_s) == (7000, 2, 0.5)
    assert s.auth_tokens == frozenset({"a", "b", "c"})
    assert (s.log_format, s.event_loop) == (LogFormat.JSON, EventLoop.ASYNCIO)
    assert (s.bundles_dir, s.default_model) == (Path("/srv/b"), None)
    assert s.max_message_bytes == 1_000_000 * 16 + (1 << 20)


def test_constructing_a_view_directly_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELGRAPH_PORT", "6000")
    assert ServerSettings(port=0).port == 0
    assert ServerSettings().port == 50051
    assert ServerSettings.from_env().port == 6000


def test_metrics_ports_are_named_per_process_and_the_older_names_still_work() -> None:
    assert ServerSettings.from_env({"REELGRAPH_SERVER_METRICS_PORT": "9000"}).metrics_port == 9000
    assert ServerSettings.from_env({"REELGRAPH_METRICS_PORT": "9001"}).metrics_port == 9001
    both = {"REELGRAPH_SERVER_METRICS_PORT": "9000", "REELGRAPH_METRICS_PORT": "9001"}
    assert ServerSettings.from_env(both).metrics_port == 9000  # the current name wins
    worker = WorkerSettings.from_env({"REELGRAPH_WORKER_METRICS_PORT": "9100", "REELGRAPH_METRICS_HOST": "0.0.0.0"})
    assert (worker.metrics_port, worker.metrics_host) == (9100, "0.0.0.0")
    assert WorkerSettings.from_env({"REELGRAPH_SERVER_METRICS_PORT": "9000"}).metrics_port is None


def test_the_worker_view() -> None:
    w = WorkerSettings.from_env({"REELGRAPH_VISIBILITY_TIMEOUT_S": "5", "REELGRAPH_DEVICE": "CPU"}, concurrency=3)
    assert w.queue == QueueSettings(visibility_timeout_s=5.0)
    assert (w.device, w.concurrency, w.redis_url) == (DeviceChoice.CPU, 3, "redis://127.0.0.1:6379/0")
    assert WorkerSettings().queue == QueueSettings()  # the declared defaults are the queue's own
    assert ServerSettings.from_env({}).redis_url is None  # the server without a queue: explanations off


def test_the_device_flag_wins_over_the_environment_which_wins_over_the_default() -> None:
    assert CommonSettings.from_env({}).device is DeviceChoice.AUTO
    assert CommonSettings.from_env({"REELGRAPH_DEVICE": "cuda"}).device is DeviceChoice.CUDA
    assert CommonSettings.from_env({"REELGRAPH_DEVICE": "cuda"}, device="cpu").device is DeviceChoice.CPU


@pytest.mark.parametrize(
    ("view", "env", "message"),
    [
        (ServerSettings, {"REELGRAPH_PORT": "abc"}, "invalid REELGRAPH_PORT 'abc': expected an integer 0–65535"),
        (ServerSettings, {"REELGRAPH_PORT": "70000"}, "invalid REELGRAPH_PORT '70000'"),
        (ServerSettings, {"REELGRAPH_METRICS_PORT": "x"}, "invalid REELGRAPH_METRICS_PORT 'x'"),
        (ServerSettings, {"REELGRAPH_EVENT_LOOP": "tokio"}, "expected auto, asyncio or uvloop"),
        (ServerSettings, {"REELGRAPH_TLS_CERT": "/x.pem"}, "REELGRAPH_TLS_CERT and REELGRAPH_TLS_KEY"),
        (WorkerSettings, {"REELGRAPH_WORKER_CONCURRENCY": "x"}, "invalid REELGRAPH_WORKER_CONCURRENCY 'x'"),
        (WorkerSettings, {"REELGRAPH_WORKER_CONCURRENCY": "0"}, "expected an integer 1–64"),
        (WorkerSettings, {"REELGRAPH_VISIBILITY_TIMEOUT_S": "0"}, "expected a number > 0"),
        (CommonSettings, {"REELGRAPH_DEVICE": "tpu"}, "invalid REELGRAPH_DEVICE 'tpu': expected auto, cpu or cuda"),
        (ClientSettings, {"REELGRAPH_CLIENT_TLS_CERT": "/c.pem"}, "--tls-cert and --tls-key"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    view: type[ReelgraphSettings], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as info:
        view.from_env(env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_flag_is_named_as_the_flag() -> None:
    with pytest.raises(SettingsError, match="invalid --port -1: expected an integer 0–65535"):
        ServerSettings.from_env({}, port=-1)


def test_every_variable_is_declared_once_with_a_doc() -> None:
    variables = list(all_variables())
    names = [v.name for v in variables] + [d for v in variables for d in v.deprecated]
    assert len(names) == len(set(names))
    assert all(v.name.startswith("REELGRAPH_") and v.doc for v in variables)
    assert {"REELGRAPH_PORT", "REELGRAPH_WORKER_CONCURRENCY", "REELGRAPH_DATA_DIR", "REELGRAPH_TOKEN"} <= set(names)


def test_no_code_reads_a_reelgraph_variable_outside_the_declaration() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for pkg in ("reelgraph", "server", "worker", "trainer")
        for path in (root / pkg).rglob("*.py")
        if path.name != "settings.py"
        and any(marker in path.read_text() for marker in ('environ.get("REELGRAPH_', 'getenv("REELGRAPH_', "envvar="))
    ]
    assert offenders == []


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


@pytest.mark.parametrize(
    ("args", "variable", "value"),
    [
        (["-m", "reelgraph", "serve", "--port", "0"], "REELGRAPH_MAX_PAIRS", "many"),
        (["-m", "server"], "REELGRAPH_PORT", "abc"),
        (["-m", "reelgraph", "work"], "REELGRAPH_WORKER_CONCURRENCY", "x"),
        (["-m", "reelgraph", "train", "--data", "nowhere"], "REELGRAPH_DEVICE", "tpu"),
        (["-m", "reelgraph", "recommend", "--user", "1"], "REELGRAPH_CLIENT_TLS_KEY", "/k.pem"),
    ],
)
def test_every_entry_point_stops_with_one_line_and_status_2(args: list[str], variable: str, value: str) -> None:
    proc = _run(args, **{variable: value})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert variable in proc.stderr or "--tls-cert" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
