"""``reelgraph.cli.data.find_data``: the one discovery routine, as ``train`` uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelgraph.cli.data import DataSearch, find_data
from reelgraph.errors import ReelgraphError
from tests.movielens_fixtures import make_tiny, write_100k_layout


def test_a_named_dataset_is_found_under_the_data_root_in_any_layout(tmp_path: Path) -> None:
    data = write_100k_layout(tmp_path / "root" / "ml-100k", make_tiny(half_stars=False))
    where = DataSearch(data_dir=None, data_root=tmp_path / "root", cache_dir=tmp_path / "cache")
    assert find_data(where, print, dataset="ml-100k") == data


def test_an_explicit_directory_wins_and_must_exist(tmp_path: Path) -> None:
    where = DataSearch(data_dir=tmp_path, data_root=tmp_path / "root", cache_dir=tmp_path / "cache")
    assert find_data(where, print) == tmp_path
    with pytest.raises(ReelgraphError, match="no such directory"):
        find_data(DataSearch(data_dir=tmp_path / "nope", data_root=None, cache_dir=tmp_path), print)


def test_nothing_found_without_download_names_both_places(tmp_path: Path) -> None:
    where = DataSearch(data_dir=None, data_root=tmp_path / "root", cache_dir=tmp_path / "cache")
    with pytest.raises(ReelgraphError, match="pass --data DIR") as info:
        find_data(where, print)
    assert str(tmp_path / "root" / "ml-latest-small") in str(info.value)
    assert str(tmp_path / "cache" / "ml-latest-small") in str(info.value)
