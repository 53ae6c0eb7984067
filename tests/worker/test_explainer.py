"""Captum on the exact computation subgraph: same logit, complete, same attributions as the full graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reelgraph.bundle import load_bundle
from reelgraph.graphs.hetero import RATES, REV_RATES
from worker.explainer import Method, PairExplainer, baseline_logit
from worker.subgraph import computation_subgraph, whole_graph

PAIRS = [(0, 0), (3, 7), (10, 25), (23, 29)]


@pytest.fixture(scope="module")
def explainer(tiny_bundle: Path) -> PairExplainer:
    return PairExplainer(load_bundle(tiny_bundle))


@pytest.mark.parametrize(("u", "m"), PAIRS)
def test_subgraph_gives_the_full_graph_logit(explainer: PairExplainer, u: int, m: int) -> None:
    assert explainer.logit(u, m) == pytest.approx(explainer.logit(u, m, full_graph=True), abs=1e-5)


def test_subgraph_holds_only_edges_into_the_receptive_field(explainer: PairExplainer) -> None:
    sub = computation_subgraph(explainer.adjacency, 3, 7)
    ei = explainer.adjacency.edge_index
    n_u = set(ei[1][ei[0] == 3].tolist())
    n_m = set(ei[0][ei[1] == 7].tolist())
    movies_in = set(sub.movies[sub.edge_index_dict[RATES][1]].tolist())
    users_in = set(sub.users[sub.edge_index_dict[REV_RATES][1]].tolist())
    assert movies_in <= n_u | {7}
    assert users_in <= n_m | {3}
    expected = int(np.isin(ei[1], list(n_u | {7})).sum())
    assert sub.edge_index_dict[RATES].shape[1] == expected


@pytest.mark.parametrize(("u", "m"), PAIRS)
def test_integrated_gradients_is_complete(explainer: PairExplainer, u: int, m: int) -> None:
    attr = explainer.attribute(u, m, Method.INTEGRATED_GRADIENTS, n_steps=500)
    delta = attr.logit - baseline_logit(explainer, attr.subgraph)
    assert attr.total == pytest.approx(delta, rel=0.02, abs=1e-3)


def test_subgraph_attributions_equal_full_graph(explainer: PairExplainer) -> None:
    u, m = 3, 7
    cfg = explainer.model.cfg
    sub_attr = explainer.attribute(u, m, n_steps=50)
    full_attr = explainer.attribute_on(
        whole_graph(explainer.adjacency, u, m, cfg.num_users, cfg.num_movies), n_steps=50
    )
    sub = sub_attr.subgraph
    torch.testing.assert_close(sub_attr.user_attr, full_attr.user_attr[sub.users], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(sub_attr.movie_attr, full_attr.movie_attr[sub.movies], atol=1e-5, rtol=1e-4)
    for et in (RATES, REV_RATES):
        full = full_attr.edge_attr[et]
        torch.testing.assert_close(sub_attr.edge_attr[et], full[sub.edge_ids[et]], atol=1e-5, rtol=1e-4)
        outside = torch.ones_like(full, dtype=torch.bool)
        outside[sub.edge_ids[et]] = False
        assert full[outside].abs().max().item() <= 1e-6  # edges outside the field do not matter


@pytest.mark.parametrize("method", list(Method))
def test_every_method_runs(explainer: PairExplainer, method: Method) -> None:
    attr = explainer.attribute(3, 7, method, n_steps=10)
    assert attr.user_attr.shape[0] == attr.subgraph.users.numel()
    assert torch.isfinite(attr.edge_attr[RATES]).all()
