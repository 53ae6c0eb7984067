"""Contiguous index ↔ MovieLens id maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelgraph.errors import UnknownIdsError


@dataclass(frozen=True)
class IdMap:
    """Maps raw ids (any int64) to contiguous indices ``0..n-1`` and back.

    ``ids`` is sorted and unique, so index ``i`` holds raw id ``ids[i]`` and
    lookups are a binary search (no Python dict on the hot path).
    """

    kind: str
    ids: np.ndarray

    @classmethod
    def from_ids(cls, kind: str, raw: np.ndarray) -> IdMap:
        """Build from raw ids in any order, with repeats."""
        return cls(kind, np.unique(np.asarray(raw, dtype=np.int64)))

    def __len__(self) -> int:
        return int(self.ids.size)

    def lookup(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of ``raw`` and a boolean mask of the ids that are known.

        Unknown positions get index 0 in the first array; check the mask.
        """
        raw = np.asarray(raw, dtype=np.int64)
        pos = np.searchsorted(self.ids, raw)
        pos = np.minimum(pos, max(len(self) - 1, 0))
        known = self.ids[pos] == raw if len(self) else np.zeros(raw.shape, dtype=bool)
        return np.where(known, pos, 0).astype(np.int64), known

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
