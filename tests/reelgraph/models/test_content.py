"""Content features of a movie from its catalogue row, and the request checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reelgraph.errors import InvalidRequestError
from reelgraph.models.content import (
    ContentConfig,
    ContentHead,
    ContentModel,
    check_content,
    content_matrix,
    genre_base,
    hashed_bag,
    title_words,
    words,
    year_basis,
    year_knots_until,
)

GENRES = ("Action", "Comedy", "Drama")


def test_words_are_lower_case_letters_and_digits_and_titles_lose_their_year() -> None:
    assert words(["Sci-fi, space_opera!", "R2D2"]) == ["sci", "fi", "space", "opera", "r2d2"]
    assert title_words("Toy Story 2 (1999)") == ["toy", "story", "2"]


def test_hashed_bag_is_deterministic_unit_length_and_empty_for_no_words() -> None:
    a, b = hashed_bag(["star", "wars", "star"], 64), hashed_bag(["star", "wars", "star"], 64)
    np.testing.assert_array_equal(a, b)  # CRC-32, not Python's salted hash
    assert np.linalg.norm(a) == pytest.approx(1.0)
    assert a.max() == pytest.approx(2 / np.sqrt(5))
    assert not hashed_bag([], 64).any()


def test_year_basis_interpolates_between_knots_clamps_and_flags_missing() -> None:
    out = year_basis(np.array([1990.0, 1992.5, 1800.0, 2050.0, np.nan]), (1980.0, 1990.0, 1995.0))
    np.testing.assert_allclose(out[0], [0, 1, 0, 0])
    np.testing.assert_allclose(out[1], [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(out[2], [1, 0, 0, 0])
    np.testing.assert_allclose(out[3], [0, 0, 1, 0])
    np.testing.assert_allclose(out[4], [0, 0, 0, 1])


def test_content_matrix_layout_and_block_weights() -> None:
    cfg = ContentConfig(num_users=3, genre_names=GENRES, title_dim=8, tag_dim=4, title_weight=0.5, tag_weight=0.0)
    F = content_matrix(cfg, np.array([[0, 1, 1]]), np.array([1999.0]), ["Heat (1995)"], [["slow burn"]])
    assert F.shape == (1, cfg.dim) == (1, 1 + 3 + len(cfg.year_knots) + 1 + 8 + 4)
    assert F[0, 0] == 1.0
    np.testing.assert_array_equal(F[0, 1:4], [0, 1, 1])
    title = F[0, cfg.base_dim : cfg.base_dim + 8]
    assert np.linalg.norm(title) == pytest.approx(0.5)
    assert not F[0, cfg.base_dim + 8 :].any()


def test_config_round_trips_through_json_lists() -> None:
    cfg = ContentConfig(num_users=2, genre_names=GENRES, activity=0.1)
    assert ContentConfig(**cfg.to_dict()) == cfg


def test_unknown_genres_are_named_with_the_valid_ones() -> None:
    with pytest.raises(InvalidRequestError) as err:
        check_content(GENRES, ["Comedy", "Western", "Noir"], None, "")
    (v,) = err.value.violations
    assert v.field == "genres"
    assert "'Western', 'Noir'" in v.description
    assert "valid: Action, Comedy, Drama" in v.description


@pytest.mark.parametrize("year", [1869, 2101, 1999.5])
def test_years_outside_1870_2100_are_errors(year: object) -> None:
    with pytest.raises(InvalidRequestError, match="year: must be a whole year 1870–2100"):
        check_content(GENRES, [], year, "")  # type: ignore[arg-type]


def test_titles_may_be_omitted_unless_required_but_never_blank() -> None:
    check_content(GENRES, ["Drama"], 1870, "")
    check_content(GENRES, [], 2100, "A title")
    with pytest.raises(InvalidRequestError, match="title: must not be empty"):
        check_content(GENRES, [], None, "   ")
    with pytest.raises(InvalidRequestError) as err:
        check_content(GENRES, ["Nope"], 3000, "", require_title=True)
    assert [v.field for v in err.value.violations] == ["genres", "year", "title"]


def test_year_knots_run_every_other_year_from_1995_and_end_at_the_latest_year() -> None:
    knots = year_knots_until(2008.0)
    assert knots[-1] == 2008.0
    assert knots[-4:] == (2003.0, 2005.0, 2007.0, 2008.0)
    assert np.all(np.diff(knots) > 0)
    assert year_knots_until(1900.0) == (1920.0, 1921.0)  # always two knots


def test_genre_base_is_the_mean_of_the_movies_genre_means_and_the_global_mean_without_genres() -> None:
    cfg = ContentConfig(num_users=1, genre_names=GENRES, title_dim=4, tag_dim=0)
    F = content_matrix(cfg, np.array([[1, 0, 1], [0, 0, 0]]), np.array([2000.0, np.nan]), ["A", "B"], [[], []])
    out = genre_base(F * 3.0, np.array([3.0, 4.0, 4.5]), 3.5)  # block scales do not matter
    np.testing.assert_allclose(out, [3.75, 3.5])


def test_with_every_learned_term_at_zero_the_model_is_the_genre_baselines() -> None:
    """Movie mean = genre mean; stars = user mean + genre offset (clipped); link = P·Q + β·log degree."""
    cfg = ContentConfig(num_users=3, genre_names=GENRES, title_dim=4, tag_dim=0, rank=2, mean_stars=3.5, activity=0.5)
    rng = np.random.default_rng(0)
    arrays = {
        "genre_stars": np.array([3.0, 4.0, 4.5]),
        "user_bias": np.array([0.5, -0.25, 2.0]),  # user mean − ȳ
        "link_p": rng.normal(size=(cfg.dim, 2)),
        "link_q": rng.normal(size=(2, 3)),
        "log_degree": np.log1p([5.0, 1.0, 9.0]),
    }
    model = ContentModel.from_arrays(cfg, arrays)
    head = ContentHead(model)
    f = head.features(["Action", "Drama"], 1999, "Heat")
    assert head.movie_mean(f) == pytest.approx(3.75)
    np.testing.assert_allclose(head.ratings(f), [4.25, 3.5, 5.0])
    expected = f @ arrays["link_p"] @ arrays["link_q"] + 0.5 * arrays["log_degree"]
    np.testing.assert_allclose(head.link_scores(f), expected, rtol=1e-5)
    np.testing.assert_allclose(model(torch.from_numpy(f[None, :])).numpy()[0], expected, rtol=1e-5)
    assert dict(model.named_buffers())["link_q"].shape == (2, 3)  # stored: rank × users
