"""``reelgraph train``: data → graph → models → a verified bundle."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TypeVar

import torch

from reelgraph.bundle.writer import write_bundle
from reelgraph.data.dataset import MovieLens
from reelgraph.data.readers import read_movielens
from reelgraph.graphs.hetero import RatingGraph, build_rating_graph
from reelgraph.options import ModelKind
from reelgraph.settings import resolve_device
from trainer.assemble import build_manifest, graph_tensors, plot_files, weight_tensors
from trainer.content import fit_content, read_tags
from trainer.hyper import LinkHyper, MovieGCNHyper, RatingHyper
from trainer.link import train_link
from trainer.movie_gcn import train_movie_gcn
from trainer.progress import Progress
from trainer.ranking import fit_ranking
from trainer.rating import external_test, train_rating
from trainer.result import TrainResult
from trainer.settings import TrainSettings


def run_training(settings: TrainSettings, progress: Progress | None = None) -> tuple[Path, list[TrainResult]]:
    """Train the requested models and write one bundle holding all of them.

    Returns the new bundle version directory and the training results.
    """
    progress = progress or Progress(settings.progress)
    torch.manual_seed(settings.seed)
    device = torch.device(resolve_device(settings.device))
    data = read_movielens(settings.data_dir, settings.ratings_file)
    for note in data.notes:
        progress.log(f"[yellow]note:[/] {note}")
    rg = build_rating_graph(data)
    progress.log(
        f"{settings.data_dir}: {len(rg.users)} users, {len(rg.movies)} movies, {data.num_ratings} ratings "
        f"({data.layout.value}); device {device}"
    )
    results = []
    for kind in settings.models:
        results.append(_train_one(kind, settings, data, rg, device, progress))
    extra = {k: v for r in results for k, v in r.extra_graph.items()}
    path = write_bundle(
        settings.out_dir,
        build_manifest(settings.bundle_name, data, rg, results),
        weight_tensors(results),
        {**graph_tensors(data, rg), **extra},
        plot_files(results),
    )
    return path, results


def _train_one(
    kind: ModelKind,
    settings: TrainSettings,
    data: MovieLens,
    rg: RatingGraph,
    device: torch.device,
    progress: Progress,
) -> TrainResult:
    epochs = settings.epochs
    if kind is ModelKind.LINK:
        hp = _with_epochs(settings.link, epochs)
        return train_link(rg, hp, settings.seed, device, progress)
    if kind is ModelKind.RANKING:
        return fit_ranking(rg, settings.ranking, settings.seed, device, progress)
    if kind is ModelKind.CONTENT:
        return fit_content(data, rg, read_tags(settings.data_dir), settings.content, settings.seed, progress)
    if kind is ModelKind.RATING:
        test = None
        if settings.test_ratings:
            test, coverage = external_test(rg, read_movielens(settings.data_dir, settings.test_ratings))
            progress.log(f"rating test set {settings.test_ratings}: {coverage:.1%} of rows have known ids")
        return train_rating(rg, test, _with_epochs(settings.rating, epochs), settings.seed, device, progress)
    return train_movie_gcn(data, rg, _with_epochs(settings.movie_gcn, epochs), settings.seed, device, progress)


H = TypeVar("H", LinkHyper, RatingHyper, MovieGCNHyper)


def _with_epochs(hp: H, epochs: int | None) -> H:
    return hp if epochs is None else dataclasses.replace(hp, epochs=epochs)
