"""reelgraph: a graph-neural-network movie recommender.

``reelgraph.Scorer`` loads a bundle and scores MovieLens ids in process. It is
imported lazily so that ``import reelgraph`` stays cheap for the client SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from reelgraph.scoring import Recommendations, Scorer

__all__ = ["Recommendations", "Scorer", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Scorer", "Recommendations"):
        from reelgraph import scoring

        return getattr(scoring, name)
    raise AttributeError(f"module 'reelgraph' has no attribute {name!r}")
