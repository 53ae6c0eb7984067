"""Captum-method results page like the default method's: ``offset`` then at most ``top_k`` per list."""

from __future__ import annotations

from pathlib import Path

from reelgraph.bundle.loader import load_bundle
from reelgraph.jobs.records import ExplainMethod
from worker.explainer import PairExplainer
from worker.result import BundleIds, build_result


def test_captum_lists_page_with_offset(tiny_bundle: Path) -> None:
    bundle = load_bundle(tiny_bundle)
    explainer = PairExplainer(bundle)
    ids = BundleIds(bundle.graph, list(bundle.manifest.data.get("feature_names", [])))
    attr = explainer.attribute(0, 3, ExplainMethod.SALIENCY)
    whole = build_result(explainer, attr, 6, ids)
    first = build_result(explainer, attr, 3, ids)
    second = build_result(explainer, attr, 3, ids, offset=3)
    assert second.offset == 3
    assert first.offset == 0
    for name in ("top_users", "top_movies", "top_ratings"):
        assert getattr(first, name) + getattr(second, name) == getattr(whole, name)
    assert whole.top_ratings_total >= len(whole.top_ratings)
    assert whole.top_users_total == attr.user_attr.shape[0]
    # The checks and the picture are of the strongest top_k whatever the page.
    assert second.fidelity_plus == first.fidelity_plus
    assert second.subgraph_edges == first.subgraph_edges
