"""Process logging: plain text for people, one JSON object per line for machines.

Request and job ids travel in context variables, so every record logged while a
request or job is being handled carries them without being passed around.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum
from typing import TextIO

request_id: ContextVar[str] = ContextVar("request_id", default="")
job_id: ContextVar[str] = ContextVar("job_id", default="")

_TEXT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"


class LogFormat(StrEnum):
    """How a process writes its log lines (``REELGRAPH_LOG_FORMAT``)."""

    TEXT = "text"
    JSON = "json"


class _ContextIds(logging.Filter):
    """Copies the current request and job ids onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid, jid = request_id.get(), job_id.get()
        ids = [f"{k}={v}" for k, v in (("request", rid), ("job", jid)) if v]
        record.__dict__.update(request_id=rid, job_id=jid, ids=f" [{' '.join(ids)}]" if ids else "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (Unix seconds), level, logger, msg, ids, exc."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            if value := getattr(record, key, ""):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure(fmt: LogFormat = LogFormat.TEXT, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the root logger to ``stream`` (default stderr) in ``fmt``; replaces earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_ContextIds())
    text = logging.Formatter(_TEXT)
    text.converter = time.gmtime  # UTC, like the JSON timestamps
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else text)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextlib.contextmanager
def bound(var: ContextVar[str], value: str) -> Iterator[None]:
    """Set ``var`` to ``value`` for the duration of the block."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)
