"""Shared fixtures: tiny MovieLens datasets and the real-data directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from reelgraph.settings import CommonSettings
from tests.movielens_fixtures import make_tiny, write_100k_layout, write_csv_layout, write_dat_layout

torch.set_num_threads(2)


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    """An ml-latest-small-layout directory with synthetic ratings."""
    return write_csv_layout(tmp_path / "tiny-csv", make_tiny())


@pytest.fixture
def tiny_100k(tmp_path: Path) -> Path:
    """An ml-100k-layout directory with synthetic ratings."""
    return write_100k_layout(tmp_path / "tiny-100k", make_tiny(half_stars=False))


@pytest.fixture
def tiny_dat(tmp_path: Path) -> Path:
    """An ml-1m-layout directory with synthetic ratings."""
    return write_dat_layout(tmp_path / "tiny-dat", make_tiny(half_stars=False))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``$REELGRAPH_DATA_DIR`` holding the real MovieLens copies, or skip."""
    root = CommonSettings.from_env().data_dir
    if root is None or not (root / "ml-latest-small" / "ratings.csv").is_file():
        pytest.skip("real MovieLens data absent: set REELGRAPH_DATA_DIR to a directory with ml-latest-small/")
    return root


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle (all three models, a few epochs) trained on tiny data; returns its name dir."""
    from trainer.pipeline import run_training
    from trainer.settings import TrainSettings

    root = tmp_path_factory.mktemp("bundle-src")
    data = write_csv_layout(root / "tiny", make_tiny())
    settings = TrainSettings(data_dir=data, out_dir=root / "bundles", epochs=3, progress=False, name="tiny")
    path, _ = run_training(settings)
    return path.parent


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private ``redis-server`` on a free port (nothing persisted); yields its URL."""
    from reelgraph.cli.redis_process import start_redis
    from reelgraph.errors import ReelgraphError

    try:
        running = start_redis(tmp_path_factory.mktemp("redis"))
    except ReelgraphError as exc:
        pytest.fail(str(exc))
    yield running.url
    running.stop()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The session's Redis, emptied before each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture
def bundles(tiny_bundle: Path, tmp_path: Path) -> Path:
    """A bundles root holding a copy of the tiny bundle (name ``tiny``)."""
    root = tmp_path / "bundles"
    shutil.copytree(tiny_bundle, root / "tiny")
    return root
