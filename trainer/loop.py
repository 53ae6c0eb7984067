"""The epoch loop shared by every model: progress, early stopping, best weights."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from trainer.progress import Progress


@dataclass
class Curve:
    """Per-epoch training loss and validation metric."""

    metric_name: str
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class FitResult:
    """What ``fit`` returns: the curve, the best epoch (0-based) and its metric."""

    curve: Curve
    best_epoch: int
    best_metric: float


def fit(
    model: nn.Module,
    *,
    epochs: int,
    patience: int,
    train_epoch: Callable[[], float],
    validate: Callable[[], float],
    metric_name: str,
    higher_is_better: bool,
    progress: Progress,
    label: str = "epochs",
) -> FitResult:
    """Train up to ``epochs`` epochs, keep the best weights by ``validate``.

    Stops after ``patience`` epochs without improvement and restores the best
    weights into ``model`` before returning.
    """
    curve = Curve(metric_name)
    best, best_epoch, best_state = None, -1, copy.deepcopy(model.state_dict())
    with progress.task(label, epochs) as tick:
        for epoch in range(epochs):
            model.train()
            loss = train_epoch()
            model.eval()
            metric = validate()
            curve.loss.append(loss)
            curve.metric.append(metric)
            if best is None or (metric > best if higher_is_better else metric < best):
                best, best_epoch, best_state = metric, epoch, copy.deepcopy(model.state_dict())
            tick(f"loss {loss:.4f}  {metric_name} {metric:.4f}  best {best:.4f}")
            if epoch - best_epoch >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    assert best is not None, "epochs must be >= 1"
    return FitResult(curve, best_epoch, best)
