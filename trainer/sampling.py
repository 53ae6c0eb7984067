"""Neighbour-sampled link training (PyG's ``LinkNeighborLoader``).

Used for graphs too large for full-graph steps. PyG's sampler needs pyg-lib or
torch-sparse; neither is a plain PyPI wheel for this torch, so torch-sparse is
an optional extra (``make install-sampling`` compiles it).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from enum import StrEnum

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from reelgraph.errors import InvalidOptionError
from reelgraph.graphs.hetero import RATES, REV_RATES, MessageEdges
from reelgraph.models.encoder import edge_ratings, node_stats
from reelgraph.models.pair import PairModel

# Above this many training edges, ``auto`` samples neighbours when it can.
AUTO_SAMPLING_EDGES = 5_000_000


class Sampling(StrEnum):
    """How link training visits the graph."""

    AUTO = "auto"  # full graph, or neighbour sampling for very large graphs when available
    FULL = "full"
    NEIGHBOR = "neighbor"


def sampler_available() -> bool:
    """True when PyG can sample neighbours (pyg-lib or torch-sparse importable)."""
    import torch_geometric.typing as pyg_typing

    return bool(pyg_typing.WITH_PYG_LIB or pyg_typing.WITH_TORCH_SPARSE)


def choose(sampling: Sampling, num_edges: int) -> Sampling:
    """Resolve ``auto``; refuse ``neighbor`` without a sampler backend."""
    if sampling is Sampling.NEIGHBOR and not sampler_available():
        raise InvalidOptionError(
            "sampling 'neighbor' needs torch-sparse or pyg-lib; run `make install-sampling` or use 'full'"
        )
    if sampling is Sampling.AUTO:
        big = num_edges > AUTO_SAMPLING_EDGES
        return Sampling.NEIGHBOR if big and sampler_available() else Sampling.FULL
    return sampling


def sampled_batches(
    msg: MessageEdges,
    supervision: Tensor,
    num_users: int,
    num_movies: int,
    *,
    num_neighbors: tuple[int, ...],
    batch_size: int,
    negatives: int,
) -> Iterator[HeteroData]:
    """Mini-batches of supervision edges with their sampled computation subgraphs.

    Each batch carries global ``n_id`` per node type and ``e_id`` per edge type;
    ``batch[RATES].edge_label_index`` / ``edge_label`` hold positives and
    ``negatives`` random pairs per positive.
    """
    from torch_geometric.loader import LinkNeighborLoader
    from torch_geometric.sampler import NegativeSampling

    g = HeteroData()
    g["user"].num_nodes = num_users
    g["movie"].num_nodes = num_movies
    g[RATES].edge_index = msg.edge_index
    g[REV_RATES].edge_index = msg.edge_index.flip(0)
    with warnings.catch_warnings():
        # PyG nags that torch-sparse sampling is slower than pyg-lib, which has no PyPI wheels.
        warnings.filterwarnings("ignore", message=".*without a 'pyg-lib' installation", category=UserWarning)
        loader = LinkNeighborLoader(
            g,
            num_neighbors=list(num_neighbors),
            edge_label_index=(RATES, supervision),
            neg_sampling=NegativeSampling("binary", amount=negatives),
            batch_size=batch_size,
            shuffle=True,
        )
    yield from loader


def sampled_logits(
    model: PairModel, batch: HeteroData, movie_x: Tensor, stats: dict[str, Tensor], msg: MessageEdges
) -> Tensor:
    """Logits of ``batch``'s label pairs, encoding only its sampled subgraph.

    ``stats`` are node statistics of the full message graph (``node_stats``),
    sliced by ``n_id`` so sampled nodes see the same inputs as full-graph ones.
    """
    users, movies = batch["user"].n_id, batch["movie"].n_id
    x = model.encoder.input_states(
        movie_x[movies], {"user": stats["user"][users], "movie": stats["movie"][movies]}, users, movies
    )
    edges = {RATES: batch[RATES].edge_index, REV_RATES: batch[REV_RATES].edge_index}
    ratings = edge_ratings(msg.rating[batch[RATES].e_id])
    ratings[REV_RATES] = msg.rating[batch[REV_RATES].e_id]
    h = model.encoder(x, edges, ratings)
    pairs = batch[RATES].edge_label_index
    out: Tensor = model.decoder(h["user"][pairs[0]], h["movie"][pairs[1]])
    return out


def full_stats(msg: MessageEdges, num_users: int, num_movies: int, scale: float) -> dict[str, Tensor]:
    """Node statistics of the whole message graph (computed once per epoch)."""
    with torch.no_grad():
        return node_stats(msg, num_users, num_movies, scale)
