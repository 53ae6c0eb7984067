"""The trainer's settings object, built once at the CLI boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reelgraph.options import DeviceChoice, ModelKind
from trainer.hyper import ContentHyper, LinkHyper, MovieGCNHyper, RankingHyper, RatingHyper


@dataclass(frozen=True)
class TrainSettings:
    """What ``reelgraph train`` does.

    Attributes:
        data_dir: a MovieLens directory of any layout.
        out_dir: bundles root; the bundle goes to ``out_dir/<name>/<version>``.
        models: which models to train (default all five).
        name: bundle name (default: the data directory's name).
        ratings_file: ratings file inside ``data_dir`` (default: the layout's).
        test_ratings: optional ratings file to report the rating model's RMSE
            on (e.g. ``u1.test``); otherwise 10 % of the ratings are held out.
        seed: seeds every split and initialisation (default 0).
        device: ``auto`` | ``cpu`` | ``cuda``.
        epochs: overrides every model's maximum epochs when set.
        progress: draw progress bars (default on).
    """

    data_dir: Path
    out_dir: Path
    models: tuple[ModelKind, ...] = (
        ModelKind.LINK,
        ModelKind.RATING,
        ModelKind.MOVIE_GCN,
        ModelKind.RANKING,
        ModelKind.CONTENT,
    )
    name: str | None = None
    ratings_file: str | None = None
    test_ratings: str | None = None
    seed: int = 0
    device: DeviceChoice = DeviceChoice.AUTO
    epochs: int | None = None
    progress: bool = True
    link: LinkHyper = field(default_factory=LinkHyper)
    rating: RatingHyper = field(default_factory=RatingHyper)
    movie_gcn: MovieGCNHyper = field(default_factory=MovieGCNHyper)
    ranking: RankingHyper = field(default_factory=RankingHyper)
    content: ContentHyper = field(default_factory=ContentHyper)

    @property
    def bundle_name(self) -> str:
        """The bundle name actually used."""
        return self.name or self.data_dir.resolve().name
