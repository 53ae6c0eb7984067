"""The content model fitted on tiny constructed data, served through a real bundle.

Two taste groups: odd users rate mostly Comedy (5 stars), even users mostly
Drama (5 stars), each rating a few movies of the other genre low.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelgraph.errors import ModelUnavailableError, UnknownIdsError
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from reelgraph.tensors import InvalidRequestError
from tests.movielens_fixtures import Tiny, write_csv_layout
from trainer.content import per_movie_auc
from trainer.hyper import ContentHyper, RankingHyper
from trainer.pipeline import run_training
from trainer.settings import TrainSettings

_HYPER = ContentHyper(
    ridge=(1.0, 10.0),
    title_weight=(0.0, 1.0),
    tag_weight=(0.0, 1.0),
    activity=(0.0,),
    mean_ridge=(1.0,),
    user_ridge=(3.0,),
    title_dim=32,
    tag_dim=32,
    val_min_ratings=3,
    val_fraction=0.2,
)


def _taste_groups(n_users: int = 30, n_movies: int = 40, seed: int = 0) -> Tiny:
    rng = np.random.default_rng(seed)
    movies = []
    for i in range(n_movies):
        genre = "Comedy" if i % 2 else "Drama"
        movies.append((100 + i, f"{genre} Story {i} ({1985 + i % 30})", [genre]))
    ratings = []
    for u in range(1, n_users + 1):
        own = [i for i in range(n_movies) if (i % 2 == 1) == (u % 2 == 1)]
        other = [i for i in range(n_movies) if i not in own]
        for i in rng.choice(own, 12, replace=False):
            ratings.append((u, 100 + int(i), 5.0, 1_000_000_000 + int(i)))
        for i in rng.choice(other, 2, replace=False):
            ratings.append((u, 100 + int(i), 2.0, 1_000_000_000 + int(i)))
    return Tiny(ratings, movies)


@pytest.fixture(scope="module")
def content_scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    """A real bundle holding only the content model, with a tags.csv beside the ratings."""
    root = tmp_path_factory.mktemp("content")
    data = write_csv_layout(root / "groups", _taste_groups())
    (data / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,101,laugh out loud,1\n2,100,tearjerker,2\n")
    settings = TrainSettings(
        data_dir=data, out_dir=root / "bundles", models=(ModelKind.CONTENT,), progress=False, content=_HYPER
    )
    path, (result,) = run_training(settings)
    assert result.metrics["val_movies"] > 0
    return Scorer.load(path)


def test_a_new_movie_ranks_high_for_users_whose_history_favours_its_genre(content_scorer: Scorer) -> None:
    odd, even = np.arange(1, 31, 2), np.arange(2, 31, 2)
    p_odd = content_scorer.link_probability_new_movie(odd, ["Comedy"], 2001, "A Brand New Comedy")
    p_even = content_scorer.link_probability_new_movie(even, ["Comedy"], 2001, "A Brand New Comedy")
    assert p_odd.dtype == np.float32
    assert np.all((p_odd > 0) & (p_odd < 1))
    assert p_odd.min() > p_even.max()
    top = content_scorer.audience_new_movie(["Drama"], 1999, k=10)
    assert top.user_ids.shape == top.probabilities.shape == (10,)
    assert np.all(top.user_ids % 2 == 0)
    assert np.all(np.diff(top.probabilities) <= 0)


def test_star_predictions_follow_the_groups_and_stay_in_range(content_scorer: Scorer) -> None:
    users = np.arange(1, 31)
    stars = content_scorer.predict_rating_new_movie(users, ["Comedy"], 2001)
    assert stars.dtype == np.float32
    assert np.all((stars >= 0.5) & (stars <= 5.0))
    assert stars[users % 2 == 1].mean() > stars[users % 2 == 0].mean() + 1.0
    mean = content_scorer.movie_mean_rating_new_movie(["Comedy"], 2001, "Something")
    assert isinstance(mean, float)
    assert 2.0 <= mean <= 5.0


def test_content_requests_are_checked(content_scorer: Scorer) -> None:
    with pytest.raises(InvalidRequestError, match=r"unknown genre.*'Western'.*valid: .*Comedy"):
        content_scorer.link_probability_new_movie(np.array([1]), ["Western"])
    with pytest.raises(InvalidRequestError, match="year"):
        content_scorer.movie_mean_rating_new_movie(["Comedy"], year=1850)
    with pytest.raises(InvalidRequestError, match="title"):
        content_scorer.predict_rating_new_movie(np.array([1]), ["Comedy"], title=" ")
    with pytest.raises(UnknownIdsError, match="unknown user ids: 999"):
        content_scorer.link_probability_new_movie(np.array([1, 999]), ["Comedy"])
    with pytest.raises(ValueError, match="k must be"):
        content_scorer.audience_new_movie(["Comedy"], k=0)


def test_tags_and_titles_reach_the_features(content_scorer: Scorer) -> None:
    head = content_scorer.content
    plain = head.features(["Comedy"], 2001)
    tagged = head.features(["Comedy"], 2001, "Laugh Riot", ("laugh out loud",))
    assert head.cfg.tag_dim == 32
    assert not np.array_equal(plain, tagged)


def test_the_default_bundle_has_it_and_one_without_says_so(tiny_bundle: Path, tmp_path: Path) -> None:
    assert Scorer.load(tiny_bundle).movie_mean_rating_new_movie(["Comedy"], 1999) > 0
    data = write_csv_layout(tmp_path / "groups", _taste_groups())
    ranking = RankingHyper(ridge=(10.0,), edges_per_movie=(64,), star_slope=(0.0,), popularity=(0.0,))
    settings = TrainSettings(
        data_dir=data, out_dir=tmp_path / "b", models=(ModelKind.RANKING,), progress=False, ranking=ranking
    )
    path, _ = run_training(settings)
    with pytest.raises(ModelUnavailableError, match="no content model"):
        Scorer.load(path).movie_mean_rating_new_movie(["Comedy"])


def test_per_movie_auc_counts_ties_half_and_skips_single_class_rows() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [1.0, 2.0, 3.0, 4.0]])
    labels = np.array([[0, 1, 1, 0], [0, 0, 0, 0]], dtype=float)
    auc = per_movie_auc(scores, labels)
    assert auc[0] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert np.isnan(auc[1])
