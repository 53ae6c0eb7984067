"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import sys
from pathlib import Path

from reelgraph.settings import CommonSettings


def small_link_bundle(given: str | None, tmp: Path) -> Path:
    """``given`` (a bundles root), or a link-only bundle trained for 3 epochs on ml-latest-small into ``tmp``."""
    if given:
        return Path(given)
    from reelgraph.options import ModelKind
    from trainer.pipeline import run_training
    from trainer.settings import TrainSettings

    root = CommonSettings.from_env().data_dir
    if root is None:
        sys.exit("set REELGRAPH_DATA_DIR (ml-latest-small inside) or pass --bundles")
    settings = TrainSettings(root / "ml-latest-small", tmp, epochs=3, progress=False, models=(ModelKind.LINK,))
    return run_training(settings)[0].parent.parent
