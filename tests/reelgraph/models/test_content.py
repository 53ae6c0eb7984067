"""Content features of a movie from its catalogue row, and the request checks."""

from __future__ import annotations

import numpy as np
import pytest

from reelgraph.models.content import (
    ContentConfig,
    check_content,
    content_matrix,
    hashed_bag,
    title_words,
    words,
    year_basis,
)
from reelgraph.tensors import InvalidRequestError

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
