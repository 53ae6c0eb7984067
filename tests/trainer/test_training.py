"""A few epochs on tiny data lower each model's loss and produce sane metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reelgraph.data import read_movielens
from reelgraph.graphs import build_rating_graph
from reelgraph.models.pair import RatingModel
from trainer.hyper import LinkHyper, MovieGCNHyper, RatingHyper
from trainer.link import train_link
from trainer.movie_gcn import train_movie_gcn
from trainer.progress import Progress
from trainer.rating import external_test, train_rating
from trainer.sampling import sampler_available

CPU = torch.device("cpu")
QUIET = Progress(enabled=False)


def test_link_training_lowers_loss(tiny_csv: Path) -> None:
    rg = build_rating_graph(read_movielens(tiny_csv))
    hp = LinkHyper(epochs=8, patience=100, batch_size=64, lr=1e-2)
    result = train_link(rg, hp, seed=0, device=CPU, progress=QUIET)
    assert result.curve.loss[-1] < result.curve.loss[0]
    assert 0.0 <= result.metrics["e1_test_auc"] <= 1.0
    assert len(result.curve.loss) == 8


def test_rating_training_lowers_loss_and_uses_test_file(tiny_100k: Path) -> None:
    rg = build_rating_graph(read_movielens(tiny_100k, "u1.base"))
    test, coverage = external_test(rg, read_movielens(tiny_100k, "u1.test"))
    assert 0.0 < coverage <= 1.0
    assert test.pairs.shape[1] == test.stars.numel()
    hp = RatingHyper(epochs=8, patience=100, batch_size=32, lr=1e-2)
    result = train_rating(rg, test, hp, seed=0, device=CPU, progress=QUIET)
    assert result.curve.loss[-1] < result.curve.loss[0]
    assert 0.0 < result.metrics["test_rmse"] < 4.5
    # The test file is not in the graph: the figure is the served (refitted) model's.
    assert result.metrics["test_rmse_is_served_model"] == 1.0
    assert "test_rmse_before_refit" in result.metrics
    model = result.model
    assert isinstance(model, RatingModel)
    assert model.autoencoder is not None
    e = rg.message_edges()
    assert result.hyperparameters["global_mean"] == pytest.approx(float(e.rating.mean()))  # refit on every rating


def test_movie_gcn_training_lowers_loss(tiny_csv: Path) -> None:
    data = read_movielens(tiny_csv)
    rg = build_rating_graph(data)
    hp = MovieGCNHyper(epochs=30, patience=1000)
    result = train_movie_gcn(data, rg, hp, seed=0, device=CPU, progress=QUIET)
    assert result.curve.loss[-1] < result.curve.loss[0]
    assert result.metrics["e4_global_mean_mse"] > 0
    assert set(result.extra_graph) == {"movie_gcn.x", "movie_gcn.edge_index", "movie_gcn.edge_weight"}


def test_training_is_deterministic_under_a_seed(tiny_csv: Path) -> None:
    rg = build_rating_graph(read_movielens(tiny_csv))
    hp = LinkHyper(epochs=2, patience=100, batch_size=64)
    a = train_link(rg, hp, seed=3, device=CPU, progress=QUIET)
    b = train_link(rg, hp, seed=3, device=CPU, progress=QUIET)
    assert a.curve.loss == b.curve.loss
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert ka == kb
        assert torch.equal(va, vb)


def test_sampling_choice_is_validated(tiny_csv: Path) -> None:
    from reelgraph.errors import InvalidOptionError
    from trainer.sampling import Sampling, choose

    assert choose(Sampling.FULL, 10**9) is Sampling.FULL
    assert choose(Sampling.AUTO, 100) is Sampling.FULL
    if not sampler_available():
        with pytest.raises(InvalidOptionError, match="make install-sampling"):
            choose(Sampling.NEIGHBOR, 100)
    with pytest.raises(InvalidOptionError, match="invalid sampling 'bogus'"):
        train_link(build_rating_graph(read_movielens(tiny_csv)), LinkHyper(sampling="bogus"), 0, CPU, QUIET)


@pytest.mark.skipif(
    not sampler_available(),
    reason="neighbour sampling needs torch-sparse: run `make install-sampling` (CI does)",
)
def test_neighbour_sampled_link_training_lowers_loss(tiny_csv: Path) -> None:
    rg = build_rating_graph(read_movielens(tiny_csv))
    hp = LinkHyper(epochs=8, patience=100, batch_size=64, lr=1e-2, sampling="neighbor", num_neighbors=(5, 3))
    result = train_link(rg, hp, seed=0, device=CPU, progress=QUIET)
    assert result.curve.loss[-1] < result.curve.loss[0]
    assert result.hyperparameters["sampling"] == "neighbor"


def test_e1_split_is_reproducible(tiny_csv: Path) -> None:
    from trainer.link import e1_split

    rg = build_rating_graph(read_movielens(tiny_csv))
    a, b = e1_split(rg, seed=5), e1_split(rg, seed=5)
    assert torch.equal(a.val_pairs, b.val_pairs)
    assert torch.equal(a.test_pairs, b.test_pairs)
    assert not torch.equal(a.test_pairs, e1_split(rg, seed=6).test_pairs)
