"""Process settings: one typed object per process, built once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reelgraph.options import DeviceChoice, coerce

ENV_PREFIX = "REELGRAPH_"


@dataclass(frozen=True)
class CommonSettings:
    """Settings every reelgraph process shares.

    Attributes:
        data_dir: root holding MovieLens datasets (``REELGRAPH_DATA_DIR``;
            e.g. ``../shared/movielens`` with ``ml-latest-small/`` inside), or
            ``None`` when unset.
        bundles_dir: where bundles are written and read (``REELGRAPH_BUNDLES_DIR``,
            default ``./bundles``).
        cache_dir: where downloads are extracted (``REELGRAPH_CACHE_DIR``,
            default ``~/.cache/reelgraph``).
        device: ``auto`` | ``cpu`` | ``cuda`` (``REELGRAPH_DEVICE``, default auto).
    """

    data_dir: Path | None = None
    bundles_dir: Path = Path("bundles")
    cache_dir: Path = Path.home() / ".cache" / "reelgraph"
    device: DeviceChoice = DeviceChoice.AUTO

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CommonSettings:
        """Read ``REELGRAPH_*`` variables (``env`` defaults to ``os.environ``)."""
        env = os.environ if env is None else env
        default = cls()
        data = env.get(ENV_PREFIX + "DATA_DIR")
        return cls(
            data_dir=Path(data) if data else None,
            bundles_dir=Path(env.get(ENV_PREFIX + "BUNDLES_DIR", str(default.bundles_dir))),
            cache_dir=Path(env.get(ENV_PREFIX + "CACHE_DIR", str(default.cache_dir))),
            device=coerce(DeviceChoice, env.get(ENV_PREFIX + "DEVICE", "auto"), "REELGRAPH_DEVICE"),
        )


def resolve_device(choice: DeviceChoice) -> str:
    """``cuda`` when asked or when ``auto`` finds a GPU, else ``cpu``.

    Raises ``InvalidOptionError`` when ``cuda`` is asked for but absent.
    """
    import torch

    from reelgraph.errors import InvalidOptionError

    if choice is DeviceChoice.CUDA and not torch.cuda.is_available():
        raise InvalidOptionError("device 'cuda' was requested but no CUDA device is available")
    if choice is DeviceChoice.CPU:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
