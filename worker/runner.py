"""The worker loop: claim a job, explain, store the result, ack. At least once, never lost.

A Redis outage of any length stops nothing but the claiming: the loops wait for
Redis with capped exponential backoff (``worker.redis_link``), a job in hand
keeps computing and stores its result once Redis is back (or, when the worker
is told to stop first, stays pending for redelivery), and claiming resumes
with this worker's own pending entries.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import threading
import time
from collections import OrderedDict

import numpy as np
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from reelgraph import logs
from reelgraph.bundle.loader import Bundle, load_bundle
from reelgraph.errors import InvalidOptionError
from reelgraph.graphs.idmap import IdMap
from reelgraph.jobs import failures
from reelgraph.jobs.queue import Delivery, JobQueue
from reelgraph.jobs.records import ExplainMethod, ExplainRequest, ExplanationResult, GlobalSummary
from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from reelgraph.settings import resolve_device
from worker.explainer import PairExplainer
from worker.metrics import Outcome, WorkerMetrics
from worker.redis_link import REDIS_DOWN, RedisLink
from worker.result import BundleIds, build_result, ranking_result, rating_result
from worker.settings import WorkerSettings

log = logging.getLogger(__name__)
_CACHED_BUNDLES = 2
HEARTBEAT_S = 10  # seconds between heartbeats; the Redis key lives 3× as long


class JobCancelled(Exception):  # noqa: N818  (an outcome, not a fault)
    """The job was cancelled while running."""


class Loaded:
    """One bundle version as the worker uses it: the ``Scorer`` (the default method) and the
    link GNN's ``PairExplainer`` (the Captum methods), each built on first use."""

    def __init__(self, bundle: Bundle, device: str) -> None:
        self.bundle, self.device = bundle, device
        g = bundle.graph
        self.ids = BundleIds(g, list(bundle.manifest.data.get("feature_names", [])))
        self.users = IdMap("user", g.user_ids.numpy())
        self.movies = IdMap("movie", g.movie_ids.numpy())
        self._scorer: Scorer | None = None
        self._explainer: PairExplainer | None = None
        self._lock = threading.Lock()

    def scorer(self, ranking: bool = True) -> Scorer:
        """The bundle's ``Scorer``; ``InvalidOptionError`` when ``ranking`` and it has no ranking model."""
        with self._lock:
            if self._scorer is None:
                self._scorer = Scorer(self.bundle)
        if ranking and self._scorer.ranking is None:
            raise InvalidOptionError("this bundle has no ranking model: ask for a Captum method")
        return self._scorer

    def explainer(self) -> PairExplainer:
        """The link GNN's explainer."""
        with self._lock:
            if self._explainer is None:
                self._explainer = PairExplainer(self.bundle, self.device)
            return self._explainer


