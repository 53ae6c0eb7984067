"""Python client SDK for a reelgraph server: numpy in, numpy out.

Imports only grpc, protobuf and numpy (no torch), so other services can use it
cheaply::

    with Client("127.0.0.1:50051") as client:
        scores = client.score_pairs(np.array([1, 2]), np.array([1, 50]), kinds=("link", "rating"))
        scores.link_probability, scores.rating, scores.status
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np

from reelgraph_client.api.v1 import explanation_pb2, explanation_pb2_grpc, scoring_pb2_grpc
from reelgraph_client.api.v1 import scoring_pb2 as pb
from reelgraph_client.recommendations import UserRecommendations
from reelgraph_client.tensors import FLOAT32, HTTP2_BULK_OPTIONS, UINT8, decode, id_column, wire_tensor

T = TypeVar("T")
MAX_RETRIES = 4
# Services whose calls the channel's retry policy covers.
_SERVICES = ("reelgraph.v1.ScoringService", "reelgraph.v1.ExplanationService")
# The score kinds by the names the server's ModelKind uses (reelgraph.protocol builds its map from this one).
KINDS: dict[str, pb.ScoreKind] = {"link": pb.SCORE_KIND_LINK_PROBABILITY, "rating": pb.SCORE_KIND_RATING}


@dataclass(frozen=True)
class PairScores:
    """Scores aligned with the request. ``status``: 0 scored, 1 unknown user,
    2 unknown movie, 3 both; scores are NaN where status != 0."""

    model: str
    version: str
    link_probability: np.ndarray | None
    rating: np.ndarray | None
    status: np.ndarray


@dataclass(frozen=True)
class Audience:
    """The users most likely to rate a movie given as content, best first.

    ``user_ids`` int64 MovieLens ids; ``scores`` float32 calibrated P(rate).
    """

    model: str
    version: str
    user_ids: np.ndarray
    scores: np.ndarray


class Client:
    """A channel to one server with deadlines and retries.

    Args:
        target: ``host:port``.
        token: bearer token sent as ``authorization`` metadata, if the server wants one.
        timeout_s: per-call deadline in seconds (default 30); for ``stream_score``, the
            longest wait for the answer to one chunk.
        retries: extra attempts on UNAVAILABLE (default 3, at most 4: gRPC caps a call at
            5 attempts). gRPC itself retries (``retryPolicy`` in the channel's service
            config) with randomised exponential backoff from ``backoff_s`` (default 0.1 s)
            up to ``max_backoff_s`` (default 5 s). A stream that breaks after some answers
            is past what gRPC can replay, so the client resumes it itself: ``stream_score``
            re-sends only the chunks not yet answered, ``recommend`` asks again only for the
            users not yet answered.
        root_certificates, private_key, certificate_chain: PEM bytes for TLS/mTLS.
        max_message_bytes: message size limit both ways (default 64 MiB).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
        max_message_bytes: int = 64 << 20,
    ) -> None:
        if not 0 <= retries <= MAX_RETRIES:
            raise ValueError(f"retries must be 0..{MAX_RETRIES} (gRPC allows 5 attempts per call), got {retries}")
        options: list[tuple[str, Any]] = [
            *HTTP2_BULK_OPTIONS,
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            *retry_options(retries, backoff_s, max_backoff_s, max_message_bytes),
        ]
        if root_certificates is not None:
            creds = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = scoring_pb2_grpc.ScoringServiceStub(self._channel)
        self._explain = explanation_pb2_grpc.ExplanationServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s

    @classmethod
    def from_files(cls, target: str, ca: Path, cert: Path | None = None, key: Path | None = None, **kw: Any) -> Client:
        """A TLS client from PEM file paths (client cert/key for mTLS)."""
        return cls(
            target,
            root_certificates=ca.read_bytes(),
            certificate_chain=cert.read_bytes() if cert else None,
            private_key=key.read_bytes() if key else None,
            **kw,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def _call(self, fn: Callable[..., T], request: Any) -> T:
        """A unary call with the deadline (the channel's retry policy retries UNAVAILABLE)."""
        return fn(request, timeout=self.timeout_s, metadata=self._metadata)

    def _retry_or_raise(self, exc: grpc.RpcError, attempt: int) -> None:
        """Before resuming a broken stream: sleep when ``exc`` is UNAVAILABLE and attempts remain; else re-raise."""
        if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt >= self.retries:  # type: ignore[attr-defined]
            raise exc
        time.sleep(self.backoff_s * 2**attempt * (1 + random.random()))

    def score_pairs(
        self,
        user_ids: np.ndarray,
        movie_ids: np.ndarray,
        *,
        kinds: Sequence[str] = ("link",),
        model: str = "",
        version: str = "",
    ) -> PairScores:
        """Score one batch (MovieLens ids, int64 arrays of equal length)."""
        return _scores(self._call(self._stub.ScorePairs, _request(user_ids, movie_ids, kinds, model, version)))

    def stream_score(
        self,
        chunks: Iterable[tuple[np.ndarray, np.ndarray]],
        *,
        kinds: Sequence[str] = ("link",),
        model: str = "",
        version: str = "",
    ) -> Iterator[PairScores]:
        """Bulk scoring: one ``PairScores`` per input chunk, in order, streamed both ways.

        Each chunk must be answered within ``timeout_s`` (time the caller spends
        between chunks does not count), else ``StreamTimeoutError``
        (DEADLINE_EXCEEDED). On UNAVAILABLE the stream is reopened up to
        ``retries`` times and only the chunks not yet answered are sent again,
        so every chunk is answered exactly once, in order. An exception raised
        by ``chunks`` (e.g. a bad input row) is re-raised as itself, not as
        grpc's "Exception iterating requests".
        """
        stream = _ResumableChunks(iter(chunks), lambda u, m: _request(u, m, kinds, model, version))
        for attempt in range(self.retries + 1):
            try:
                yield from self._stream_once(stream)
                return
            except grpc.RpcError as exc:
                if stream.failure:
                    raise stream.failure[0] from None
                self._retry_or_raise(exc, attempt)
                stream.restart()

    def _stream_once(self, stream: _ResumableChunks) -> Iterator[PairScores]:
        call = self._stub.StreamScorePairs(stream.requests(), metadata=self._metadata)
        watchdog = _Watchdog(self.timeout_s, call.cancel)
        try:
            while True:
                watchdog.start()
                try:
                    response = next(call)
                except StopIteration:
                    return
                except grpc.RpcError:
                    if watchdog.fired:
                        raise StreamTimeoutError(self.timeout_s) from None
                    raise
                finally:
                    watchdog.stop()
                stream.answered()
                yield _scores(response.result)
        finally:
            call.cancel()  # a no-op once the call has ended; stops it when the caller walks away

    def recommend(
        self,
        user_ids: Sequence[int],
        k: int = 10,
        *,
        exclude_rated: bool | None = None,
        genres: Sequence[str] = (),
        model: str = "",
        version: str = "",
        include_rated: bool | None = None,
    ) -> Iterator[UserRecommendations]:
        """Top-``k`` per user, streamed in request order.

        ``exclude_rated`` (default True) leaves out the movies each user rated, as
        ``Scorer.recommend`` does; ``include_rated`` is its older, inverted name
        (the proto field), still accepted. Each call has the ``timeout_s``
        deadline; on UNAVAILABLE only the users not yet answered are asked again.
        """
        if exclude_rated is not None and include_rated is not None:
            raise ValueError("pass exclude_rated or its inverse include_rated, not both")
        exclude = not include_rated if include_rated is not None else exclude_rated is not False
        users = [int(u) for u in user_ids]
        done = 0
        for attempt in range(self.retries + 1):
            request = pb.RecommendRequest(
                model=pb.ModelRef(name=model, version=version),
                user_ids=users[done:],
                k=k,
                include_rated=not exclude,
                genres=list(genres),
            )
            try:
                for r in self._stub.Recommend(request, timeout=self.timeout_s, metadata=self._metadata):
                    done += 1
                    yield _recommendations(r)
                return
            except grpc.RpcError as exc:
                self._retry_or_raise(exc, attempt)

    def recommend_from_ratings(
        self,
        movie_ids: np.ndarray,
        stars: np.ndarray,
        k: int = 10,
        *,
        genres: Sequence[str] = (),
        timestamps: np.ndarray | None = None,
        model: str = "",
        version: str = "",
    ) -> UserRecommendations:
        """Top-``k`` for one user given by their ratings (nothing stored; user_id -1).

        The given movies are never recommended back; an empty history gets the
        popular movies. Unknown movies or stars outside 0.5–5 raise
        ``grpc.RpcError`` INVALID_ARGUMENT. Retried on UNAVAILABLE like unary calls.
        """
        request = pb.RecommendRequest(
            model=pb.ModelRef(name=model, version=version),
            k=k,
            genres=list(genres),
            history=_history(movie_ids, stars, timestamps),
        )
        (r,) = self._call(lambda req, **kw: list(self._stub.Recommend(req, **kw)), request)
        return _recommendations(r)

    def score_from_ratings(
        self,
        movie_ids: np.ndarray,
        stars: np.ndarray,
        candidate_movie_ids: np.ndarray,
        *,
        kinds: Sequence[str] = ("link",),
        timestamps: np.ndarray | None = None,
        model: str = "",
        version: str = "",
    ) -> PairScores:
        """Score one user given by their ratings against ``candidate_movie_ids``.

        Aligned with the candidates; ``status`` 2 marks unknown candidates (NaN
        scores). A bad history raises ``grpc.RpcError`` INVALID_ARGUMENT.
        """
        request = _request(np.zeros(0, np.int64), candidate_movie_ids, kinds, model, version)
        request.ClearField("user_ids")
        request.history.CopyFrom(_history(movie_ids, stars, timestamps))
        return _scores(self._call(self._stub.ScorePairs, request))

    def score_new_movie(
        self,
        user_ids: np.ndarray,
        genres: Sequence[str],
        year: int | None = None,
        title: str = "",
        tags: Sequence[str] = (),
        *,
        kinds: Sequence[str] = ("link",),
        model: str = "",
        version: str = "",
    ) -> PairScores:
        """Score ``user_ids`` against one movie given as content (in no bundle; needs the content model).

        ``title`` is required here; ``year`` 1870–2100 or None. ``status`` 1 marks
        unknown users (NaN scores); bad content raises ``grpc.RpcError`` INVALID_ARGUMENT.
        """
        request = _request(user_ids, np.zeros(0, np.int64), kinds, model, version)
        request.ClearField("movie_ids")
        request.movie.CopyFrom(_content_movie(genres, year, title, tags))
        return _scores(self._call(self._stub.ScorePairs, request))

    def audience(
        self,
        genres: Sequence[str],
        year: int | None = None,
        title: str = "",
        tags: Sequence[str] = (),
        *,
        k: int = 10,
        model: str = "",
        version: str = "",
    ) -> Audience:
        """The ``k`` (1–100,000) stored users most likely to rate a movie given as content, best first.

        The streamed chunks are gathered; retried on UNAVAILABLE like unary calls.
        """
        request = pb.AudienceRequest(
            model=pb.ModelRef(name=model, version=version), movie=_content_movie(genres, year, title, tags), k=k
        )
        chunks = self._call(lambda req, **kw: list(self._stub.Audience(req, **kw)), request)
        members = [m for c in chunks for m in c.users]
        ref = chunks[0].model if chunks else pb.ModelRef()
        return Audience(
            ref.name,
            ref.version,
            np.array([m.user_id for m in members], dtype=np.int64),
            np.array([m.score for m in members], dtype=np.float32),
        )

    def submit_explanation(
        self,
        user_id: int,
        movie_id: int,
        *,
        method: int = 0,
        n_steps: int = 50,
        top_k: int = 10,
        want_plots: bool = False,
        model: str = "",
        version: str = "",
        offset: int = 0,
        kind: int = 0,
        history: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> explanation_pb2.SubmitExplanationResponse:
        """Queue an explanation (an identical request returns the existing job).

        ``method`` 0 is the ranking model's exact reasons (``EXPLAIN_METHOD_RANKING``); every
        list of the result holds at most ``top_k`` items (1..100), from ``offset`` on: ask
        again with ``offset + top_k`` for the next page. ``kind`` ``SCORE_KIND_RATING`` explains
        the predicted stars instead (``result.rating``); ``history`` (movie ids, stars) explains
        for a user given by their ratings (``user_id`` is then ignored).
        """
        request = explanation_pb2.SubmitExplanationRequest(
            model=pb.ModelRef(name=model, version=version),
            user_id=user_id,
            movie_id=movie_id,
            method=method,  # type: ignore[arg-type]  # an ExplainMethod value
            n_steps=n_steps,
            top_k=top_k,
            want_plots=want_plots,
            offset=offset,
            kind=kind,  # type: ignore[arg-type]  # a ScoreKind value
        )
        if history is not None:
            request.history.CopyFrom(_history(*history, None))
        response: explanation_pb2.SubmitExplanationResponse = self._call(self._explain.SubmitExplanation, request)
        return response

    def submit_global_explanation(
        self,
        *,
        user_ids: Sequence[int] = (),
        sample_users: int = 0,
        recommendations: int = 10,
        genre: str = "",
        top_k: int = 10,
        want_plots: bool = False,
        model: str = "",
        version: str = "",
    ) -> explanation_pb2.SubmitExplanationResponse:
        """Queue a global explanation: what drives many recommendations (``result.global_summary``).

        Over ``user_ids`` (at most 1,000 stored users) or a fixed sample of ``sample_users``
        (1..1,000), each user's top ``recommendations`` (1..50), only ``genre`` when set;
        every list of the summary holds at most ``top_k`` drivers. Follow it with
        ``watch_explanation`` (progress events, then the result).
        """
        scope = explanation_pb2.GlobalScope(
            user_ids=list(user_ids), sample_users=sample_users, recommendations=recommendations, genre=genre
        )
        request = explanation_pb2.SubmitExplanationRequest(
            model=pb.ModelRef(name=model, version=version), top_k=top_k, want_plots=want_plots, global_scope=scope
        )
        response: explanation_pb2.SubmitExplanationResponse = self._call(self._explain.SubmitExplanation, request)
        return response

    def explain_batch(
        self,
        user_ids: Sequence[int],
        movie_ids: Sequence[int],
        *,
        method: int = 0,
        n_steps: int = 50,
        top_k: int = 10,
        model: str = "",
        version: str = "",
        timeout_s: float | None = None,
    ) -> Iterator[explanation_pb2.ExplainBatchResponse]:
        """Explain many (user, movie) pairs with the same options (at most 1,000 per call).

        Yields one outcome per pair as each becomes final, in completion order (``index``
        is the pair's position): ``kind`` is done (with ``result``), failed, cancelled or
        rejected (bad ids, nothing queued). ``timeout_s`` bounds the whole stream (default:
        none). Options as in ``submit_explanation``.
        """
        if len(user_ids) != len(movie_ids):
            raise ValueError(f"user_ids ({len(user_ids)}) and movie_ids ({len(movie_ids)}) differ in length")
        options = explanation_pb2.SubmitExplanationRequest(
            model=pb.ModelRef(name=model, version=version),
            method=method,  # type: ignore[arg-type]  # an ExplainMethod value
            n_steps=n_steps,
            top_k=top_k,
        )
        request = explanation_pb2.ExplainBatchRequest(
            options=options, user_ids=[int(u) for u in user_ids], movie_ids=[int(m) for m in movie_ids]
        )
        yield from self._explain.ExplainBatch(request, timeout=timeout_s, metadata=self._metadata)

    def watch_explanation(
        self, job_id: str, after_event: str = "", timeout_s: float | None = None
    ) -> Iterator[explanation_pb2.WatchExplanationResponse]:
        """Events until the job is final; pass the last ``event_id`` seen to resume."""
        request = explanation_pb2.WatchExplanationRequest(job_id=job_id, after_event=after_event)
        yield from self._explain.WatchExplanation(request, timeout=timeout_s, metadata=self._metadata)

    def get_explanation(self, job_id: str) -> explanation_pb2.GetExplanationResponse:
        """A job's status and result."""
        response: explanation_pb2.GetExplanationResponse = self._call(
            self._explain.GetExplanation, explanation_pb2.GetExplanationRequest(job_id=job_id)
        )
        return response

    def cancel_explanation(self, job_id: str) -> bool:
        """Cancel unless final."""
        request = explanation_pb2.CancelExplanationRequest(job_id=job_id)
        return bool(self._call(self._explain.CancelExplanation, request).cancelled)

    def list_models(self) -> list[pb.ModelInfo]:
        """Every loaded bundle."""
        return list(self._call(self._stub.ListModels, pb.ListModelsRequest()).models)

    def get_model(self, name: str = "", version: str = "") -> pb.ModelInfo:
        """One bundle's description (NOT_FOUND raises ``grpc.RpcError``)."""
        request = pb.GetModelRequest(model=pb.ModelRef(name=name, version=version))
        info: pb.ModelInfo = self._call(self._stub.GetModel, request).model
        return info


class StreamTimeoutError(grpc.RpcError):  # type: ignore[misc]  # grpc has no type stubs
    """A ``stream_score`` chunk went unanswered for ``timeout_s``: the call was cancelled.

    A ``grpc.RpcError`` whose ``code()`` is DEADLINE_EXCEEDED, so callers handle it as any failed call.
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no answer to a chunk within {timeout_s:g} s")
        self.timeout_s = timeout_s

    def code(self) -> grpc.StatusCode:
        """DEADLINE_EXCEEDED."""
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        """What happened, in words."""
        return str(self)


class _Watchdog:
    """Calls ``action`` when started and not stopped within ``timeout_s``."""

    def __init__(self, timeout_s: float, action: Callable[[], object]) -> None:
        self.timeout_s, self.action = timeout_s, action
        self.fired = False
        self._timer: threading.Timer | None = None

    def _fire(self) -> None:
        self.fired = True
        self.action()

    def start(self) -> None:
        self._timer = threading.Timer(self.timeout_s, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _ResumableChunks:
    """The requests of a ``stream_score`` call, able to start again after a broken stream.

    Chunks sent but not yet answered are kept (responses come one per chunk, in
    order), so a new stream sends those again before reading on. A lock and a
    generation number keep a dead stream's request thread from reading on.
    """

    def __init__(
        self, source: Iterator[tuple[np.ndarray, np.ndarray]], build: Callable[..., pb.ScorePairsRequest]
    ) -> None:
        self.source, self.build = source, build
        self.pending: deque[pb.StreamScorePairsRequest] = deque()
        self.failure: list[Exception] = []
        self.generation = 0
        self.lock = threading.Lock()

    def requests(self) -> Iterator[pb.StreamScorePairsRequest]:
        with self.lock:
            generation, replay = self.generation, list(self.pending)
        yield from replay
        while True:
            with self.lock:
                if generation != self.generation:
                    return
                try:
                    u, m = next(self.source)
                    request = pb.StreamScorePairsRequest(batch=self.build(u, m))
                except StopIteration:
                    return
                except Exception as exc:  # not GeneratorExit: grpc closes us when the call ends
                    self.failure.append(exc)
                    raise
                self.pending.append(request)
            yield request

    def answered(self) -> None:
        self.pending.popleft()

    def restart(self) -> None:
        with self.lock:
            self.generation += 1


def retry_options(
    retries: int, backoff_s: float, max_backoff_s: float, replay_bytes: int = 64 << 20
) -> list[tuple[str, Any]]:
    """Channel options that make gRPC retry UNAVAILABLE calls ``retries`` times.

    The policy lives in the channel's service config, so gRPC replays the call with
    randomised exponential backoff (``backoff_s`` doubling up to ``max_backoff_s``)
    and honours the server's pushback; ``retries=0`` turns retrying off. gRPC can only
    replay what it kept: its default 256 KiB per call would leave bulk requests
    unretried, so it keeps up to ``replay_bytes`` (default 64 MiB, the message limit).
    """
    if retries == 0:
        return [("grpc.enable_retries", 0)]
    policy = {
        "maxAttempts": retries + 1,
        "initialBackoff": f"{backoff_s:.3f}s",
        "maxBackoff": f"{max(max_backoff_s, backoff_s):.3f}s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    config = {"methodConfig": [{"name": [{"service": s} for s in _SERVICES], "retryPolicy": policy}]}
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(config)),
        ("grpc.per_rpc_retry_buffer_size", replay_bytes),
    ]


def _recommendations(r: pb.RecommendResponse) -> UserRecommendations:
    return UserRecommendations(
        r.user_id, [m.movie_id for m in r.movies], [m.title for m in r.movies], [m.score for m in r.movies], r.error
    )


def _history(movie_ids: np.ndarray, stars: np.ndarray, timestamps: np.ndarray | None) -> pb.RatingHistory:
    history = pb.RatingHistory(
        movie_ids=wire_tensor(id_column(np.asarray(movie_ids, dtype=np.int64))),
        stars=wire_tensor(np.asarray(stars, dtype=np.float32)),
    )
    if timestamps is not None:
        history.timestamps.CopyFrom(wire_tensor(np.asarray(timestamps, dtype=np.int64)))
    return history


def _content_movie(genres: Sequence[str], year: int | None, title: str, tags: Sequence[str]) -> pb.ContentMovie:
    return pb.ContentMovie(title=title, genres=list(genres), year=year or 0, tags=list(tags))


def _request(u: np.ndarray, m: np.ndarray, kinds: Sequence[str], model: str, version: str) -> pb.ScorePairsRequest:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"invalid kind(s) {unknown}; expected some of {sorted(KINDS)}")
    return pb.ScorePairsRequest(
        model=pb.ModelRef(name=model, version=version),
        user_ids=wire_tensor(id_column(np.asarray(u, dtype=np.int64))),
        movie_ids=wire_tensor(id_column(np.asarray(m, dtype=np.int64))),
        kinds=[KINDS[k] for k in kinds],
    )


def _scores(r: pb.ScorePairsResponse) -> PairScores:
    return PairScores(
        r.model.name,
        r.model.version,
        decode(r.link_probability, "link_probability", expect=FLOAT32) if r.HasField("link_probability") else None,
        decode(r.rating, "rating", expect=FLOAT32) if r.HasField("rating") else None,
        decode(r.status, "status", expect=UINT8),
    )


__all__ = ["Audience", "Client", "PairScores", "StreamTimeoutError", "UserRecommendations"]
