"""The one data-discovery routine of the command line (``reelgraph train``, ``report``, ``stack``).

Order (as the README documents for ``reelgraph stack``): ``--data DIR``, else
``$REELGRAPH_DATA_DIR/<dataset>``, else a previous download in the cache
(``$REELGRAPH_CACHE_DIR/<dataset>``), else a checksum-verified download when allowed,
else one line saying to set ``REELGRAPH_DATA_DIR`` or pass ``--data DIR``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reelgraph.errors import ReelgraphError

DATASET = "ml-latest-small"
_RATINGS_FILES = ("ratings.csv", "u.data", "ratings.dat")  # ml-latest-small/-25m, ml-100k, ml-1m layouts


class DataLocation(Protocol):
    """Where to look for MovieLens data (``StackSettings`` and ``DataSearch`` both fit)."""

    @property
    def data_dir(self) -> Path | None: ...
    @property
    def data_root(self) -> Path | None: ...
    @property
    def cache_dir(self) -> Path: ...
    @property
    def download(self) -> bool: ...


@dataclass(frozen=True)
class DataSearch:
    """A ``DataLocation`` built from flags and the environment.

    Attributes:
        data_dir: explicit ``--data`` directory, or None to search.
        data_root: ``REELGRAPH_DATA_DIR`` (None when unset).
        cache_dir: download cache (``REELGRAPH_CACHE_DIR``).
        download: allowed to download the dataset when it is found nowhere.
    """

    data_dir: Path | None
    data_root: Path | None
    cache_dir: Path
    download: bool = False


def _holds_ratings(directory: Path) -> bool:
    return any((directory / name).is_file() for name in _RATINGS_FILES)


def find_data(where: DataLocation, say: Callable[[str], None], dataset: str = DATASET) -> Path:
    """The MovieLens directory to use; downloads ``dataset`` when allowed and needed.

    Raises:
        ReelgraphError: ``--data`` is not a directory, or no data was found and downloading is off.
        DataError: the download failed (offline, unknown dataset, checksum mismatch).
    """
    if where.data_dir is not None:
        if not where.data_dir.is_dir():
            raise ReelgraphError(f"--data {where.data_dir}: no such directory")
        return where.data_dir
    candidates = [where.cache_dir / dataset]
    if where.data_root is not None:
        candidates.insert(0, where.data_root / dataset)
    for candidate in candidates:
        if _holds_ratings(candidate):
            return candidate
    places = " or ".join(str(c) for c in candidates)
    if not where.download:
        raise ReelgraphError(f"no MovieLens data in {places}: set REELGRAPH_DATA_DIR or pass --data DIR")
    from reelgraph.data.download import fetch_dataset

    say(f"no MovieLens data in {places}: downloading {dataset} from GroupLens (checksum-verified)")
    return fetch_dataset(dataset, where.cache_dir)
