"""Every Redis key, stream and consumer-group name reelgraph uses. Nowhere else.

Layout (prefix ``rg:`` keeps a shared Redis tidy):

* ``rg:jobs`` — stream of job ids to run; consumer group ``rg:workers``.
* ``rg:jobs:dead`` — dead-letter stream: jobs that failed too many deliveries.
* ``rg:job:<id>`` — hash: status, attempts, request, result, error, timestamps (TTL).
* ``rg:job:<id>:events`` — stream of events watchers read with XREAD (TTL).
* ``rg:dedup:<sha256>`` — string: the job id for an identical request on the same bundle version (TTL).
* ``rg:worker:<name>`` — string: worker heartbeat (TTL).
"""

from __future__ import annotations

PREFIX = "rg:"
JOBS_STREAM = PREFIX + "jobs"
DEAD_LETTER_STREAM = PREFIX + "jobs:dead"
WORKERS_GROUP = PREFIX + "workers"
HEARTBEAT_PATTERN = PREFIX + "worker:*"  # SCAN pattern matching every ``heartbeat()`` key


def job(job_id: str) -> str:
    """The job's status hash."""
    return f"{PREFIX}job:{job_id}"


def events(job_id: str) -> str:
    """The job's event stream."""
    return f"{PREFIX}job:{job_id}:events"


def dedup(request_hash: str) -> str:
    """Maps a request fingerprint to its job id."""
    return f"{PREFIX}dedup:{request_hash}"


def heartbeat(worker: str) -> str:
    """A worker's liveness key."""
    return f"{PREFIX}worker:{worker}"
