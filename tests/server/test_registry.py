"""``server.registry`` directly: serving, refusing, pinned older versions loaded off the event loop."""

from __future__ import annotations

import ast
import asyncio
import threading
import time
from pathlib import Path

import pytest

import server
from reelgraph.bundle import load_bundle, write_bundle
from reelgraph.errors import ModelNotFoundError, NoModelLoadedError
from reelgraph.scoring import Scorer
from server.registry import ModelRegistry


def _new_version(bundles: Path) -> str:
    """Publish a second version of ``tiny`` (same contents) and return its number."""
    old = load_bundle(bundles / "tiny")
    return write_bundle(bundles, old.manifest, old.weights, old.graph).name


def test_serves_the_latest_and_names_what_is_missing(bundles: Path) -> None:
    registry = ModelRegistry(bundles)
    with pytest.raises(NoModelLoadedError):
        registry.get()
    assert [(c.name, c.version, c.outcome) for c in registry.refresh()] == [("tiny", "1", "loaded")]
    assert registry.ready
    assert registry.get() is registry.get("tiny", "1") is registry.all_latest()[0]
    assert registry.refresh() == []  # nothing new
    with pytest.raises(ModelNotFoundError, match="no model named 'nope'; loaded: tiny"):
        registry.get("nope")
    for version in ("7", "../1", "x"):
        with pytest.raises(ModelNotFoundError, match=f"has no version '{version}'"):
            registry.get("tiny", version)


def test_a_broken_new_version_is_refused_and_the_old_keeps_serving(bundles: Path) -> None:
    registry = ModelRegistry(bundles)
    registry.refresh()
    version = _new_version(bundles)
    (bundles / "tiny" / version / "weights.safetensors").write_bytes(b"tampered")
    (change,) = registry.refresh()
    assert (change.version, change.outcome) == (version, "refused")
    assert "checksum mismatch" in change.detail
    assert registry.get().version == "1"
    assert registry.refresh() == []  # not retried until LATEST moves


def test_a_new_version_is_swapped_in_and_the_old_one_stays_reachable(bundles: Path) -> None:
    registry = ModelRegistry(bundles)
    registry.refresh()
    first = registry.get()
    version = _new_version(bundles)
    registry.refresh()
    assert registry.get().version == version
    pinned = registry.get("tiny", "1")
    assert pinned.version == "1"
    assert pinned is not first  # loaded again as an older version...
    assert registry.get("tiny", "1") is pinned  # ...once


def test_an_older_version_loads_off_the_event_loop(bundles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = _new_version(bundles)
    registry = ModelRegistry(bundles)
    registry.refresh()
    assert registry.get().version == version
    loads: list[int] = []
    real_load = Scorer.load.__func__  # type: ignore[attr-defined]

    def load(cls: type[Scorer], path: Path | str) -> Scorer:
        loads.append(threading.get_ident())
        return real_load(cls, path)  # type: ignore[no-any-return]

    monkeypatch.setattr(Scorer, "load", classmethod(load))

    async def main() -> tuple[list[Scorer], int, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0)
        # Three requests pinning the same old version at once: one load, in a worker thread.
        scorers = await asyncio.gather(*(registry.get_async("tiny", "1") for _ in range(3)))
        ticker.cancel()
        return list(scorers), ticks, threading.get_ident()

    started = time.monotonic()
    scorers, ticks, loop_thread = asyncio.run(main())
    took = time.monotonic() - started
    assert [s.version for s in scorers] == ["1"] * 3
    assert scorers[0] is scorers[1] is scorers[2]
    assert len(loads) == 1
    assert loads[0] != loop_thread
    assert ticks >= 1, f"the loop did not run for the {took:.2f} s the load took"
    assert registry.loaded("tiny", "1") is scorers[0]  # cached: later calls never leave the loop


def test_loaded_never_blocks(bundles: Path) -> None:
    registry = ModelRegistry(bundles)
    registry.refresh()
    version = _new_version(bundles)
    assert registry.loaded("tiny", "1") is registry.get()  # still the served one: no reload here
    registry.refresh()
    assert registry.loaded("tiny", "1") == ("tiny", "1")  # not loaded: says what get_async would load
    assert registry.loaded("tiny", version) is registry.get()


def test_no_coroutine_of_the_server_calls_the_blocking_get() -> None:
    """``registry.get`` may load a bundle: coroutines (on the event loop) must use ``get_async``."""
    root = Path(server.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.AsyncFunctionDef):
                offenders += [
                    f"{path.name}:{call.lineno} in {node.name}"
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "get"
                    and "registry" in ast.unparse(call.func.value)
                ]
    assert offenders == []
