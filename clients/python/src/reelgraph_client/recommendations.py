"""One user's titled recommendation list: what the server builds and the client returns.

Plain data (no numpy, grpc or torch), so both sides share it without pulling in the other's
dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserRecommendations:
    """Top-k for one user: parallel lists, best first; ``error`` set for unknown users.

    ``user_id`` is -1 for a user given as ratings.
    """

    user_id: int
    movie_ids: list[int]
    titles: list[str]
    scores: list[float]
    error: str = ""
