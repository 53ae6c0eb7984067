"""Link model: will this user rate this movie? ``σ(h_uᵀ W h_m)`` (seed 004)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reelgraph.models.encoder import EncoderConfig, HeteroSageEncoder


class BilinearDecoder(nn.Module):
    """``logit(u, m) = h_uᵀ W h_m + aᵀ h_u + bᵀ h_m + c``.

    The bilinear form of seed 004 on ``[h; 1]``: the affine terms let the
    decoder add a user-activity and a movie-popularity score, which a pure
    ``h_uᵀ W h_m`` cannot. ``W`` starts at the identity (a dot product).
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.eye(hidden))
        self.user_bias = nn.Linear(hidden, 1)
        self.movie_bias = nn.Linear(hidden, 1, bias=False)

    def forward(self, h_user: Tensor, h_movie: Tensor) -> Tensor:
        """Logits for row-aligned user and movie states, shape ``(N,)``."""
        interaction = ((h_user @ self.W) * h_movie).sum(-1)
        return interaction + self.user_bias(h_user).squeeze(-1) + self.movie_bias(h_movie).squeeze(-1)


class LinkModel(nn.Module):
    """Encoder + bilinear decoder; ``forward`` returns logits (apply σ for p)."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.encoder = HeteroSageEncoder(cfg)
        self.decoder = BilinearDecoder(cfg.hidden)
