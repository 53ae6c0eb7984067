"""Text and JSON log lines carry the ids bound in context."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from reelgraph import logs


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_job_and_request_ids_and_exceptions() -> None:
    stream = io.StringIO()
    logs.configure(logs.LogFormat.JSON, stream=stream)
    log = logging.getLogger("reelgraph.test")
    with logs.bound(logs.job_id, "job-1"), logs.bound(logs.request_id, "req-1"):
        log.warning("one %s", "thing")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "one thing"
    assert (first["job_id"], first["request_id"], first["level"]) == ("job-1", "req-1", "warning")
    assert "job_id" not in second  # unbound after the block
    assert "ValueError: boom" in second["exc"]


@pytest.mark.usefixtures("restore_root")
def test_text_lines_show_bound_ids() -> None:
    stream = io.StringIO()
    logs.configure(logs.LogFormat.TEXT, stream=stream)
    with logs.bound(logs.job_id, "abc"):
        logging.getLogger("x").info("hello")
    logging.getLogger("x").debug("hidden at INFO")
    err = stream.getvalue()
    assert " INFO x [job=abc]: hello" in err
    assert "hidden" not in err