class Worker:
    """Processes explanation jobs until ``stop`` is set (SIGTERM: finish the current job, then exit)."""

    def __init__(
        self, settings: WorkerSettings, queue: JobQueue | None = None, metrics: WorkerMetrics | None = None
    ) -> None:
        self.settings = settings
        self.queue = queue or JobQueue(_client(settings), settings.queue)
        self.metrics = metrics or WorkerMetrics()
        self.device = resolve_device(settings.device)
        self.stop = threading.Event()
        self.link = RedisLink(self.queue.redis, self.metrics.redis_up, self.stop)
        self._loaded: OrderedDict[tuple[str, str], Loaded] = OrderedDict()
        self._loading = threading.Lock()  # concurrent loops share loaded bundles
        self._plotting = threading.Lock()  # pyplot is not thread-safe
        self._running: dict[str, Delivery] = {}  # consumer → the delivery it is working on

    def consumers(self) -> list[str]:
        """Consumer-group names of this worker's loops: its name, or ``name-1 … name-N``."""
        n = self.settings.concurrency
        return [self.settings.name] if n == 1 else [f"{self.settings.name}-{i + 1}" for i in range(n)]

    def run(self) -> None:
        """Preload, then ``concurrency`` claim-and-handle loops; a thread heartbeats meanwhile."""
        if not self.link.persist(self.queue.ensure_group):
            return
        self.warm_up()
        beat = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        beat.start()
        names = self.consumers()
        if len(names) == 1:
            self._loop(names[0])
            return
        loops = [threading.Thread(target=self._loop, args=(n,), name=n) for n in names]
        for t in loops:
            t.start()
        for t in loops:
            t.join()

    def _loop(self, consumer: str) -> None:
        own_pending = True  # after a restart, first finish what this consumer held
        while not self.stop.is_set():
            try:
                deliveries = self.queue.claim(consumer, own_pending=own_pending)
                self.link.back()
                own_pending = bool(deliveries) and own_pending
                for delivery in deliveries:
                    self._running[consumer] = delivery
                    try:
                        self.handle(delivery, consumer)
                    finally:
                        self._running.pop(consumer, None)
            except REDIS_DOWN as exc:
                self.link.lost(exc)
                if not self.link.wait():
                    return
                own_pending = True  # a job it could not start or settle is pending on this consumer
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("the consumer group is gone (Redis restarted without its data); creating it")
                self.link.persist(self.queue.ensure_group)

    def warm_up(self) -> None:
        """Load every bundle's LATEST version (and the lazy imports) before the first job."""
        from reelgraph.bundle.loader import bundle_names, resolve_version

        root = self.settings.bundles_dir
        for name in bundle_names(root):
            try:
                loaded = self._explainer(name, resolve_version(root / name).name)
                if "ranking" in loaded.bundle.manifest.models:
                    loaded.scorer()
                loaded.explainer()
            except Exception as exc:  # a broken bundle fails its jobs, not the worker
                log.warning("warm-up skipped %s: %s", name, exc)
        import captum.attr  # noqa: F401  (seconds of imports, paid now rather than by the first job)

    def _heartbeats(self) -> None:
        """Until ``stop``: announce this worker and keep its running jobs' entries fresh.

        Touching a running job's stream entry resets its idle time, so only jobs of
        a dead worker ever pass the visibility timeout and get taken over.
        """
        every = max(0.2, min(HEARTBEAT_S, self.settings.queue.visibility_timeout_s / 3))
        while True:
            try:
                self.queue.heartbeat(self.settings.name, ttl_s=3 * HEARTBEAT_S)
                self.metrics.heartbeat.set_to_current_time()
                self.link.back()
                for consumer, delivery in list(self._running.items()):
                    self.queue.touch(consumer, delivery)
            except REDIS_DOWN as exc:  # keep beating: it resumes when Redis is back
                self.link.lost(exc)
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            if self.stop.wait(every):
                return

    def handle(self, delivery: Delivery, consumer: str | None = None) -> None:
        """Run one job; XACK only after the result (or the final failure) is stored."""
        with logs.bound(logs.job_id, delivery.job_id):
            request = self.queue.start(delivery, consumer or self.settings.name)
            if request is None:
                return
            log.info("job started (delivery %d): user %d movie %d, %s", delivery.deliveries,
                     request.user_id, request.movie_id, request.method)  # fmt: skip
            started = time.perf_counter()
            outcome = self._run(delivery, request, consumer)
            seconds = time.perf_counter() - started
            self.metrics.finished(outcome, request.method, seconds)
            log.info("job %s in %.2f s", outcome.value, seconds)

    def _run(self, delivery: Delivery, request: ExplainRequest, consumer: str | None) -> Outcome:
        """Explain, then settle the job in Redis, waiting out any outage (each settling write is
        idempotent). Told to stop during an outage, it leaves the job pending: RETRY."""
        try:
            result = self.explain(request, delivery.job_id)
        except JobCancelled:
            return Outcome.CANCELLED if self.link.persist(lambda: self.queue.ack(delivery)) else Outcome.RETRY
        except Exception as exc:  # permanent: FAILED now; transient: retried with backoff, then dead-lettered
            self._running.pop(consumer or "", None)  # no more heartbeats: they would undo the retry backoff
            permanent = failures.is_permanent(exc)
            kind = "permanent" if permanent else "transient"
            log.exception("job failed (delivery %d, %s)", delivery.deliveries, kind)
            final: list[bool] = []
            reason = failures.describe(exc)
            self.link.persist(lambda: final.append(self.queue.fail(delivery, reason, permanent=permanent)))
            return Outcome.FAILED if final and final[0] else Outcome.RETRY
        stored = self.link.persist(lambda: self.queue.finish(delivery, result))
        return Outcome.DONE if stored else Outcome.RETRY

    def explain(self, request: ExplainRequest, job_id: str) -> ExplanationResult:
        """One request explained (``Ranking``, a rating prediction, or a Captum method), with progress events."""
        started = time.perf_counter()
        method = _check(request)
        loaded = self._explainer(request.model, request.version)
        self._progress(job_id, 0.1)
        if request.is_global:
            result = self._global(request, job_id, loaded)
        elif method is ExplainMethod.RANKING:  # rating and history requests too (``_check`` holds them to it)
            result = _reasons(loaded.scorer(ranking=request.kind != ModelKind.RATING.value), request)
        else:
            u = int(loaded.users.index(np.array([request.user_id]))[0])
            m = int(loaded.movies.index(np.array([request.movie_id]))[0])
            explainer = loaded.explainer()
            attr = explainer.attribute(u, m, method, request.n_steps)
            self._progress(job_id, 0.7)
            result = build_result(explainer, attr, request.top_k, loaded.ids, offset=request.offset)
            result = dataclasses.replace(result, method=method.value)
        self._progress(job_id, 0.9)
        if request.want_plots and result.global_summary is not None:
            from worker.plots import global_png

            with self._plotting:
                png = global_png(result.global_summary)
            result = dataclasses.replace(result, pngs={"global.png": base64.b64encode(png).decode()})
        elif request.want_plots and result.rating is not None:
            from worker.plots import rating_png

            with self._plotting:
                png = rating_png(result, request.user_id)
            result = dataclasses.replace(result, pngs={"attributions.png": base64.b64encode(png).decode()})
        elif request.want_plots:
            from worker.plots import attribution_png, subgraph_png

            with self._plotting:
                pngs = {
                    "attributions.png": attribution_png(result, request.user_id, request.movie_id),
                    "subgraph.png": subgraph_png(result, request.user_id, request.movie_id),
                }
            result = dataclasses.replace(result, pngs={k: base64.b64encode(v).decode() for k, v in pngs.items()})
        return dataclasses.replace(result, seconds=time.perf_counter() - started)

    def _global(self, request: ExplainRequest, job_id: str, loaded: Loaded) -> ExplanationResult:
        """What drives many recommendations (``worker.global_summary``), progress from 0.1 to 0.9."""
        from worker.global_summary import stored_users, summarise

        scorer = loaded.scorer()
        users = stored_users(scorer, request.global_users, request.global_sample)
        summary = summarise(
            scorer,
            users,
            request.global_recommendations,
            request.global_genre,
            request.top_k,
            lambda done: self._progress(job_id, 0.1 + 0.8 * done),
        )
        return ExplanationResult(
            probability=0.0,
            logit=0.0,
            attribution_total=summary.mean_rated,
            method=ExplainMethod.RANKING.value,
            sentence=_global_sentence(summary),
            global_summary=summary,
        )

    def _progress(self, job_id: str, fraction: float) -> None:
        """Report progress; raise ``JobCancelled`` when the job was cancelled. With Redis
        down the event is dropped and the work goes on: its result is stored once Redis is back."""
        try:
            cancelled = not self.queue.progress(job_id, fraction)
        except REDIS_DOWN as exc:
            self.link.lost(exc)
            return
        self.link.back()
        if cancelled:
            raise JobCancelled(job_id)

    def _explainer(self, name: str, version: str) -> Loaded:
        with self._loading:
            return self._explainer_locked(name, version)

    def _explainer_locked(self, name: str, version: str) -> Loaded:
        key = (name, version)
        if key not in self._loaded:
            bundle = load_bundle(self.settings.bundles_dir / name / version)  # verified, like the server
            self._loaded[key] = Loaded(bundle, self.device)
            self.metrics.bundles.labels(name, version).set(1)
            while len(self._loaded) > _CACHED_BUNDLES:
                (old_name, old_version), _ = self._loaded.popitem(last=False)
                self.metrics.bundles.remove(old_name, old_version)
        self._loaded.move_to_end(key)
        return self._loaded[key]


