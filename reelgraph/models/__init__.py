"""The GNNs: built from a bundle manifest's config, never from a global dataset."""

from reelgraph.models.encoder import EncoderConfig, HeteroSageEncoder
from reelgraph.models.movie_gcn import MovieGCN, MovieGCNConfig
from reelgraph.models.pair import LinkModel, PairModel, RatingModel

__all__ = [
    "EncoderConfig",
    "HeteroSageEncoder",
    "LinkModel",
    "MovieGCN",
    "MovieGCNConfig",
    "PairModel",
    "RatingModel",
]
