"""Evaluation metrics, written out so they can be checked on hand-made cases."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U, ties count one half).

    Raises ``ValueError`` unless both classes are present.
    """
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs at least one positive and one negative label")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error."""
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return float(np.mean(diff**2))


def recall_ndcg_at_k(top_k: np.ndarray, relevant: list[np.ndarray], k: int) -> tuple[float, float]:
    """Mean Recall@k and NDCG@k over users with at least one relevant item.

    Args:
        top_k: ``(U, ≥k)`` ranked item indices per user, best first.
        relevant: per user, the held-out item indices.
        k: cut-off.

    Recall@k divides hits by ``min(k, |relevant|)`` so a perfect ranking scores
    1; NDCG@k uses binary gains and the ideal DCG of ``min(k, |relevant|)`` hits.
    """
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs = [], []
    for ranked, rel in zip(top_k, relevant, strict=True):
        if len(rel) == 0:
            continue
        hits = np.isin(ranked[:k], rel)
        ideal = min(k, len(rel))
        recalls.append(hits.sum() / ideal)
        ndcgs.append((hits * discounts).sum() / discounts[:ideal].sum())
    if not recalls:
        raise ValueError("no user has a relevant item")
    return float(np.mean(recalls)), float(np.mean(ndcgs))
