"""Which bundles the server serves, with verified hot reload. No grpc here."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from reelgraph.bundle.loader import bundle_names, resolve_version
from reelgraph.errors import BundleError, ModelNotFoundError, NoModelLoadedError
from reelgraph.scoring import Scorer

log = logging.getLogger(__name__)
_KEEP_OLD_VERSIONS = 2  # explicitly requested older versions kept loaded


@dataclass(frozen=True)
class Change:
    """A reload outcome: ``loaded`` a new version, or ``refused`` a broken one."""

    name: str
    version: str
    outcome: str
    detail: str = ""


class ModelRegistry:
    """Latest verified version of every bundle under ``root``, swapped atomically.

    Readers call ``get`` (``get_async`` on an event loop) and keep the returned
    ``Scorer`` for the whole request, so a swap never changes a model under an
    in-flight request. A new version that fails verification is refused and
    logged; the old one keeps serving.
    """

    def __init__(self, root: Path, default_name: str | None = None) -> None:
        self.root = root
        self.default_name = default_name
        self._latest: dict[str, Scorer] = {}
        self._older: OrderedDict[tuple[str, str], Scorer] = OrderedDict()
        self._refused: dict[str, str] = {}  # name -> version refused (not retried until LATEST moves)
        self._lock = threading.Lock()  # serialises reloads of the latest versions, not reads
        self._older_lock = threading.Lock()  # serialises loads of pinned older versions

    @property
    def ready(self) -> bool:
        """True once at least one bundle is loaded."""
        return bool(self._latest)

    def refresh(self) -> list[Change]:
        """Load every bundle whose LATEST names a version not loaded yet (blocking)."""
        with self._lock:
            return [c for name in bundle_names(self.root) if (c := self._refresh_one(name)) is not None]

    def _refresh_one(self, name: str) -> Change | None:
        try:
            version = resolve_version(self.root / name).name
        except BundleError as exc:
            return self._refuse(name, "?", str(exc))
        current = self._latest.get(name)
        if (current is not None and current.version == version) or self._refused.get(name) == version:
            return None
        try:
            scorer = Scorer.load(self.root / name / version)
        except (BundleError, ValueError, KeyError, RuntimeError) as exc:
            return self._refuse(name, version, str(exc))
        self._latest[name] = scorer  # one dict store: atomic for readers
        self._refused.pop(name, None)
        log.info("loaded bundle %s/%s", name, version)
        return Change(name, version, "loaded")

    def _refuse(self, name: str, version: str, detail: str) -> Change:
        self._refused[name] = version
        log.error("refused bundle %s/%s: %s (still serving %s)", name, version, detail, self._serving(name))
        return Change(name, version, "refused", detail)

    def _serving(self, name: str) -> str:
        current = self._latest.get(name)
        return f"version {current.version}" if current else "nothing"

    def get(self, name: str = "", version: str = "") -> Scorer:
        """The scorer for ``name`` (default bundle when empty) at ``version`` (latest when empty).

        An older version not loaded yet is loaded and verified here, which blocks
        for as long as that takes: on an event loop use ``get_async``.
        Raises ``NoModelLoadedError`` before any bundle is loaded and
        ``ModelNotFoundError`` for unknown names or versions.
        """
        found = self.loaded(name, version)
        return found if isinstance(found, Scorer) else self._load_older(*found)

    async def get_async(self, name: str = "", version: str = "") -> Scorer:
        """``get`` for coroutines: a loaded version at once, a load in a worker thread (never on the loop)."""
        found = self.loaded(name, version)
        if isinstance(found, Scorer):
            return found
        return await asyncio.to_thread(self._load_older, *found)

    def loaded(self, name: str = "", version: str = "") -> Scorer | tuple[str, str]:
        """The loaded scorer ``get`` means, or the (name, version) it would have to load. Never blocks."""
        latest = self._latest
        if not latest:
            raise NoModelLoadedError("no model bundle is loaded yet")
        name = name or self.default_name or min(latest)
        if name not in latest:
            raise ModelNotFoundError(f"no model named {name!r}; loaded: {', '.join(sorted(latest))}")
        scorer = latest[name]
        if not version or version == scorer.version:
            return scorer
        return self._older.get((name, version)) or (name, version)

    def _load_older(self, name: str, version: str) -> Scorer:
        """Load a pinned older version (checksums, full-graph encode), keeping the last few."""
        key = (name, version)
        if not version.isdigit() or not (self.root / name / version).is_dir():
            raise ModelNotFoundError(f"model {name!r} has no version {version!r}")
        with self._older_lock:  # one load per version, even when many requests ask at once
            if key in self._older:
                return self._older[key]
            try:
                scorer = Scorer.load(self.root / name / version)
            except BundleError as exc:
                raise ModelNotFoundError(f"model {name}/{version} cannot be loaded: {exc}") from exc
            self._older[key] = scorer
            while len(self._older) > _KEEP_OLD_VERSIONS:
                self._older.popitem(last=False)
        return scorer

    def all_latest(self) -> list[Scorer]:
        """Latest scorer of every loaded bundle, by name."""
        latest = self._latest
        return [latest[n] for n in sorted(latest)]
