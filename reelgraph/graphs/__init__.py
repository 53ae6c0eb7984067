"""Graph builders: the user–movie hetero graph and the movie co-rating graph."""

from reelgraph.graphs.corating import CoRatingGraph, build_corating_graph
from reelgraph.graphs.hetero import RATES, REV_RATES, MessageEdges, PairAttributes, RatingGraph, build_rating_graph
from reelgraph.graphs.idmap import IdMap

__all__ = [
    "RATES",
    "REV_RATES",
    "CoRatingGraph",
    "IdMap",
    "MessageEdges",
    "PairAttributes",
    "RatingGraph",
    "build_corating_graph",
    "build_rating_graph",
]
