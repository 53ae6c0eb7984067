"""One short run on the real ml-latest-small (skips only when the data is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reelgraph
from reelgraph.data import read_movielens
from reelgraph.options import ModelKind
from trainer.pipeline import run_training
from trainer.report import graph_statistics
from trainer.settings import TrainSettings


@pytest.mark.realdata
def test_train_briefly_on_ml_latest_small_and_load(real_data_dir: Path, tmp_path: Path) -> None:
    settings = TrainSettings(
        data_dir=real_data_dir / "ml-latest-small",
        out_dir=tmp_path,
        epochs=1,
        progress=False,
        models=(ModelKind.LINK, ModelKind.MOVIE_GCN),
    )
    path, results = run_training(settings)
    link = next(r for r in results if r.kind == "link")
    assert link.metrics["e1_test_auc"] > 0.8  # one epoch is already far above chance
    scorer = reelgraph.Scorer.load(path.parent)
    assert scorer.bundle.manifest.data["num_users"] == 610
    assert len(scorer.bundle.manifest.data["genre_names"]) == 20
    rec = scorer.recommend(np.array([1]), k=10)
    assert "(" in scorer.titles(rec.movie_ids[0])[0]


@pytest.mark.realdata
def test_seed_004_graph_statistics(real_data_dir: Path) -> None:
    stats = graph_statistics(read_movielens(real_data_dir / "ml-latest-small"))
    assert stats["nodes (users + rated movies)"] == 610 + 9724
    assert stats["edges (ratings)"] == 100_836
