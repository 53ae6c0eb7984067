"""Captum on the exact computation subgraph: same logit, complete, same attributions as the full graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reelgraph.bundle import load_bundle
from reelgraph.graphs.hetero import RATES, REV_RATES
from reelgraph.jobs.records import ExplainMethod
from reelgraph.models.encoder import EncoderConfig
from reelgraph.models.pair import LinkModel
from worker import batched_ig
from worker.explainer import Attribution, PairExplainer, baseline_logit
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
@pytest.mark.parametrize("batched", [True, False])
def test_integrated_gradients_is_complete(explainer: PairExplainer, u: int, m: int, batched: bool) -> None:
    sub = computation_subgraph(explainer.adjacency, u, m)
    attr = explainer.attribute_on(
        sub, ExplainMethod.INTEGRATED_GRADIENTS, n_steps=500 if batched else 200, batched=batched
    )
    delta = attr.logit - baseline_logit(explainer, attr.subgraph)
    assert attr.total == pytest.approx(delta, rel=0.02, abs=1e-3)


def _assert_same(a: Attribution, b: Attribution) -> None:
    """``b`` may be on a larger graph: compare on ``a``'s nodes and edges; max |Δ| ≤ 1e-5."""
    sub = a.subgraph
    users = torch.searchsorted(b.subgraph.users, sub.users)
    movies = torch.searchsorted(b.subgraph.movies, sub.movies)
    torch.testing.assert_close(a.user_attr, b.user_attr[users], atol=1e-5, rtol=0)
    torch.testing.assert_close(a.movie_attr, b.movie_attr[movies], atol=1e-5, rtol=0)
    for et in (RATES, REV_RATES):
        position = {int(e): i for i, e in enumerate(b.subgraph.edge_ids[et])}
        rows = torch.tensor([position[int(e)] for e in sub.edge_ids[et]], dtype=torch.long)
        torch.testing.assert_close(a.edge_attr[et], b.edge_attr[et][rows], atol=1e-5, rtol=0)
        outside = torch.ones_like(b.edge_attr[et], dtype=torch.bool)
        outside[rows] = False
        if outside.any():  # edges outside the computation subgraph do not matter
            assert b.edge_attr[et][outside].abs().max().item() <= 1e-6


@pytest.mark.parametrize(("u", "m"), PAIRS[1:])
def test_subgraph_attributions_equal_the_seed_style_full_graph_run(explainer: PairExplainer, u: int, m: int) -> None:
    cfg = explainer.model.cfg
    full = whole_graph(explainer.adjacency, u, m, cfg.num_users, cfg.num_movies)
    seed_style = explainer.attribute_on(full, n_steps=50, batched=False)  # CaptumExplainer, step by step
    batched = explainer.attribute(u, m, n_steps=50)  # the worker's default path
    assert batched.logit == pytest.approx(seed_style.logit, abs=1e-5)
    _assert_same(batched, seed_style)
    _assert_same(explainer.attribute_on(batched.subgraph, n_steps=50, batched=False), seed_style)


@pytest.mark.parametrize("n_steps", [1, 7, 64])
def test_batched_ig_equals_captum_for_any_step_count(explainer: PairExplainer, n_steps: int) -> None:
    sub = computation_subgraph(explainer.adjacency, 10, 25)
    _assert_same(
        explainer.attribute_on(sub, n_steps=n_steps), explainer.attribute_on(sub, n_steps=n_steps, batched=False)
    )


def test_models_outside_the_batched_algebra_fall_back_to_captum(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    assert batched_ig.supported(PairExplainer(bundle).model)
    cfg = EncoderConfig(**{**bundle.manifest.models["link"].config, "layers": 3})
    assert not batched_ig.supported(LinkModel(cfg))
    cfg = EncoderConfig(**{**bundle.manifest.models["link"].config, "rating_messages": True})
    assert not batched_ig.supported(LinkModel(cfg))


@pytest.mark.parametrize("method", [m for m in ExplainMethod if m is not ExplainMethod.RANKING])
def test_every_captum_method_runs(explainer: PairExplainer, method: ExplainMethod) -> None:
    attr = explainer.attribute(3, 7, method, n_steps=10)
    assert attr.user_attr.shape[0] == attr.subgraph.users.numel()
    assert torch.isfinite(attr.edge_attr[RATES]).all()


def test_steps_in_many_chunks_give_the_same_attributions(
    explainer: PairExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = computation_subgraph(explainer.adjacency, 3, 7)
    whole = explainer.attribute_on(sub, n_steps=40)
    monkeypatch.setattr(batched_ig, "STEP_CHUNK_ELEMENTS", 1)  # one step per chunk
    _assert_same(explainer.attribute_on(sub, n_steps=40), whole)
