"""Static checks of docker/: Docker cannot run on CI machines, so lint, validate and
cross-check the files against the code they start (commands, flags, settings)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.server.conftest import ServerThread, settings_for

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
COMPOSE_GPU = ROOT / "docker" / "compose.gpu.yaml"
BIN = Path(sys.executable).parent


def _stages() -> dict[str, list[str]]:
    """Stage name → its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if match := re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, flags=re.I):
            current = stages.setdefault(match.group(2), [f"BASE {match.group(1)}"])
        current.append(line)
    return stages


def _json_arg(stage: list[str], instruction: str) -> list[str]:
    lines = [line for line in stage if line.startswith(instruction + " ")]
    assert len(lines) == 1, (instruction, stage)
    return list(json.loads(lines[0].split(" ", 1)[1].split("CMD ", 1)[-1]))


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is a dev dependency (pip install -e '.[dev]')"
    return found


def test_hadolint_finds_nothing() -> None:
    proc = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_files_match_the_compose_spec() -> None:
    args = [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE), str(COMPOSE_GPU)]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_images_are_multi_stage_non_root_and_the_targets_exist() -> None:
    stages = _stages()
    assert {"build", "runtime", "server", "worker", "trainer"} <= set(stages)
    for target in ("server", "worker", "trainer"):
        assert stages[target][0] == "BASE runtime", target
        assert not any(line.startswith("USER") for line in stages[target]), f"{target} must not change user"
    users = [line for line in stages["runtime"] if line.startswith("USER")]
    assert users == ["USER 10001:10001"]
    assert any("COPY --from=build /opt/venv" in line for line in stages["runtime"])
    # the runtime image carries no compilers or package-manager caches
    assert not any(re.search(r"apt-get|pip install", line) for line in stages["runtime"])
    targets = {svc["build"]["target"] for svc in _compose()["services"].values() if "build" in svc}
    assert targets == {"server", "worker", "trainer"}


def test_entrypoints_parse_with_the_real_cli() -> None:
    stages = _stages()
    for target in ("server", "worker", "trainer"):
        argv = _json_arg(stages[target], "ENTRYPOINT")
        assert argv[0] == "reelgraph"
        proc = subprocess.run(
            [sys.executable, "-m", "reelgraph", *argv[1:], "--help"], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, (argv, proc.stdout + proc.stderr)


def test_server_healthcheck_command_reports_a_real_server(bundles: Path) -> None:
    argv = _json_arg(_stages()["server"], "HEALTHCHECK")
    assert argv[:3] == ["reelgraph", "health", "--server"]
    server = ServerThread(settings_for(bundles))
    try:
        argv[3] = server.target  # the same command, pointed at the test server's port
        proc = subprocess.run(
            [sys.executable, "-m", "reelgraph", *argv[1:]], capture_output=True, text=True, timeout=60
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SERVING" in proc.stdout


def test_every_setting_named_in_docker_files_is_read_by_the_code() -> None:
    names = set(re.findall(r"REELGRAPH_[A-Z_]+", DOCKERFILE.read_text() + COMPOSE.read_text()))
    names -= {"REELGRAPH_WORKER_REPLICAS", "REELGRAPH_WORKER_DEVICE"}  # compose-level variables, not process settings
    from reelgraph.settings import all_variables

    current = {v.name for v in all_variables()}  # the one declaration; deprecated names do not count
    assert names - current == set()


def test_compose_keeps_redis_durable_and_orders_startup() -> None:
    services = _compose()["services"]
    redis = services["redis"]
    assert "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    for name in ("server", "worker"):
        deps = services[name]["depends_on"]
        assert deps["trainer"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
        assert "bundles:/bundles:ro" in services[name]["volumes"]
    exposed = re.findall(r"EXPOSE ([\d ]+)", "\n".join(_stages()["server"]))[0].split()
    assert sorted(p.split(":")[1] for p in services["server"]["ports"]) == sorted(exposed)


def test_dockerignore_admits_only_what_the_images_copy() -> None:
    copied = re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE.read_text(), flags=re.M)
    allowed = {
        line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")
    }
    assert set(copied) <= allowed
    assert all((ROOT / c).exists() for c in copied)


def test_docker_compose_config_when_the_client_has_compose() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no `docker compose` client on this machine; the compose-spec schema check above covers it")
    proc = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"REELGRAPH_DATA_DIR": "/tmp", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
