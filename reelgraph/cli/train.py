"""``reelgraph train`` and ``reelgraph report``: the trainer's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelgraph.cli.common import DataOpt, choices, cli_errors
from reelgraph.cli.data import DATASET, DataSearch, find_data
from reelgraph.options import DeviceChoice, ModelKind
from reelgraph.settings import CommonSettings


def _data_dir(data: Path | None, download: str | None, common: CommonSettings) -> Path:
    where = DataSearch(data_dir=data, data_root=common.data_dir, cache_dir=common.cache_dir, download=bool(download))
    return find_data(where, lambda line: typer.echo(line), dataset=download or DATASET)


def train(
    data: DataOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help=f"Bundles root to write (default {CommonSettings.flag_default('bundles_dir')})."),
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option(help="link|rating|movie-gcn|ranking|content|all (repeatable).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Max epochs for every model (default per model).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for splits and initialisation.")] = 0,
    device: Annotated[
        str | None, typer.Option(help=f"{choices(DeviceChoice)} (default {CommonSettings.flag_default('device')}).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Bundle name (default: data directory name).")] = None,
    ratings_file: Annotated[str | None, typer.Option(help="Ratings file in --data, e.g. u1.base.")] = None,
    test_ratings: Annotated[
        str | None, typer.Option(help="Ratings file to test the rating model on, e.g. u1.test.")
    ] = None,
    download: Annotated[
        str | None, typer.Option(help="Download this dataset (e.g. ml-latest-small) when --data is absent.")
    ] = None,
    sampling: Annotated[
        str, typer.Option(help="Link training: auto | full | neighbor (LinkNeighborLoader; needs torch-sparse).")
    ] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when --out already holds a bundle (one-shot jobs).")
    ] = False,
) -> None:
    """Train models on MovieLens data and write a verified bundle."""
    from reelgraph.options import coerce

    with cli_errors():  # settings first: a bad value is reported before torch is imported
        common = CommonSettings.from_env(
            bundles_dir=out, device=coerce(DeviceChoice, device, "device") if device is not None else None
        )
        from reelgraph.bundle.loader import bundle_names
        from trainer.hyper import LinkHyper
        from trainer.pipeline import run_training
        from trainer.report import print_metrics
        from trainer.sampling import Sampling
        from trainer.settings import TrainSettings

        if if_missing and bundle_names(common.bundles_dir):
            typer.echo(f"{common.bundles_dir} already holds a bundle: nothing to train (--if-missing)")
            return
        settings = TrainSettings(
            data_dir=_data_dir(data, download, common),
            out_dir=common.bundles_dir,
            models=_model_kinds(model or ["all"]),
            name=name,
            ratings_file=ratings_file,
            test_ratings=test_ratings,
            seed=seed,
            device=common.device,
            epochs=epochs,
            progress=not quiet,
            link=LinkHyper(sampling=coerce(Sampling, sampling, "--sampling").value),
        )
        path, results = run_training(settings)
        print_metrics(results)
        typer.echo(f"bundle written: {path}")


def report(
    data: DataOpt = None,
    out: Annotated[Path, typer.Option(help="Directory for the report files.")] = Path("reports"),
) -> None:
    """Data analysis: graph statistics, genre distribution and correlation PNGs."""
    from trainer.report import write_data_report

    with cli_errors():
        common = CommonSettings.from_env()
        for path in write_data_report(_data_dir(data, None, common), out):
            typer.echo(f"wrote {path}")


def _model_kinds(values: list[str]) -> tuple[ModelKind, ...]:
    from reelgraph.options import coerce

    if any(v.lower() == "all" for v in values):
        return tuple(ModelKind)
    kinds = [coerce(ModelKind, v, "--model") for v in values]
    return tuple(dict.fromkeys(kinds))
