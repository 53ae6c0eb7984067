"""The default explanation through a real worker object and real Redis: capped, paged, plotted."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import reelgraph
from reelgraph.jobs.records import ExplainRequest, ExplanationResult
from worker.runner import Worker

Explain = Callable[[ExplainRequest], ExplanationResult]


def _heavy_user(bundles: Path) -> tuple[int, int]:
    """The user with the most ratings and their top recommendation."""
    scorer = reelgraph.Scorer.load(bundles / "tiny")
    counts = np.diff(scorer.histories.indptr)
    user = int(scorer.users.raw(np.array([int(np.argmax(counts))]))[0])
    return user, int(scorer.recommend(np.array([user]), k=1).movie_ids[0, 0])


def test_the_default_result_is_capped_and_pages(explain: Explain, bundles: Path) -> None:
    user, movie = _heavy_user(bundles)
    first = explain(ExplainRequest("tiny", "1", user, movie, top_k=2))
    assert first.method == "Ranking"
    assert len(first.because_you_rated) == 2  # capped at top_k
    assert first.because_you_rated_total > 2  # more exist
    assert len(first.co_raters) <= 2
    assert len(first.chains) == 2
    assert first.sentence.startswith("Recommended because you rated")
    assert first.logit_fidelity.k == 2
    assert first.logit_fidelity.deletion_drop == pytest.approx(sum(r.score for r in first.because_you_rated), 1e-3)
    nxt = explain(ExplainRequest("tiny", "1", user, movie, top_k=2, offset=2))
    assert nxt.offset == 2
    assert 1 <= len(nxt.because_you_rated) <= 2
    whole = explain(ExplainRequest("tiny", "1", user, movie, top_k=4))
    assert [r.movie_id for r in whole.because_you_rated] == [
        r.movie_id for r in first.because_you_rated + nxt.because_you_rated
    ]
    assert len(first.to_json()) < 4_000  # small: no per-rating dump


def test_ranking_plots_render(explain: Explain, bundles: Path) -> None:
    from PIL import Image

    user, movie = _heavy_user(bundles)
    r = explain(ExplainRequest("tiny", "1", user, movie, top_k=5, want_plots=True))
    assert set(r.pngs) == {"attributions.png", "subgraph.png"}
    for data in r.pngs.values():
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.width > 400
        assert image.height > 250


def test_a_captum_method_still_answers(explain: Explain) -> None:
    r = explain(ExplainRequest("tiny", "1", 1, 10, method="Saliency", top_k=3))
    assert r.method == "Saliency"
    assert len(r.top_users) == 3
    assert len(r.subgraph_edges) <= 3  # capped too


def test_a_global_explanation_sums_the_drivers_of_many_recommendations(worker: Worker, explain: Explain) -> None:
    request = ExplainRequest("tiny", "1", 0, 0, top_k=4, global_sample=3, global_recommendations=2, want_plots=True)
    job, _ = worker.queue.submit(request)
    r = worker.explain(request, job)
    s = r.global_summary
    assert s is not None
    assert s.users == 3
    assert s.pairs == 6
    assert 1 <= len(s.movies) <= 4
    assert s.movies == sorted(s.movies, key=lambda d: -d.share)
    assert s.genres
    assert all(d.name.endswith("0s") for d in s.years)
    assert sum(d.count for d in s.recommended_genres) >= 1
    assert s.mean_deletion_drop > s.mean_random_drop
    assert r.sentence.startswith("Across 6 recommendations to 3 users")
    assert set(r.pngs) == {"global.png"}
    fractions = [e.fraction for _, e in worker.queue.events(job) if e.kind == "progress"]
    assert len(fractions) >= 3
    assert fractions == sorted(fractions)
    assert ExplanationResult.from_json(r.to_json()) == r
