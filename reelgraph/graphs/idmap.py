"""Contiguous index ↔ MovieLens id maps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reelgraph.errors import UnknownIdsError

_MAX_TABLE = 1 << 26  # ids below 64 Mi use a 4-byte-per-id direct table (≤ 256 MiB)


@dataclass(frozen=True)
class IdMap:
    """Maps raw ids (any int64) to contiguous indices ``0..n-1`` and back.

    ``ids`` is sorted and unique, so index ``i`` holds raw id ``ids[i]`` and
    lookups are a binary search (no Python dict on the hot path).
    """

    kind: str
    ids: np.ndarray
    _table: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # MovieLens ids are small non-negative ints: a direct table beats a binary search ~4×.
        if self.ids.size and self.ids[0] >= 0 and self.ids[-1] < _MAX_TABLE:
            # One spare -1 slot at the end: every id past the largest maps there.
            table = np.full(int(self.ids[-1]) + 2, -1, dtype=np.int32)
            table[self.ids] = np.arange(self.ids.size, dtype=np.int32)
            object.__setattr__(self, "_table", table)

    @classmethod
    def from_ids(cls, kind: str, raw: np.ndarray) -> IdMap:
        """Build from raw ids in any order, with repeats."""
        return cls(kind, np.unique(np.asarray(raw, dtype=np.int64)))

    def __len__(self) -> int:
        return int(self.ids.size)

    def positions(self, raw: np.ndarray) -> np.ndarray:
        """Index of each id in ``raw``, or -1 where the id is unknown (int32 or int64).

        The cheapest lookup, for the per-request hot path: two numpy calls with
        the direct table.
        """
        raw = np.asarray(raw)
        if raw.dtype != np.int32:  # int32 ids (the compact wire form) are used as they are
            raw = raw.astype(np.int64, copy=False)
        if self._table is not None:
            # Read as unsigned, negative ids are huge too, so one clamp sends every
            # id outside the table to its spare -1 slot.
            unsigned = raw.view(np.uint32 if raw.dtype == np.int32 else np.uint64)
            found: np.ndarray = self._table.take(np.minimum(unsigned, self._table.size - 1))
            return found
        if not len(self):
            return np.full(raw.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, raw), len(self) - 1)
        return np.where(self.ids[pos] == raw, pos, -1)

    def lookup(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of ``raw`` and a boolean mask of the ids that are known.

        Unknown positions get index 0 in the first array; check the mask.
        """
        found = self.positions(raw)
        known = found >= 0
        return np.maximum(found, 0).astype(np.int64), known

    def index(self, raw: np.ndarray) -> np.ndarray:
        """Indices of ``raw``; raises ``UnknownIdsError`` listing unknown ids."""
        idx, known = self.lookup(raw)
        if not known.all():
            positions = np.flatnonzero(~known)
            unknown = np.asarray(raw, dtype=np.int64)[positions]
            _, first = np.unique(unknown, return_index=True)
            raise UnknownIdsError(self.kind, unknown[np.sort(first)].tolist(), positions.tolist())
        return idx

    def raw(self, index: np.ndarray) -> np.ndarray:
        """Raw ids of contiguous indices."""
        return self.ids[np.asarray(index, dtype=np.int64)]
