"""The exact computation subgraph of a (user, movie) pair for an L=2 encoder.

For ``logit(u, m) = dec(h_u², h_m²)`` with two message-passing layers, the only
edges that matter are those *into* {u} ∪ N(m) (movie→user) and into
{m} ∪ N(u) (user→movie): layer 2 reads the endpoints' neighbours, layer 1 the
neighbours' neighbours. Running the model on just these edges gives the same
logit as the full graph, at a fraction of the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from reelgraph.graphs.hetero import RATES, REV_RATES

EdgeType = tuple[str, str, str]


@dataclass(frozen=True)
class Adjacency:
    """CSR views of user→movie edges, both ways, for fast neighbour queries.

    ``by_user[u]`` are positions of u's edges in ``edge_index`` (sorted by user);
    ``by_movie[m]`` likewise for m.
    """

    edge_index: np.ndarray
    user_ptr: np.ndarray
    user_edges: np.ndarray
    movie_ptr: np.ndarray
    movie_edges: np.ndarray

    @classmethod
    def build(cls, edge_index: Tensor, num_users: int, num_movies: int) -> Adjacency:
        """Index ``edge_index`` (2, E) by user and by movie."""
        ei = edge_index.numpy()
        return cls(ei, *_csr(ei[0], num_users), *_csr(ei[1], num_movies))

    def user_edges_of(self, users: np.ndarray) -> np.ndarray:
        """Positions of every edge touching any of ``users``."""
        return _gather(self.user_ptr, self.user_edges, users)

    def movie_edges_of(self, movies: np.ndarray) -> np.ndarray:
        """Positions of every edge touching any of ``movies``."""
        return _gather(self.movie_ptr, self.movie_edges, movies)


@dataclass(frozen=True)
class PairSubgraph:
    """A relabelled computation subgraph.

    Attributes:
        users, movies: global indices of the subgraph's nodes (local i ↔ global ``users[i]``).
        edge_index_dict: local ``(2, E_t)`` edges per edge type.
        edge_ids: global edge positions (into the full user→movie edge list) per type.
        pair: local (user, movie) indices of the explained pair, shape (2, 1).
    """

    users: Tensor
    movies: Tensor
    edge_index_dict: dict[EdgeType, Tensor]
    edge_ids: dict[EdgeType, Tensor]
    pair: Tensor


def computation_subgraph(adj: Adjacency, user: int, movie: int) -> PairSubgraph:
    """Edges feeding ``logit(user, movie)`` of a 2-layer encoder, relabelled."""
    n_u = np.unique(adj.edge_index[1][adj.user_edges_of(np.array([user]))])  # movies u rated
    n_m = np.unique(adj.edge_index[0][adj.movie_edges_of(np.array([movie]))])  # users who rated m
    into_movies = adj.movie_edges_of(np.union1d(n_u, [movie]))  # user→movie edges into {m} ∪ N(u)
    into_users = adj.user_edges_of(np.union1d(n_m, [user]))  # movie→user edges into {u} ∪ N(m)
    ei = adj.edge_index
    users = np.unique(np.concatenate([[user], ei[0][into_movies], ei[0][into_users]]))
    movies = np.unique(np.concatenate([[movie], ei[1][into_movies], ei[1][into_users]]))
    lu, lm = _relabel(users), _relabel(movies)
    rates = np.stack([lu(ei[0][into_movies]), lm(ei[1][into_movies])])
    rev = np.stack([lm(ei[1][into_users]), lu(ei[0][into_users])])
    return PairSubgraph(
        users=torch.from_numpy(users),
        movies=torch.from_numpy(movies),
        edge_index_dict={RATES: torch.from_numpy(rates), REV_RATES: torch.from_numpy(rev)},
        edge_ids={RATES: torch.from_numpy(into_movies), REV_RATES: torch.from_numpy(into_users)},
        pair=torch.tensor([[lu(np.array([user]))[0]], [lm(np.array([movie]))[0]]]),
    )


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))])
    return ptr, order


def _gather(ptr: np.ndarray, order: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    if nodes.size == 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.concatenate([order[ptr[n] : ptr[n + 1]] for n in nodes]))


def _relabel(nodes: np.ndarray):  # type: ignore[no-untyped-def]
    def local(global_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(nodes, global_ids).astype(np.int64)

    return local


def whole_graph(adj: Adjacency, user: int, movie: int, num_users: int, num_movies: int) -> PairSubgraph:
    """The full graph in ``PairSubgraph`` form: the reference a pair's subgraph must match (tests, benchmarks)."""
    ei = torch.from_numpy(adj.edge_index)
    ids = torch.arange(ei.shape[1])
    return PairSubgraph(
        users=torch.arange(num_users),
        movies=torch.arange(num_movies),
        edge_index_dict={RATES: ei, REV_RATES: ei.flip(0)},
        edge_ids={RATES: ids, REV_RATES: ids},
        pair=torch.tensor([[user], [movie]]),
    )
