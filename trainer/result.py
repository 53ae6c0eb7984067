"""What training one model produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from trainer.loop import Curve


@dataclass
class TrainResult:
    """A trained model with its config, hyper-parameters, metrics and curve.

    ``extra_graph`` holds tensors the model needs at serving time beyond the
    rating graph (e.g. the movie GCN's features and co-rating edges).
    """

    kind: str
    model: nn.Module
    config: dict[str, Any]
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    curve: Curve
    extra_graph: dict[str, Tensor] = field(default_factory=dict)