def _global_sentence(s: GlobalSummary) -> str:
    """One line for a UI: the genres and the movies that carry the most recommendations."""
    if not s.pairs:
        return "No recommendations to explain."
    genres = ", ".join(d.name for d in s.genres[:3])
    movies = ", ".join(d.name for d in s.movies[:3])
    return f"Across {s.pairs} recommendations to {s.users} users, ratings of {genres} movies carry the most; "\
        f"the ratings that count most are of {movies}."  # fmt: skip


def _reasons(scorer: Scorer, request: ExplainRequest) -> ExplanationResult:
    """The default method's result: the ranking model's reasons, or a rating prediction's
    (``kind`` rating), for the stored user or the request's history."""
    k = request.offset + request.top_k
    history = (np.array(request.history_movie_ids, np.int64), np.array(request.history_stars, np.float32))
    if request.kind == ModelKind.RATING.value:
        why = (
            scorer.explain_rating_from_ratings(*history, request.movie_id, k=k)
            if request.has_history
            else scorer.explain_rating(request.user_id, request.movie_id, k=k)
        )
        return rating_result(why, request.top_k, request.offset)
    reasons = (
        scorer.explain_from_ratings(*history, request.movie_id, k=k)
        if request.has_history
        else scorer.explain_recommendation(request.user_id, request.movie_id, k=k)
    )
    return ranking_result(reasons, request.top_k, request.offset)


