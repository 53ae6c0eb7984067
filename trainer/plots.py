"""PNG plots: training curves and the data report. matplotlib is imported lazily."""

from __future__ import annotations

import numpy as np

from reelgraph.plotting import png, pyplot
from trainer.loop import Curve


def curve_png(kind: str, curve: Curve, best_epoch: int) -> bytes:
    """Training loss and validation metric per epoch, best epoch marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(curve.loss) + 1)
    ax.plot(epochs, curve.loss, color="tab:blue", label="train loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("train loss", color="tab:blue")
    other = ax.twinx()
    other.plot(epochs, curve.metric, color="tab:orange", label=curve.metric_name)
    other.set_ylabel(curve.metric_name, color="tab:orange")
    other.axvline(best_epoch, color="grey", linestyle=":", label="best")
    ax.set_title(f"{kind}: training curve")
    return png(fig)


def bar_png(title: str, labels: list[str], values: np.ndarray, xlabel: str) -> bytes:
    """Horizontal bar chart, largest at the top."""
    plt = pyplot()
    order = np.argsort(values)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(labels) + 1))
    ax.barh([labels[i] for i in order], values[order], color="tab:blue")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return png(fig)


def heatmap_png(title: str, labels: list[str], matrix: np.ndarray) -> bytes:
    """A labelled correlation heatmap in [-1, 1]."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(0.4 * len(labels) + 2, 0.4 * len(labels) + 1.5))
    image = ax.imshow(matrix, cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    return png(fig)
