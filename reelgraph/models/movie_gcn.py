"""Movie GCN: regress a movie's mean rating on the co-rating graph (neighbours help movies with few ratings)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch_geometric.nn import GCNConv

from reelgraph.configs import DictForm


@dataclass(frozen=True)
class MovieGCNConfig(DictForm):
    """Sizes of the movie GCN; stored in the bundle manifest.

    Attributes:
        in_features: width of the movie input features.
        hidden: hidden width (default 64).
        dropout: dropout on hidden states during training (default 0.2).
    """

    in_features: int
    hidden: int = 64
    dropout: float = 0.2


class MovieGCN(nn.Module):
    """``ŷ = μ + GCN₂(relu(GCN₁(x, Â)), Â) + wᵀx`` with ``Â`` the co-rating graph.

    ``Â`` is the symmetrically normalised co-rating adjacency with self-loops,
    weighted by shared users; the linear skip keeps isolated movies sensible.
    """

    def __init__(self, cfg: MovieGCNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # cached: one fixed co-rating graph per model, so normalise it once.
        self.conv1 = GCNConv(cfg.in_features, cfg.hidden, cached=True)
        self.conv2 = GCNConv(cfg.hidden, 1, cached=True)
        self.skip = nn.Linear(cfg.in_features, 1)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        """Predicted mean rating per movie, shape ``(N,)`` (μ lives in ``skip.bias``)."""
        h = self.conv1(x, edge_index, edge_weight).relu()
        h = nn.functional.dropout(h, self.cfg.dropout, self.training)
        out: Tensor = self.conv2(h, edge_index, edge_weight).squeeze(-1) + self.skip(x).squeeze(-1)
        return out
