"""A GraphSAGE layer whose messages depend on the rating of the edge (GC-MC style)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

_CENTER = 3.0  # stars are centred so "no opinion" contributes little to the rating channel


class RatingSAGEConv(MessagePassing):  # type: ignore[misc]  # PyG ships no type stubs
    """``h_i' = W_root h_i + W_n mean_j h_j + W_r mean_j (r_ij − 3) h_j``.

    The second channel lets a user's state say *how* they rated their movies,
    not only which ones, and a movie's state how its raters liked it.
    """

    def __init__(self, in_src: int, in_dst: int, out: int) -> None:
        super().__init__(aggr="mean")
        self.lin_neighbours = nn.Linear(in_src, out)
        self.lin_rating = nn.Linear(in_src, out, bias=False)
        self.lin_root = nn.Linear(in_dst, out, bias=False)

    def forward(self, x: tuple[Tensor, Tensor], edge_index: Tensor, edge_rating: Tensor) -> Tensor:
        """States of the destination nodes, ``(N_dst, out)``."""
        x_src, x_dst = x
        agg = self.propagate(edge_index, x=(x_src, x_dst), rating=edge_rating - _CENTER)
        neighbours, rated = agg.chunk(2, dim=-1)
        out: Tensor = self.lin_neighbours(neighbours) + self.lin_rating(rated) + self.lin_root(x_dst)
        return out

    def message(self, x_j: Tensor, rating: Tensor) -> Tensor:
        """Both channels of one edge's message."""
        return torch.cat([x_j, rating.unsqueeze(-1) * x_j], dim=-1)
