"""Turn trained models and their graph into bundle contents."""

from __future__ import annotations

import datetime as dt
from importlib import metadata

import numpy as np
import torch

from reelgraph.bundle.manifest import Manifest, ModelEntry
from reelgraph.data.dataset import MovieLens
from reelgraph.graphs.features import feature_names
from reelgraph.graphs.hetero import RATES, RatingGraph
from trainer.plots import curve_png
from trainer.result import TrainResult

_LIBRARIES = ("reelgraph", "torch", "torch_geometric", "numpy", "safetensors")


def graph_tensors(data: MovieLens, rg: RatingGraph) -> dict[str, torch.Tensor]:
    """The serving graph: id maps, rating edges, movie features and titles."""
    order = np.argsort(data.movies["movie_id"].to_numpy(), kind="stable")
    titles = [t.encode() for t in data.movies["title"].to_numpy()[order]]
    offsets = np.cumsum([0, *map(len, titles)]).astype(np.int64)
    store = rg.graph[RATES]
    return {
        "user_ids": torch.tensor(rg.users.ids),
        "movie_ids": torch.tensor(rg.movies.ids),
        "edge_index": store.edge_index,
        "edge_time": store.time,
        "edge_rating": store.rating,
        "movie_x": rg.graph["movie"].x,
        "genres": torch.from_numpy(np.ascontiguousarray(data.genres[order])),
        "title_bytes": torch.frombuffer(bytearray(b"".join(titles)) or bytearray(1), dtype=torch.uint8).clone(),
        "title_offsets": torch.from_numpy(offsets),
    }


def weight_tensors(results: list[TrainResult]) -> dict[str, torch.Tensor]:
    """Every model's parameters, keys prefixed with its kind."""
    return {f"{r.kind}.{k}": v for r in results for k, v in r.model.state_dict().items()}


def build_manifest(name: str, data: MovieLens, rg: RatingGraph, results: list[TrainResult]) -> Manifest:
    """Manifest of a new bundle (version and file sums are filled in when written)."""
    return Manifest(
        name=name,
        version="",
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        data={
            "fingerprint": data.fingerprint,
            "layout": data.layout.value,
            "files": list(data.files),
            "num_users": len(rg.users),
            "num_movies": len(rg.movies),
            "num_ratings": data.num_ratings,
            "genre_names": list(data.genre_names),
            "feature_names": feature_names(data.genre_names),
            "notes": list(data.notes),
        },
        models={r.kind: ModelEntry(r.config, r.hyperparameters, r.metrics) for r in results},
        libraries={lib: _version(lib) for lib in _LIBRARIES},
    )


def plot_files(results: list[TrainResult]) -> dict[str, bytes]:
    """One training-curve PNG per model."""
    return {f"curve_{r.kind}.png": curve_png(r.kind, r.curve, int(r.metrics.get("best_epoch", 0))) for r in results}


def _version(lib: str) -> str:
    try:
        return metadata.version(lib.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return "unknown"
