"""Bundle round trip, atomic writes and refusal of half-written or tampered bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from reelgraph.bundle import (
    BundleGraph,
    Manifest,
    ModelEntry,
    MovieGCNGraph,
    load_bundle,
    resolve_version,
    write_bundle,
)
from reelgraph.bundle.writer import LATEST, versions
from reelgraph.errors import BundleError


def _manifest(name: str = "demo") -> Manifest:
    return Manifest(
        name=name,
        version="",
        created_at="2026-11-22T00:00:00+00:00",
        data={"fingerprint": "abc"},
        models={"link": ModelEntry({"hidden": 4}, {"lr": 0.1}, {"auc": 0.9})},
        libraries={"torch": torch.__version__},
    )


def _graph(movie_gcn: MovieGCNGraph | None = None) -> BundleGraph:
    """Two users, three movies (one title non-ASCII, one empty), three ratings."""
    return BundleGraph(
        user_ids=torch.tensor([1, 5]),
        movie_ids=torch.tensor([10, 20, 30]),
        edge_index=torch.tensor([[0, 1, 1], [0, 0, 2]]),
        edge_time=torch.tensor([100, 200, 300]),
        edge_rating=torch.tensor([4.0, 3.5, 5.0]),
        movie_x=torch.zeros(3, 2),
        genres=torch.tensor([[1, 0], [0, 1], [1, 1]], dtype=torch.uint8),
        titles=("Amélie (2001)", "", "Heat (1995)"),
        movie_gcn=movie_gcn,
    )


def _write(root: Path, graph: BundleGraph | dict[str, torch.Tensor] | None = None) -> Path:
    return write_bundle(
        root,
        _manifest(),
        {"link.w": torch.arange(6.0).reshape(2, 3)},
        graph or _graph(),
        {"curve_link.png": b"\x89PNG fake"},
    )


def test_round_trip_and_latest(tmp_path: Path) -> None:
    first = _write(tmp_path)
    second = _write(tmp_path)
    assert (first.name, second.name) == ("1", "2")
    assert (tmp_path / "demo" / LATEST).read_text().strip() == "2"
    loaded = load_bundle(tmp_path / "demo")  # the parent means latest
    assert loaded.path == second
    assert loaded.manifest.version == "2"
    assert loaded.manifest.models["link"].metrics == {"auc": 0.9}
    assert torch.equal(loaded.weights["link.w"], torch.arange(6.0).reshape(2, 3))
    assert loaded.graph.user_ids.tolist() == [1, 5]
    assert loaded.graph.titles == ("Amélie (2001)", "", "Heat (1995)")
    assert loaded.graph.movie_gcn is None
    assert (loaded.graph.num_users, loaded.graph.num_movies) == (2, 3)
    assert loaded.file("curve_link.png") == b"\x89PNG fake"
    assert set(loaded.manifest.files) == {"weights.safetensors", "graph.safetensors", "curve_link.png"}
    assert load_bundle(first).manifest.version == "1"


def test_no_temporary_leftovers(tmp_path: Path) -> None:
    _write(tmp_path)
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["1", LATEST]
    assert versions(tmp_path / "demo") == [1]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(AttributeError):
        write_bundle(tmp_path, _manifest(), {"bad": "not a tensor"}, {})  # type: ignore[dict-item]
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == []


@pytest.mark.parametrize(
    "name", ["weights.safetensors", "graph.safetensors", "curve_link.png", "manifest.json", "manifest.sha256"]
)
def test_any_changed_byte_is_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path) / name
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(BundleError, match=name.replace(".", r"\.")):
        load_bundle(path.parent)


@pytest.mark.parametrize("name", ["weights.safetensors", "manifest.json", "manifest.sha256"])
def test_half_written_bundle_is_refused(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path) / name
    path.unlink()
    with pytest.raises(BundleError, match=name.replace(".", r"\.")):
        load_bundle(path.parent)


def test_manifest_schema_and_garbage(tmp_path: Path) -> None:
    bundle = _write(tmp_path)
    raw = json.loads((bundle / "manifest.json").read_text())
    raw["schema_version"] = 99
    with pytest.raises(BundleError, match="schema_version 99"):
        Manifest.from_json(json.dumps(raw).encode(), "m.json")
    with pytest.raises(BundleError, match="not a valid manifest"):
        Manifest.from_json(b"{not json", "m.json")


def test_resolve_errors(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such bundle"):
        resolve_version(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="neither a bundle version"):
        resolve_version(tmp_path / "empty")
    bundle = _write(tmp_path)
    shutil.rmtree(bundle)
    with pytest.raises(BundleError, match="points at missing version"):
        resolve_version(tmp_path / "demo")


def test_graph_round_trip_with_the_movie_gcn_inputs(tmp_path: Path) -> None:
    gcn = MovieGCNGraph(torch.ones(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.tensor([0.5, 2.0]))
    loaded = load_bundle(_write(tmp_path, _graph(gcn))).graph
    assert loaded.movie_gcn is not None
    assert torch.equal(loaded.movie_gcn.edge_weight, gcn.edge_weight)
    assert set(loaded.to_tensors()) == set(_graph(gcn).to_tensors())
    edges = loaded.message_edges()
    assert torch.equal(edges.rating, torch.tensor([4.0, 3.5, 5.0]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("title_bytes"), "graph lacks title_bytes"),
        (lambda t: t.pop("movie_gcn.edge_weight"), "only part of movie_gcn"),
        (lambda t: t.update(edge_time=torch.tensor([1, 2])), "edge_time has 2 entries for 3 edges"),
        (lambda t: t.update(movie_x=torch.zeros(2, 2)), "movie_x has 2 rows for 3 movies"),
        (lambda t: t.update(title_offsets=torch.tensor([0, 7, 3, 50])), "title_offsets do not index"),
        (lambda t: t.update(edge_index=torch.tensor([[0, 1, 2], [0, 0, 2]])), "indices past"),
    ],
)
def test_an_inconsistent_graph_is_refused_naming_the_key(tmp_path: Path, change: Any, message: str) -> None:
    gcn = MovieGCNGraph(torch.ones(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.tensor([0.5, 2.0]))
    tensors = _graph(gcn).to_tensors()
    change(tensors)
    with pytest.raises(BundleError, match=message):
        load_bundle(_write(tmp_path, tensors))
