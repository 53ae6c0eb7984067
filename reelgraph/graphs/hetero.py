"""The heterogeneous user–movie graph of seed 004."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import HeteroData

from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.features import movie_features
from reelgraph.graphs.idmap import IdMap

RATES = ("user", "rates", "movie")
REV_RATES = ("movie", "rev_rates", "user")


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


def build_rating_graph(data: MovieLens, users: IdMap | None = None) -> RatingGraph:
    """Build the user–movie graph over every movie of the movie table.

    Movies without ratings keep their node (and features), which is what lets
    the models score cold-start movies. ``users`` defaults to the raters.
    """
    movies = IdMap("movie", data.movies["movie_id"].to_numpy())
    users = users or IdMap.from_ids("user", data.ratings["user_id"].to_numpy())
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
