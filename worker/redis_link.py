"""The worker's link to Redis: up or down, one log line per change, reconnection with
capped exponential backoff. Shared by the claim loops and the heartbeat thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from prometheus_client import Gauge

log = logging.getLogger(__name__)
# Redis unreachable, restarting (LOADING is a ConnectionError) or not answering in time.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
FIRST_RETRY_S = 0.1
MAX_RETRY_S = 5.0


class RedisLink:
    """Tracks whether ``client`` answers; ``wait`` blocks until it does again (or ``stop``)."""

    def __init__(
        self,
        client: redis.Redis,
        gauge: Gauge,
        stop: threading.Event,
        first_s: float = FIRST_RETRY_S,
        max_s: float = MAX_RETRY_S,
    ) -> None:
        self.client, self.gauge, self.stop = client, gauge, stop
        self.first_s, self.max_s = first_s, max_s
        self._lock = threading.Lock()
        self._up = True
        self._down_since = 0.0
        gauge.set(1)

    @property
    def up(self) -> bool:
        """Whether the last Redis call succeeded."""
        return self._up

    def lost(self, exc: BaseException) -> None:
        """A call failed with one of ``REDIS_DOWN``; logged once per outage."""
        with self._lock:
            if not self._up:
                return
            self._up, self._down_since = False, time.monotonic()
            self.gauge.set(0)
        log.warning("Redis unreachable (%s); reconnecting with backoff up to %.0f s", exc, self.max_s)

    def back(self) -> None:
        """A call succeeded; logged once when it ends an outage."""
        if self._up:
            return
        with self._lock:
            if self._up:
                return
            self._up = True
            self.gauge.set(1)
            seconds = time.monotonic() - self._down_since
        log.info("Redis reachable again after %.1f s", seconds)

    def wait(self) -> bool:
        """Until Redis answers PING (True) or ``stop`` is set (False), backing off from
        ``first_s`` doubling to ``max_s`` between attempts."""
        delay = self.first_s
        while not self.stop.is_set():
            try:
                self.client.ping()
            except REDIS_DOWN as exc:
                self.lost(exc)
                self.stop.wait(delay)
                delay = min(self.max_s, delay * 2)
                continue
            self.back()
            return True
        return False

    def persist(self, call: Callable[[], object]) -> bool:
        """Run ``call`` (an idempotent Redis write) until it succeeds, through outages of any
        length; False when ``stop`` came first (the write did not happen)."""
        while True:
            try:
                call()
            except REDIS_DOWN as exc:
                self.lost(exc)
                if not self.wait():
                    return False
                continue
            self.back()
            return True
