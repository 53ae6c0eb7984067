"""Heterogeneous GraphSAGE encoder over the user–movie graph (shared by the link and rating models)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.nn import HeteroConv, SAGEConv

from reelgraph.configs import DictForm
from reelgraph.graphs.features import decades_since_2000
from reelgraph.graphs.hetero import RATES, REV_RATES, MessageEdges
from reelgraph.models.rating_conv import RatingSAGEConv

EdgeType = tuple[str, str, str]


@dataclass(frozen=True)
class EncoderConfig(DictForm):
    """Sizes of the encoder; stored in the bundle manifest.

    Attributes:
        num_users, num_movies: node counts (ID embedding rows).
        movie_features: width of the movie feature vector.
        hidden: embedding width (default 64).
        layers: message-passing rounds (default 2).
        dropout: dropout between layers during training (default 0.0).
        rating_messages: messages carry the edge's stars (``RatingSAGEConv``);
            off for the link model, which predicts whether, not how, a user rates.
    """

    num_users: int
    num_movies: int
    movie_features: int
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.0
    rating_messages: bool = False


class HeteroSageEncoder(nn.Module):
    """``h = SAGE_L ∘ … ∘ SAGE_1 (x)`` on users and movies.

    Input node states: users use their ID embedding; movies use
    ``W_f · features + ID embedding``, so a movie without ratings still gets a
    state from its genres and year (cold start).
    """

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.user_emb = nn.Embedding(cfg.num_users, cfg.hidden)
        self.movie_emb = nn.Embedding(cfg.num_movies, cfg.hidden)
        self.movie_lin = nn.Linear(cfg.movie_features, cfg.hidden)
        # Activity/popularity and rating-time stats (``node_stats``) enter additively.
        self.user_stats = nn.Linear(len(NODE_STATS), cfg.hidden)
        self.movie_stats = nn.Linear(len(NODE_STATS), cfg.hidden)
        conv = RatingSAGEConv if cfg.rating_messages else _sage
        self.convs = nn.ModuleList(
            HeteroConv({et: conv(cfg.hidden, cfg.hidden, cfg.hidden) for et in (RATES, REV_RATES)}, aggr="sum")
            for _ in range(cfg.layers)
        )
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.movie_emb.weight, std=0.1)

    def input_states(
        self,
        movie_x: Tensor,
        stats: dict[str, Tensor],
        user_ids: Tensor | None = None,
        movie_ids: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Layer-0 states ``x_u = E_u + S_u s_u`` and ``x_m = W_f f_m + E_m + S_m s_m``.

        ``stats`` holds the structural features ``s`` per node type (``node_stats``);
        ``*_ids`` select embedding rows for a subgraph (default: all nodes).
        """
        users = self.user_emb.weight if user_ids is None else self.user_emb(user_ids)
        movie_emb = self.movie_emb.weight if movie_ids is None else self.movie_emb(movie_ids)
        return {
            "user": users + self.user_stats(stats["user"]),
            "movie": self.movie_lin(movie_x) + movie_emb + self.movie_stats(stats["movie"]),
        }

    def forward(
        self,
        x_dict: dict[str, Tensor],
        edge_index_dict: dict[EdgeType, Tensor],
        edge_rating_dict: dict[EdgeType, Tensor] | None = None,
    ) -> dict[str, Tensor]:
        """Message passing from layer-0 states ``x_dict`` (see ``input_states``).

        ``edge_rating_dict`` (stars per edge) is required when
        ``cfg.rating_messages`` is on and ignored otherwise.
        """
        kwargs = {}
        if self.cfg.rating_messages:
            if edge_rating_dict is None:
                raise ValueError("this encoder passes ratings in messages: give edge_rating_dict")
            kwargs["edge_rating_dict"] = edge_rating_dict
        h = x_dict
        for i, conv in enumerate(self.convs):
            h = conv(h, edge_index_dict, **kwargs)
            if i < len(self.convs) - 1:
                h = {k: nn.functional.dropout(v.relu(), self.cfg.dropout, self.training) for k, v in h.items()}
        return h


