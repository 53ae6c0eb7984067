"""MovieLens readers, validation, download and fingerprints."""

from reelgraph.data.dataset import MovieLens
from reelgraph.data.readers import detect_layout, read_movielens

__all__ = ["MovieLens", "detect_layout", "read_movielens"]
