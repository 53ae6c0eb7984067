"""Model building blocks behave as their equations say."""

from __future__ import annotations

import pytest
import torch

from reelgraph.graphs.hetero import MessageEdges
from reelgraph.models import EncoderConfig, LinkModel, MovieGCN, MovieGCNConfig, RatingModel
from reelgraph.models.encoder import NODE_STATS, node_stats
from reelgraph.models.pair import BilinearDecoder
from reelgraph.models.rating_conv import RatingSAGEConv


def _edges() -> MessageEdges:
    index = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 2]])
    return MessageEdges(index, torch.full((4,), 946_684_800), torch.tensor([5.0, 1.0, 3.0, 4.0]))


def test_decoder_starts_as_dot_product_plus_affine_terms() -> None:
    dec = BilinearDecoder(3, scale=1.0, bias=0.5)
    hu, hm = torch.randn(4, 3), torch.randn(4, 3)
    expected = (hu * hm).sum(-1) + dec.user_bias(hu).squeeze(-1) + dec.movie_bias(hm).squeeze(-1)
    torch.testing.assert_close(dec(hu, hm), expected)
    assert dec.user_bias.bias.item() == 0.5


def test_rating_conv_by_hand() -> None:
    conv = RatingSAGEConv(1, 1, 1)
    for lin, w in ((conv.lin_neighbours, 1.0), (conv.lin_rating, 10.0), (conv.lin_root, 100.0)):
        torch.nn.init.constant_(lin.weight, w)
    torch.nn.init.zeros_(conv.lin_neighbours.bias)
    x_src, x_dst = torch.tensor([[2.0], [4.0]]), torch.tensor([[1.0]])
    out = conv((x_src, x_dst), torch.tensor([[0, 1], [0, 0]]), torch.tensor([5.0, 1.0]))
    # mean x = 3; mean (r-3)·x = (2·2 + (-2)·4)/2 = -2; root 1
    assert out.item() == pytest.approx(3 + 10 * -2 + 100 * 1)


def test_node_stats_columns() -> None:
    stats = node_stats(_edges(), num_users=4, num_movies=3)
    assert stats["user"].shape == (4, len(NODE_STATS))
    user0 = stats["user"][0]
    assert user0[0].item() == pytest.approx(torch.log1p(torch.tensor(2.0)).item())
    assert user0[4].item() == pytest.approx(0.0)  # stars 5 and 1 → mean 3 → centred 0
    assert user0[5].item() == pytest.approx(2.0)
    assert stats["user"][3].abs().sum().item() == 0.0  # no edges → zeros


def test_pair_models_score_pairs() -> None:
    cfg = EncoderConfig(num_users=4, num_movies=3, movie_features=2, hidden=8)
    x = torch.randn(3, 2)
    pairs = torch.tensor([[0, 3], [2, 1]])
    assert LinkModel(cfg)(x, _edges(), pairs).shape == (2,)
    rating_cfg = EncoderConfig(4, 3, 2, hidden=8, rating_messages=True)
    model = RatingModel(rating_cfg, global_mean=3.7)
    assert model(x, _edges(), pairs).shape == (2,)
    with pytest.raises(ValueError, match="edge_rating_dict"):
        model.encoder(model.encoder.input_states(x, node_stats(_edges(), 4, 3)), {})


def test_movie_gcn_shape() -> None:
    model = MovieGCN(MovieGCNConfig(in_features=5, hidden=4))
    out = model(torch.randn(6, 5), torch.tensor([[0, 1], [1, 0]]), torch.ones(2))
    assert out.shape == (6,)
