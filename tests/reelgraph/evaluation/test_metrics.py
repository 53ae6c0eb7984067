"""Metrics on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from reelgraph.evaluation.metrics import mse, recall_ndcg_at_k, rmse, roc_auc


def test_auc_hand_cases() -> None:
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    # one of four (pos, neg) pairs misordered
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.75
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5  # ties count half
    with pytest.raises(ValueError, match="positive and one negative"):
        roc_auc(np.array([1, 1]), np.array([0.1, 0.2]))


def test_rmse_and_mse() -> None:
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(np.sqrt(2.5))
    assert mse(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(2.5)


def test_recall_and_ndcg_hand_case() -> None:
    top = np.array([[5, 1, 7], [2, 3, 4]])
    relevant = [np.array([1, 9]), np.array([2, 3, 4, 8])]
    recall, ndcg = recall_ndcg_at_k(top, relevant, 3)
    # user 0: 1 hit at rank 2 of min(3, 2) = 2; user 1: 3 hits of 3
    assert recall == pytest.approx((0.5 + 1.0) / 2)
    dcg0 = 1 / np.log2(3)
    idcg0 = 1 + 1 / np.log2(3)
    assert ndcg == pytest.approx((dcg0 / idcg0 + 1.0) / 2)
    with pytest.raises(ValueError, match="no user"):
        recall_ndcg_at_k(top, [np.array([]), np.array([])], 3)
