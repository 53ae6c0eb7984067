"""Top-k evaluation of full rankings: the metric used for model selection and in bench/."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from reelgraph.evaluation.metrics import recall_ndcg_at_k

_BLOCK = 256  # users scored at once


def top_k_excluding(scores: np.ndarray, exclude: sp.csr_matrix, k: int) -> np.ndarray:
    """``(users, k)`` best columns per row, best first, never a nonzero of ``exclude``."""
    scores = np.array(scores, dtype=np.float64)
    rows, cols = exclude.nonzero()
    scores[rows, cols] = -np.inf
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
    out: np.ndarray = np.take_along_axis(top, order, 1)
    return out


def held_out_recall_ndcg(
    score: Callable[[np.ndarray], np.ndarray],
    seen: sp.csr_matrix,
    held_out: sp.csr_matrix,
    k: int = 20,
) -> tuple[float, float]:
    """Recall@k and NDCG@k of ``score(user rows) -> (len, num_movies)`` on ``held_out``.

    Every user with a held-out item counts; the user's ``seen`` items are
    excluded from the ranking (full ranking over all other movies). Recall
    divides hits by ``min(k, |held out|)``.
    """
    users = np.flatnonzero(np.diff(held_out.indptr) > 0)
    tops = [
        top_k_excluding(score(users[s : s + _BLOCK]), seen[users[s : s + _BLOCK]], k)
        for s in range(0, users.size, _BLOCK)
    ]
    relevant = [held_out.indices[held_out.indptr[u] : held_out.indptr[u + 1]] for u in users]
    return recall_ndcg_at_k(np.concatenate(tops), relevant, k)