def _check(request: ExplainRequest) -> ExplainMethod:
    """The request's method; refuse a request no run can satisfy (``InvalidOptionError``: permanent)."""
    methods = [m.value for m in ExplainMethod]
    if request.method not in methods:
        raise InvalidOptionError(f"invalid method {request.method!r}; expected one of: {', '.join(methods)}")
    if request.n_steps < 1 or request.top_k < 1:
        raise InvalidOptionError(f"n_steps ({request.n_steps}) and top_k ({request.top_k}) must be >= 1")
    if request.is_global and request.method != ExplainMethod.RANKING:
        raise InvalidOptionError(f"a global explanation uses the Ranking method, not {request.method}")
    if request.kind not in (ModelKind.LINK.value, ModelKind.RATING.value):
        raise InvalidOptionError(f"invalid kind {request.kind!r}; expected link or rating")
    deletion = request.kind == ModelKind.RATING.value or request.has_history
    if deletion and request.method != ExplainMethod.RANKING:
        raise InvalidOptionError(f"a rating or a history is explained by the default method, not {request.method}")
    return ExplainMethod(request.method)


def _client(settings: WorkerSettings) -> redis.Redis:
    """The worker's Redis client. One quiet retry covers a pooled connection that a Redis
    restart closed; anything longer is an outage for ``RedisLink``. The socket timeout
    (past the claim's blocking read) turns a Redis that stopped answering into an error."""
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 1),
        socket_connect_timeout=5,
        socket_timeout=settings.queue.block_ms / 1000 + 10,
    )
