"""Pair models: a hetero GNN encoder and a bilinear decoder over (user, movie).

* ``LinkModel`` — will the user rate the movie? ``p = σ(h_uᵀ W h_m + …)`` (seed 004).
* ``RatingModel`` — how many stars? ``r̂ = h_uᵀ W h_m + aᵀh_u + bᵀh_m + μ``,
  with rating-aware messages.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reelgraph.graphs.hetero import MessageEdges
from reelgraph.models.encoder import EncoderConfig, HeteroSageEncoder, full_states
from reelgraph.models.item_autoencoder import ItemAutoencoder

MIN_STARS, MAX_STARS = 0.5, 5.0


class BilinearDecoder(nn.Module):
    """``out(u, m) = h_uᵀ W h_m + aᵀ h_u + bᵀ h_m + c``.

    The bilinear form of seed 004 on ``[h; 1]``: the affine terms let the
    decoder add a per-user and a per-movie score (activity, popularity,
    leniency), which a pure ``h_uᵀ W h_m`` cannot. ``W`` starts at ``scale·I``.
    """

    def __init__(self, hidden: int, scale: float = 1.0, bias: float = 0.0) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.eye(hidden) * scale)
        self.user_bias = nn.Linear(hidden, 1)
        self.movie_bias = nn.Linear(hidden, 1, bias=False)
        nn.init.constant_(self.user_bias.bias, bias)

    def forward(self, h_user: Tensor, h_movie: Tensor) -> Tensor:
        """Scores for row-aligned user and movie states, shape ``(N,)``."""
        interaction = ((h_user @ self.W) * h_movie).sum(-1)
        out: Tensor = interaction + self.user_bias(h_user).squeeze(-1) + self.movie_bias(h_movie).squeeze(-1)
        return out


class PairModel(nn.Module):
    """Encoder + decoder; subclasses say what the score means."""

    def __init__(self, cfg: EncoderConfig, decoder_scale: float = 1.0, bias: float = 0.0) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = HeteroSageEncoder(cfg)
        self.decoder = BilinearDecoder(cfg.hidden, decoder_scale, bias)

    def encode(self, movie_x: Tensor, edges: MessageEdges, degree_scale: float = 1.0) -> dict[str, Tensor]:
        """States of every user and movie given the message ``edges``."""
        return full_states(self.encoder, movie_x, edges, degree_scale)

    def forward(self, movie_x: Tensor, edges: MessageEdges, pairs: Tensor, degree_scale: float = 1.0) -> Tensor:
        """Raw scores of ``pairs`` (``(2, N)`` user, movie indices)."""
        h = self.encode(movie_x, edges, degree_scale)
        out: Tensor = self.decoder(h["user"][pairs[0]], h["movie"][pairs[1]])
        return out


class LinkModel(PairModel):
    """Scores are logits of "the user rates the movie"; ``σ`` gives the probability."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__(cfg)


class RatingModel(PairModel):
    """Scores are stars; ``clamp`` them to 0.5–5 when serving.

    Served stars are ``(1 − β)·GNN + β·autoencoder`` when an item autoencoder
    is attached (``reelgraph.models.item_autoencoder``; its config holds ``β``);
    ``forward`` is the GNN term alone (what the GNN trains on).
    """

    autoencoder: ItemAutoencoder | None

    def __init__(self, cfg: EncoderConfig, global_mean: float = 3.5, decoder_scale: float = 0.1) -> None:
        # A small W at the start keeps early predictions near the mean (stable MSE).
        super().__init__(cfg, decoder_scale=decoder_scale, bias=global_mean)
        self.autoencoder = None

    def attach_autoencoder(self, autoencoder: ItemAutoencoder) -> None:
        """Add the item-autoencoder term (its weights then travel in this model's state dict)."""
        self.autoencoder = autoencoder
