"""Graph builders on hand-checked examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from reelgraph.data import read_movielens
from reelgraph.errors import UnknownIdsError
from reelgraph.graphs import RATES, REV_RATES, IdMap, PairAttributes, build_corating_graph, build_rating_graph


def test_idmap_round_trip_and_unknown_ids() -> None:
    m = IdMap.from_ids("user", np.array([30, 10, 20, 10]))
    assert m.ids.tolist() == [10, 20, 30]
    assert m.index(np.array([20, 30, 10])).tolist() == [1, 2, 0]
    assert m.raw(np.array([2, 0])).tolist() == [30, 10]
    _idx, known = m.lookup(np.array([10, 99, 5, 30]))
    assert known.tolist() == [True, False, False, True]
    with pytest.raises(UnknownIdsError) as err:
        m.index(np.array([10, 99, 5, 99]))
    assert err.value.ids == [99, 5]
    assert err.value.positions == [1, 2, 3]
    assert "unknown user ids: 99, 5" in str(err.value)


@pytest.mark.parametrize("ids", [np.array([10, 20, 30]), np.array([-5, 7, 2**40])])  # direct table / binary search
def test_idmap_positions_of_int32_and_int64_ids(ids: np.ndarray) -> None:
    m = IdMap("user", ids)
    probe = [int(ids[2]), 11, -1, int(ids[0]), 2**31 - 1]
    expected = [2, -1, -1, 0, -1]
    assert m.positions(np.array(probe, dtype=np.int64)).tolist() == expected
    assert m.positions(np.array([2**62, -(2**62)])).tolist() == [-1, -1]
    if ids.max() < 2**31:
        assert m.positions(np.array(probe, dtype=np.int32)).tolist() == expected


def _write(root: Path, ratings: list[str], movies: list[str]) -> Path:
    root.mkdir()
    (root / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(ratings) + "\n")
    (root / "movies.csv").write_text("movieId,title,genres\n" + "\n".join(movies) + "\n")
    return root


def test_rating_graph_by_hand(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "d",
        ["7,300,4.0,10", "5,100,3.5,20", "7,100,5.0,30"],
        ["300,C (2001),Drama", "100,A (1990),Action|Drama", "200,B,Comedy"],
    )
    rg = build_rating_graph(read_movielens(root))
    g = rg.graph
    assert rg.users.ids.tolist() == [5, 7]
    assert rg.movies.ids.tolist() == [100, 200, 300]  # unrated movie 200 keeps its node
    assert g[RATES].edge_index.tolist() == [[1, 0, 1], [2, 0, 0]]
    assert g[REV_RATES].edge_index.tolist() == [[2, 0, 0], [1, 0, 1]]
    assert g[RATES].rating.tolist() == [4.0, 3.5, 5.0]
    assert g[RATES].time.tolist() == [10, 20, 30]
    x = g["movie"].x  # columns: Action, Comedy, Drama, year, year_missing
    assert x[0].tolist() == [1, 0, 1, 0.0, 0]  # 1990 → 0
    assert x[1].tolist() == [0, 1, 0, 0.0, 1]  # no year
    assert x[2, :3].tolist() == [0, 0, 1]
    assert x[2, 3].item() == pytest.approx(0.55)
    t, r = PairAttributes(rg)(torch.tensor([[1, 0], [0, 0]]))
    assert t.tolist() == [30, 20]
    assert r.tolist() == [5.0, 3.5]


def test_corating_weights_by_hand() -> None:
    # users: 0 rates {0,1,2}; 1 rates {0,1}; 2 rates {1,3}
    u = np.array([0, 0, 0, 1, 1, 2, 2])
    m = np.array([0, 1, 2, 0, 1, 1, 3])
    g = build_corating_graph(u, m, num_users=3, num_movies=5)
    pairs = {(a, b): w for (a, b), w in zip(g.edge_index.t().tolist(), g.weight.tolist(), strict=True)}
    assert pairs == {
        (0, 1): 2,
        (1, 0): 2,
        (0, 2): 1,
        (2, 0): 1,
        (1, 2): 1,
        (2, 1): 1,
        (1, 3): 1,
        (3, 1): 1,
    }
    strong = build_corating_graph(u, m, 3, 5, min_overlap=2)
    assert sorted(map(tuple, strong.edge_index.t().tolist())) == [(0, 1), (1, 0)]


def test_corating_top_k_keeps_strongest_and_stays_symmetric() -> None:
    u = np.array([0, 0, 0, 1, 1, 2, 2])
    m = np.array([0, 1, 2, 0, 1, 1, 3])
    g = build_corating_graph(u, m, 3, 5, top_k=1)
    edges = set(map(tuple, g.edge_index.t().tolist()))
    assert (0, 1) in edges
    assert (1, 0) in edges
    assert all((b, a) in edges for a, b in edges)
    with pytest.raises(ValueError, match="min_overlap"):
        build_corating_graph(u, m, 3, 5, min_overlap=0)


def test_corating_blocks_match_dense_product() -> None:
    rng = np.random.default_rng(1)
    u, m = rng.integers(0, 50, 600), rng.integers(0, 2500, 600)  # > one block of movies
    g = build_corating_graph(u, m, 50, 2500)
    R = np.zeros((50, 2500))
    R[u, m] = 1
    C = R.T @ R
    np.fill_diagonal(C, 0)
    dense = np.zeros_like(C)
    dense[g.edge_index[0].numpy(), g.edge_index[1].numpy()] = g.weight.numpy()
    np.testing.assert_array_equal(dense, C)
