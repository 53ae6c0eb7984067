"""The heterogeneous user–movie graph: users and movies as nodes, ratings as edges both ways."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch_geometric.data import HeteroData

from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.features import movie_features
from reelgraph.graphs.idmap import IdMap

RATES = ("user", "rates", "movie")
REV_RATES = ("movie", "rev_rates", "user")


class MessageEdges(NamedTuple):
    """User→movie edges that carry messages, with their attributes.

    ``edge_index`` is ``(2, E)`` int64 (user index, movie index); ``time`` int64
    Unix seconds; ``rating`` float32 stars.
    """

    edge_index: torch.Tensor
    time: torch.Tensor
    rating: torch.Tensor

    def select(self, which: torch.Tensor) -> MessageEdges:
        """The edges at positions (or mask) ``which``."""
        return MessageEdges(self.edge_index[:, which], self.time[which], self.rating[which])

    def to(self, device: torch.device) -> MessageEdges:
        """The same edges on ``device``."""
        return MessageEdges(self.edge_index.to(device), self.time.to(device), self.rating.to(device))


@dataclass(frozen=True)
class RatingGraph:
    """A hetero graph plus the id maps that index its nodes.

    ``graph[RATES]`` holds ``edge_index`` (user index, movie index),
    ``rating`` (float32 stars) and ``time`` (int64 seconds); ``graph[REV_RATES]``
    is its reverse. ``graph['movie'].x`` are ``movie_features``; users have no
    features (models learn ID embeddings), only ``num_nodes``.
    """

    graph: HeteroData
    users: IdMap
    movies: IdMap

    def message_edges(self) -> MessageEdges:
        """Every rating of the graph as message edges."""
        store = self.graph[RATES]
        return MessageEdges(store.edge_index, store.time, store.rating)


def build_rating_graph(data: MovieLens, users: IdMap | None = None) -> RatingGraph:
    """Build the user–movie graph over every movie of the movie table.

    Movies without ratings keep their node (and features), which is what lets
    the models score cold-start movies. ``users`` defaults to the raters.
    """
    movies = IdMap.from_ids("movie", data.movies["movie_id"].to_numpy())
    if users is None:
        users = IdMap.from_ids("user", data.ratings["user_id"].to_numpy())
    order = np.argsort(data.movies["movie_id"].to_numpy(), kind="stable")
    src = users.index(data.ratings["user_id"].to_numpy())
    dst = movies.index(data.ratings["movie_id"].to_numpy())
    g = HeteroData()
    g["user"].num_nodes = len(users)
    g["movie"].x = movie_features(data)[torch.from_numpy(order)]
    edge_index = torch.from_numpy(np.stack([src, dst]))
    g[RATES].edge_index = edge_index
    g[RATES].rating = torch.tensor(data.ratings["rating"].to_numpy(), dtype=torch.float32)
    g[RATES].time = torch.tensor(data.ratings["timestamp"].to_numpy(), dtype=torch.int64)
    g[REV_RATES].edge_index = edge_index.flip(0)
    return RatingGraph(g, users, movies)


class PairAttributes:
    """Looks up the time and stars of known (user, movie) index pairs.

    ``RandomLinkSplit`` drops edge attributes of supervision edges; this
    recovers them with one sort and a binary search, no Python loops.
    """

    def __init__(self, rg: RatingGraph) -> None:
        store = rg.graph[RATES]
        self._n_movies = len(rg.movies)
        key = store.edge_index[0] * self._n_movies + store.edge_index[1]
        self._keys, order = key.sort()
        self._time = store.time[order]
        self._rating = store.rating[order]

    def __call__(self, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(time, rating)`` of each column of ``pairs`` (which must be edges)."""
        pos = torch.searchsorted(self._keys, pairs[0] * self._n_movies + pairs[1])
        return self._time[pos], self._rating[pos]
