"""Rating sessions: each user's ratings split wherever they paused, as a sessions × movies matrix.

Movies rated in one sitting are related more closely than movies rated years
apart by the same person (MovieLens users rate from search results, lists and
"similar movies" pages), so the ranking model's co-rating Gram matrix mixes the
session co-occurrences into the whole-history ones (``trainer.ranking``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def session_ids(users: np.ndarray, times: np.ndarray, gap_s: float) -> np.ndarray:
    """A session index (``0..S-1``) per rating.

    A user's ratings, in time order, start a new session wherever the pause
    since the previous rating exceeds ``gap_s`` seconds; ratings of one user at
    the same second share a session. Users never share one.
    """
    order = np.lexsort((times, users))
    u, t = users[order], times[order]
    starts = np.ones(u.size, dtype=bool)
    starts[1:] = (u[1:] != u[:-1]) | (np.diff(t) > gap_s)
    out = np.empty(u.size, dtype=np.int64)
    out[order] = np.cumsum(starts) - 1
    return out


def session_matrix(
    users: np.ndarray, movies: np.ndarray, times: np.ndarray, num_movies: int, gap_s: float
) -> sp.csr_matrix:
    """Binary ``(sessions, num_movies)`` CSR: which movies each session rated (``session_ids``)."""
    sessions = session_ids(users, times, gap_s)
    rows = int(sessions.max()) + 1 if sessions.size else 0
    out = sp.csr_matrix((np.ones(sessions.size, np.float32), (sessions, movies)), shape=(rows, num_movies))
    out.data[:] = 1.0  # a movie rated twice in one session still counts once
    return out
