"""The serving graph of a bundle, typed: parsed once when the bundle loads.

On disk it is ``graph.safetensors``, flat tensors under the names in
``BundleGraph.to_tensors``; everything after the loader reads the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from reelgraph.errors import BundleError

if TYPE_CHECKING:
    from reelgraph.graphs.hetero import MessageEdges

_REQUIRED = (
    "user_ids",
    "movie_ids",
    "edge_index",
    "edge_time",
    "edge_rating",
    "movie_x",
    "genres",
    "title_bytes",
    "title_offsets",
)
_MOVIE_GCN = "movie_gcn."


@dataclass(frozen=True)
class MovieGCNGraph:
    """Inputs of the movie GCN: the co-rating graph over movies.

    Attributes:
        x: ``(num_movies, F)`` float32 node features.
        edge_index: ``(2, E)`` int64 movie-index pairs.
        edge_weight: ``(E,)`` float32 co-rating weights.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_weight: torch.Tensor


@dataclass(frozen=True)
class BundleGraph:
    """Id maps, rating edges, movie features and titles of a bundle.

    Indices are contiguous (position in ``user_ids`` / ``movie_ids``); ids are
    MovieLens ids.

    Attributes:
        user_ids, movie_ids: MovieLens id of each contiguous index, int64.
        edge_index: ``(2, E)`` int64 (user index, movie index) of every rating.
        edge_time: ``(E,)`` int64 Unix seconds; ``edge_rating``: ``(E,)`` float32 stars.
        movie_x: ``(num_movies, F)`` float32 movie features (genres, year).
        genres: ``(num_movies, G)`` genre indicator matrix (columns: the manifest's ``genre_names``).
        titles: one title per movie index.
        movie_gcn: the movie GCN's inputs, when the bundle has that model.
    """

    user_ids: torch.Tensor
    movie_ids: torch.Tensor
    edge_index: torch.Tensor
    edge_time: torch.Tensor
    edge_rating: torch.Tensor
    movie_x: torch.Tensor
    genres: torch.Tensor
    titles: tuple[str, ...]
    movie_gcn: MovieGCNGraph | None = None

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor], where: str) -> BundleGraph:
        """Parse the flat tensors of ``graph.safetensors``; ``BundleError`` names ``where`` and the key."""
        missing = [k for k in _REQUIRED if k not in tensors]
        if missing:
            raise BundleError(f"{where}: graph lacks {', '.join(missing)}")
        gcn_keys = [f"{_MOVIE_GCN}{k}" for k in ("x", "edge_index", "edge_weight")]
        present = [k in tensors for k in gcn_keys]
        if any(present) and not all(present):
            raise BundleError(f"{where}: graph has only part of {', '.join(gcn_keys)}")
        movie_gcn = MovieGCNGraph(*(tensors[k] for k in gcn_keys)) if all(present) else None
        titles = _titles(tensors["title_bytes"], tensors["title_offsets"], where)
        graph = cls(
            user_ids=tensors["user_ids"],
            movie_ids=tensors["movie_ids"],
            edge_index=tensors["edge_index"],
            edge_time=tensors["edge_time"],
            edge_rating=tensors["edge_rating"],
            movie_x=tensors["movie_x"],
            genres=tensors["genres"],
            titles=titles,
            movie_gcn=movie_gcn,
        )
        graph._check(where)
        return graph

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The flat tensors ``from_tensors`` reads (what ``graph.safetensors`` holds)."""
        encoded = [t.encode() for t in self.titles]
        offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
        out = {
            "user_ids": self.user_ids,
            "movie_ids": self.movie_ids,
            "edge_index": self.edge_index,
            "edge_time": self.edge_time,
            "edge_rating": self.edge_rating,
            "movie_x": self.movie_x,
            "genres": self.genres,
            # safetensors cannot store an empty tensor's data pointer: one padding byte
            "title_bytes": torch.frombuffer(bytearray(b"".join(encoded)) or bytearray(1), dtype=torch.uint8).clone(),
            "title_offsets": torch.from_numpy(offsets),
        }
        if self.movie_gcn is not None:
            g = self.movie_gcn
            out |= {
                f"{_MOVIE_GCN}x": g.x,
                f"{_MOVIE_GCN}edge_index": g.edge_index,
                f"{_MOVIE_GCN}edge_weight": g.edge_weight,
            }
        return out

    @property
    def num_users(self) -> int:
        """Number of user indices."""
        return int(self.user_ids.shape[0])

    @property
    def num_movies(self) -> int:
        """Number of movie indices."""
        return int(self.movie_ids.shape[0])

    def message_edges(self) -> MessageEdges:
        """The rating edges as the encoders take them."""
        from reelgraph.graphs.hetero import MessageEdges  # torch_geometric: only for its users

        return MessageEdges(self.edge_index, self.edge_time, self.edge_rating)

    def _check(self, where: str) -> None:
        n_users, n_movies = self.num_users, self.num_movies
        problems = []
        if self.edge_index.ndim != 2 or self.edge_index.shape[0] != 2:
            problems.append(f"edge_index has shape {list(self.edge_index.shape)}, expected [2, E]")
        else:
            e = self.edge_index.shape[1]
            problems += [
                f"{name} has {t.shape[0] if t.ndim else 0} entries for {e} edges"
                for name, t in (("edge_time", self.edge_time), ("edge_rating", self.edge_rating))
                if t.ndim != 1 or t.shape[0] != e
            ]
        problems += [
            f"{name} has {t.shape[0] if t.ndim else 0} rows for {n_movies} movies"
            for name, t in (("movie_x", self.movie_x), ("genres", self.genres))
            if t.ndim == 0 or t.shape[0] != n_movies
        ]
        if len(self.titles) != n_movies:
            problems.append(f"{len(self.titles)} titles for {n_movies} movies")
        if (
            not problems
            and self.edge_index.numel()
            and (int(self.edge_index[0].max()) >= n_users or int(self.edge_index[1].max()) >= n_movies)
        ):
            problems.append("edge_index names indices past user_ids / movie_ids")
        if problems:
            raise BundleError(f"{where}: inconsistent graph: {'; '.join(problems)}")


def _titles(blob: torch.Tensor, offsets: torch.Tensor, where: str) -> tuple[str, ...]:
    raw, ends = blob.numpy().tobytes(), offsets.numpy()
    if ends.ndim != 1 or (ends.size and (ends[0] != 0 or np.any(np.diff(ends) < 0) or ends[-1] > len(raw))):
        raise BundleError(f"{where}: title_offsets do not index title_bytes")
    try:
        return tuple(raw[ends[i] : ends[i + 1]].decode() for i in range(ends.size - 1))
    except UnicodeDecodeError as exc:
        raise BundleError(f"{where}: a title is not UTF-8: {exc}") from exc
