"""A movie given as content in ScorePairs, and the Audience call: proto ↔ ``reelgraph.new_movies``.

Translation only: the decisions (features, scores, top-k) are the library's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelgraph import new_movies
from reelgraph.errors import FieldViolation, InvalidRequestError, TooManyItemsError
from reelgraph.new_movies import ContentMovie
from reelgraph.options import ModelKind
from reelgraph.protocol import PairStatus, score_kind
from reelgraph.scoring import Scorer
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.tensors import ID_TYPES, decode
from server.batch import BatchScores

AUDIENCE_CHUNK = 1000  # users per AudienceResponse
MAX_AUDIENCE = 100_000  # largest k


def content_movie(m: pb.ContentMovie, genre_names: Sequence[str], require_title: bool) -> ContentMovie:
    """The checked movie; violations name ``movie.<field>``."""
    movie = ContentMovie(tuple(m.genres), m.year or None, m.title, tuple(m.tags))
    try:
        movie.check(genre_names, require_title)
    except InvalidRequestError as exc:
        raise InvalidRequestError([FieldViolation(f"movie.{v.field}", v.description) for v in exc.violations]) from None
    return movie


def score_content(scorer: Scorer, request: pb.ScorePairsRequest, max_pairs: int) -> BatchScores:
    """``request.user_ids`` against ``request.movie``; unknown users are marked in ``status``."""
    if request.HasField("history"):
        why = "give either history or movie, not both"
        raise InvalidRequestError([FieldViolation("history", why), FieldViolation("movie", why)])
    if request.HasField("movie_ids") and decode(request.movie_ids, "movie_ids", expect=ID_TYPES).size:
        raise InvalidRequestError([FieldViolation("movie_ids", "must be empty when movie is given")])
    users = decode(request.user_ids, "user_ids", expect=ID_TYPES)
    if users.size > max_pairs:
        raise TooManyItemsError(f"{users.size} pairs exceed the limit of {max_pairs} per request")
    kinds = [score_kind(k) for k in request.kinds] or [ModelKind.LINK]
    head = scorer.content
    movie = content_movie(request.movie, head.cfg.genre_names, require_title=True)
    scores, known = new_movies.score_users(head, scorer.users, users, movie, kinds)
    status = np.where(known, PairStatus.SCORED, PairStatus.UNKNOWN_USER).astype(np.uint8)
    return BatchScores(scorer.name, scorer.version, scores.get(ModelKind.LINK), scores.get(ModelKind.RATING), status)


def audience_responses(scorer: Scorer, request: pb.AudienceRequest) -> list[pb.AudienceResponse]:
    """The top-k users for ``request.movie`` in chunks of ``AUDIENCE_CHUNK``, best first."""
    k = request.k or 10
    if not 1 <= k <= MAX_AUDIENCE:
        raise InvalidRequestError([FieldViolation("k", f"must be 1..{MAX_AUDIENCE} (0 means 10), got {k}")])
    head = scorer.content
    top = new_movies.audience(
        head, scorer.users, content_movie(request.movie, head.cfg.genre_names, require_title=False), k
    )
    ref = pb.ModelRef(name=scorer.name, version=scorer.version)
    members = [
        pb.AudienceMember(user_id=int(u), score=float(p)) for u, p in zip(top.user_ids, top.probabilities, strict=True)
    ]
    return [
        pb.AudienceResponse(model=ref, users=members[s : s + AUDIENCE_CHUNK])
        for s in range(0, max(len(members), 1), AUDIENCE_CHUNK)
    ]
