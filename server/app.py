"""Assemble and run the grpc.aio server: scoring, health, reflection, hot reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc
import redis
from grpc_health.v1 import health, health_pb2
from grpc_reflection.v1alpha import reflection, reflection_pb2

from reelgraph.jobs.queue import JobQueue
from reelgraph.metrics_http import serve_metrics
from reelgraph_client.api.inference import open_inference_grpc_pb2
from reelgraph_client.api.v1 import explanation_pb2, scoring_pb2
from reelgraph_client.tensors import HTTP2_BULK_OPTIONS
from server.calls import CallPolicy
from server.explanation_servicer import ExplanationServicer
from server.explanations import ExplanationJobs
from server.inference import InferenceServicer
from server.method_handlers import add_service
from server.metrics import ServerMetrics
from server.registry import ModelRegistry
from server.servicer import ScoringServicer
from server.settings import ServerSettings

log = logging.getLogger(__name__)
SCORING_DESCRIPTOR = scoring_pb2.DESCRIPTOR.services_by_name["ScoringService"]
SCORING = SCORING_DESCRIPTOR.full_name
# The Open Inference Protocol (KServe v2), on the same port and behind the same policy.
INFERENCE_DESCRIPTOR = open_inference_grpc_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
EXPLANATION_DESCRIPTOR = explanation_pb2.DESCRIPTOR.services_by_name["ExplanationService"]
HEALTH_DESCRIPTOR = health_pb2.DESCRIPTOR.services_by_name["Health"]
REFLECTION_DESCRIPTOR = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class RunningServer:
    """A started server and what it owns; ``stop`` shuts it down gracefully."""

    server: grpc.aio.Server
    port: int
    registry: ModelRegistry
    health: health.aio.HealthServicer
    executor: ThreadPoolExecutor
    reloader: asyncio.Task[None] | None
    settings: ServerSettings
    jobs: ExplanationJobs
    metrics: ServerMetrics
    inference: InferenceServicer
    metrics_port: int | None = None
    _metrics_http: Any = None

    async def stop(self) -> None:
        """Health → NOT_SERVING (and the Open Inference Protocol's readiness false), then stop with the grace."""
        self.inference.drain()
        await self.health.enter_graceful_shutdown()
        if self.reloader is not None:
            self.reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reloader
        await self.server.stop(self.settings.grace_s)
        await self.jobs.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()


async def start(settings: ServerSettings) -> RunningServer:
    """Load bundles, bind, start serving and the reload loop."""
    registry = ModelRegistry(settings.bundles_dir, settings.default_model)
    executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="reelgraph-score")
    await asyncio.get_running_loop().run_in_executor(executor, registry.refresh)
    metrics = ServerMetrics()
    # Every service, health and reflection included, is registered behind one policy.
    policy = CallPolicy(metrics, settings.auth_tokens)
    options = [
        *HTTP2_BULK_OPTIONS,
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
    ]
    server = grpc.aio.server(options=options)
    add_service(ScoringServicer(registry, executor, settings.max_pairs, metrics), SCORING_DESCRIPTOR, server, policy)
    inference = InferenceServicer(registry, executor, settings.max_pairs, metrics)
    add_service(inference, INFERENCE_DESCRIPTOR, server, policy)
    jobs = ExplanationJobs(registry, settings.redis_url, executor)
    metrics.watch(registry, _scrape_queue(settings.redis_url))
    add_service(ExplanationServicer(jobs), EXPLANATION_DESCRIPTOR, server, policy)
    health_servicer = health.aio.HealthServicer()
    add_service(health_servicer, HEALTH_DESCRIPTOR, server, policy)
    names = (
        SCORING,
        INFERENCE_DESCRIPTOR.full_name,
        EXPLANATION_DESCRIPTOR.full_name,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    add_service(reflection.aio.ReflectionServicer(names), REFLECTION_DESCRIPTOR, server, policy)
    port = _bind(server, settings)
    await server.start()
    await _set_health(health_servicer, registry.ready)
    reloader = None
    if settings.reload_interval_s > 0:
        reloader = asyncio.create_task(_reload_loop(registry, health_servicer, executor, settings.reload_interval_s))
    log.info("serving on %s:%d (%d bundles)", settings.host, port, len(registry.all_latest()))
    running = RunningServer(
        server, port, registry, health_servicer, executor, reloader, settings, jobs, metrics, inference
    )
    if settings.metrics_port is not None:
        http, running.metrics_port = serve_metrics(metrics.registry, settings.host, settings.metrics_port)
        running._metrics_http = http
        log.info("metrics on http://%s:%d/metrics", settings.host, running.metrics_port)
    return running


def _scrape_queue(redis_url: str | None) -> JobQueue | None:
    """A queue client for metric scrapes, with short timeouts so a dead Redis never stalls one."""
    if redis_url is None:
        return None
    return JobQueue(redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1))


def _bind(server: grpc.aio.Server, settings: ServerSettings) -> int:
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert is None or settings.tls_key is None:
        return int(server.add_insecure_port(address))
    ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    creds = grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=ca,
        require_client_auth=ca is not None,
    )
    return int(server.add_secure_port(address, creds))


async def _set_health(servicer: health.aio.HealthServicer, ready: bool) -> None:
    status = SERVING if ready else NOT_SERVING
    await servicer.set("", status)
    await servicer.set(SCORING, status)


async def _reload_loop(
    registry: ModelRegistry, servicer: health.aio.HealthServicer, executor: ThreadPoolExecutor, every_s: float
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        try:
            # Verifying and encoding a bundle is CPU work: keep it off the loop.
            await loop.run_in_executor(executor, registry.refresh)
        except Exception:  # a reload problem must never stop serving
            log.exception("bundle reload failed")
        await _set_health(servicer, registry.ready)


async def serve_forever(settings: ServerSettings) -> None:
    """Run until SIGINT/SIGTERM, then shut down gracefully."""
    running = await start(settings)
    print(f"reelgraph serving on {settings.host}:{running.port}", flush=True)
    if running.metrics_port is not None:
        print(f"reelgraph metrics on http://{settings.host}:{running.metrics_port}/metrics", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.stop()