def layer_inputs(encoder: HeteroSageEncoder, movie_x: Tensor, edges: MessageEdges) -> list[Tensor]:
    """Every movie's input state to each layer (layer 0: ``input_states``), in eval mode."""
    stats = node_stats(edges, encoder.cfg.num_users, encoder.cfg.num_movies)
    h = encoder.input_states(movie_x, stats)
    message, ratings = message_edges(edges.edge_index), edge_ratings(edges.rating)
    kwargs = {"edge_rating_dict": ratings} if encoder.cfg.rating_messages else {}
    out = [h["movie"]]
    for conv in encoder.convs[:-1]:
        h = {k: v.relu() for k, v in conv(h, message, **kwargs).items()}
        out.append(h["movie"])
    return out


def _sage(in_src: int, in_dst: int, out: int) -> SAGEConv:
    return SAGEConv((in_src, in_dst), out)


def message_edges(edge_index: Tensor) -> dict[EdgeType, Tensor]:
    """Both directions of user→movie edges, as the encoder expects them."""
    return {RATES: edge_index, REV_RATES: edge_index.flip(0)}


def edge_ratings(rating: Tensor) -> dict[EdgeType, Tensor]:
    """Stars of both edge directions, aligned with ``message_edges``."""
    return {RATES: rating, REV_RATES: rating}


NODE_STATS = ("log_degree", "time_mean", "time_min", "time_max", "rating_mean", "rating_std")


def node_stats(edges: MessageEdges, num_users: int, num_movies: int, scale: float = 1.0) -> dict[str, Tensor]:
    """Structural node features from the message edges, ``(N, 6)`` float32 per type.

    Columns (``NODE_STATS``): ``log(1 + scale·degree)``; the mean, min and max
    rating time in decades since 2000; the mean and standard deviation of the
    stars minus 3. Nodes without edges get 0. Activity, time and rating level
    carry much of who-rates-what and how, and mean aggregation loses them.
    Training passes ``scale = all edges / message edges`` so degrees match
    serving time.
    """
    t = decades_since_2000(edges.time.double())
    r = edges.rating.double() - 3.0
    return {
        "user": _stats(edges.edge_index[0], t, r, num_users, scale),
        "movie": _stats(edges.edge_index[1], t, r, num_movies, scale),
    }


def _stats(index: Tensor, t: Tensor, r: Tensor, n: int, scale: float) -> Tensor:
    def zeros() -> Tensor:
        return torch.zeros(n, dtype=torch.float64, device=index.device)

    deg = zeros().index_add_(0, index, torch.ones_like(t))
    denom = deg.clamp(min=1)
    t_mean = zeros().index_add_(0, index, t) / denom
    lo = torch.full((n,), torch.inf, dtype=torch.float64, device=index.device).scatter_reduce(0, index, t, "amin")
    hi = torch.full((n,), -torch.inf, dtype=torch.float64, device=index.device).scatter_reduce(0, index, t, "amax")
    r_mean = zeros().index_add_(0, index, r) / denom
    r_var = zeros().index_add_(0, index, r * r) / denom - r_mean**2
    has = deg > 0
    lo, hi = torch.where(has, lo, 0.0), torch.where(has, hi, 0.0)
    cols = [(deg * scale).log1p(), t_mean, lo, hi, r_mean, r_var.clamp(min=0).sqrt()]
    return torch.stack(cols, 1).float()


def full_states(
    encoder: HeteroSageEncoder, movie_x: Tensor, edges: MessageEdges, degree_scale: float = 1.0
) -> dict[str, Tensor]:
    """Encode every node over the message ``edges``."""
    stats = node_stats(edges, encoder.cfg.num_users, encoder.cfg.num_movies, degree_scale)
    states: dict[str, Tensor] = encoder(
        encoder.input_states(movie_x, stats), message_edges(edges.edge_index), edge_ratings(edges.rating)
    )
    return states
