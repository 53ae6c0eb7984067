"""ExplanationService end to end: real server, real redis-server, real worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from reelgraph.cli.redis_process import start_redis
from reelgraph.client import Client
from reelgraph_client.api.v1 import explanation_pb2 as pb
from reelgraph_client.api.v1 import explanation_pb2_grpc
from tests.server.conftest import ServerThread, settings_for


@pytest.fixture
def stack(bundles: Path, redis_url: str) -> Iterator[tuple[ServerThread, explanation_pb2_grpc.ExplanationServiceStub]]:
    srv = ServerThread(settings_for(bundles, redis_url=redis_url))
    worker = subprocess.Popen(
        [sys.executable, "-m", "reelgraph", "work", "--redis", redis_url, "--bundles", str(bundles), "--name", "w"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield srv, explanation_pb2_grpc.ExplanationServiceStub(grpc.insecure_channel(srv.target))
    finally:
        worker.kill()
        worker.wait(timeout=10)
        srv.stop()


def test_submit_watch_done_and_dedup(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    submitted = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=1, movie_id=10, top_k=3))
    events = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=submitted.job_id), timeout=120))
    kinds = [e.kind for e in events]
    assert kinds[0] == "queued"
    assert kinds[-1] == "done"
    assert "started" in kinds
    result = events[-1].result
    assert 0 < result.probability < 1
    assert result.method == "Ranking"  # the default
    assert 1 <= len(result.because_you_rated) <= 3
    assert result.because_you_rated[0].title in result.sentence
    assert [c.movie_id for c in result.chains] == [r.movie_id for r in result.because_you_rated]
    assert len(result.co_raters) <= 3
    assert result.logit_fidelity.deletion_drop > result.logit_fidelity.random_drop
    assert result.logit_fidelity.k == len(result.because_you_rated)
    assert abs(result.rated_total + result.popularity + result.bias - result.logit) < 1e-3
    assert not result.top_users  # the Captum fields stay empty
    again = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=1, movie_id=10, top_k=3))
    assert again.deduplicated
    assert again.job_id == submitted.job_id
    assert again.status == pb.JOB_STATUS_DONE
    got = stub.GetExplanation(pb.GetExplanationRequest(job_id=submitted.job_id))
    assert got.status == pb.JOB_STATUS_DONE
    assert got.result.probability == result.probability


def test_watch_resumes_after_a_seen_event(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    job = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=2, movie_id=13)).job_id
    first = next(iter(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=60)))  # then "disconnect"
    rest = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job, after_event=first.event_id), timeout=120))
    assert first.kind == "queued"
    assert rest[0].kind != "queued"
    assert rest[-1].kind == "done"


def test_bad_requests_are_rejected_before_queueing(stack) -> None:  # type: ignore[no-untyped-def]
    _srv, stub = stack
    for request in (
        pb.SubmitExplanationRequest(user_id=999, movie_id=10),
        pb.SubmitExplanationRequest(user_id=1, movie_id=11),
        pb.SubmitExplanationRequest(user_id=1, movie_id=10, n_steps=5000),
        pb.SubmitExplanationRequest(user_id=1, movie_id=10, method=42),
    ):
        with pytest.raises(grpc.RpcError) as exc:
            stub.SubmitExplanation(request)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetExplanation(pb.GetExplanationRequest(job_id="nope"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_cancel(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    ig = pb.EXPLAIN_METHOD_INTEGRATED_GRADIENTS  # slow enough to cancel while queued or running
    job = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=3, movie_id=16, n_steps=1000, method=ig)).job_id
    assert stub.CancelExplanation(pb.CancelExplanationRequest(job_id=job)).cancelled
    events = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=60))
    assert events[-1].kind == "cancelled"
    assert stub.GetExplanation(pb.GetExplanationRequest(job_id=job)).status == pb.JOB_STATUS_CANCELLED
    assert not stub.CancelExplanation(pb.CancelExplanationRequest(job_id=job)).cancelled


def test_redis_down_is_unavailable_and_recovers(bundles: Path, tmp_path: Path) -> None:
    redis_proc = start_redis(tmp_path)
    srv = ServerThread(settings_for(bundles, redis_url=redis_proc.url))
    try:
        stub = explanation_pb2_grpc.ExplanationServiceStub(grpc.insecure_channel(srv.target))
        stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=1, movie_id=10))
        redis_proc.stop()
        with pytest.raises(grpc.RpcError) as exc:
            stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=2, movie_id=10), timeout=30)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert "unreachable" in exc.value.details()  # type: ignore[attr-defined]
        with Client(srv.target, retries=0) as c:  # scoring does not need Redis
            assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
        redis_proc = start_redis(tmp_path, port=redis_proc.port)
        assert stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=2, movie_id=10), timeout=30).job_id
    finally:
        srv.stop()
        redis_proc.stop()


@pytest.mark.parametrize("outage", ["stopped", "paused"])
def test_a_watch_ends_unavailable_when_redis_goes_away_and_resumes_after(
    outage: str, bundles: Path, tmp_path: Path
) -> None:
    # "paused" (SIGSTOP) keeps the connection open and silent: only a socket timeout ends the wait.
    redis_proc = start_redis(tmp_path, appendonly=True)
    srv = ServerThread(settings_for(bundles, redis_url=redis_proc.url))
    try:
        stub = explanation_pb2_grpc.ExplanationServiceStub(grpc.insecure_channel(srv.target))
        job = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=1, movie_id=10)).job_id  # no worker
        stream = stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=60)
        first = next(stream)
        assert first.kind == "queued"
        if outage == "stopped":
            redis_proc.stop()
        else:
            os.kill(redis_proc.proc.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as exc:
            next(stream)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert f"after_event={first.event_id!r}" in exc.value.details()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 20  # never a hang until the client's deadline
        if outage == "stopped":
            redis_proc = start_redis(tmp_path, port=redis_proc.port, appendonly=True)
        else:
            os.kill(redis_proc.proc.pid, signal.SIGCONT)
        assert stub.CancelExplanation(pb.CancelExplanationRequest(job_id=job), timeout=30).cancelled
        resumed = stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job, after_event=first.event_id), timeout=30)
        assert [e.kind for e in resumed] == ["cancelled"]
    finally:
        srv.stop()
        if redis_proc.proc.poll() is None:
            os.kill(redis_proc.proc.pid, signal.SIGCONT)
        redis_proc.stop()


def test_without_redis_configured_explanations_are_unavailable(server: ServerThread) -> None:
    stub = explanation_pb2_grpc.ExplanationServiceStub(grpc.insecure_channel(server.target))
    with pytest.raises(grpc.RpcError) as exc:
        stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=1, movie_id=10))
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert "REELGRAPH_REDIS_URL" in exc.value.details()  # type: ignore[attr-defined]


def test_plots_come_back_as_pngs(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    job = stub.SubmitExplanation(pb.SubmitExplanationRequest(user_id=4, movie_id=19, want_plots=True)).job_id
    done = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=120))[-1]
    assert done.kind == "done"
    assert set(done.result.pngs) == {"attributions.png", "subgraph.png"}
    assert all(png.startswith(b"\x89PNG") for png in done.result.pngs.values())


def test_explain_cli_prints_table_and_writes_pngs(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, _ = stack
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reelgraph",
            "explain",
            "--user",
            "5",
            "--movie",
            "22",
            "-k",
            "4",
            "--out",
            str(tmp_path / "png"),
            "--server",
            srv.target,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Because you rated" in proc.stdout
    assert "Recommended because" in proc.stdout
    assert "Is it true?" in proc.stdout
    assert "user 5 → movie 22" in proc.stdout
    assert (tmp_path / "png" / "subgraph.png").read_bytes().startswith(b"\x89PNG")
    bad = subprocess.run(
        [sys.executable, "-m", "reelgraph", "explain", "--user", "999", "--movie", "22", "--server", srv.target],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "INVALID_ARGUMENT" in bad.stderr
    assert "999" in bad.stderr


def test_explain_batch_streams_every_outcome(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    request = pb.ExplainBatchRequest(
        options=pb.SubmitExplanationRequest(top_k=2), user_ids=[1, 2, 999, 3], movie_ids=[10, 13, 10, 16]
    )
    outcomes = {r.index: r for r in stub.ExplainBatch(request, timeout=180)}
    assert sorted(outcomes) == [0, 1, 2, 3]
    assert outcomes[2].kind == "rejected"
    assert "999" in outcomes[2].reason
    assert not outcomes[2].job_id
    for i in (0, 1, 3):
        assert outcomes[i].kind == "done"
        assert 1 <= len(outcomes[i].result.because_you_rated) <= 2
    with pytest.raises(grpc.RpcError) as exc:
        list(stub.ExplainBatch(pb.ExplainBatchRequest(user_ids=[1], movie_ids=[]), timeout=10))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_explain_batch_explains_rating_predictions_when_asked(stack) -> None:  # type: ignore[no-untyped-def]
    _, stub = stack
    options = pb.SubmitExplanationRequest(top_k=2, kind=2)  # SCORE_KIND_RATING, shared by every pair
    request = pb.ExplainBatchRequest(options=options, user_ids=[1, 999, 2], movie_ids=[10, 10, 13])
    outcomes = {r.index: r for r in stub.ExplainBatch(request, timeout=180)}
    assert outcomes[1].kind == "rejected"
    for i in (0, 2):
        assert outcomes[i].kind == "done"
        result = outcomes[i].result
        assert 0.5 <= result.rating.stars <= 5
        assert result.sentence.startswith(f"Predicted {result.rating.stars:.1f}★")
        assert len(result.because_you_rated) + len(result.rating.lowered_by) >= 1


def test_a_global_explanation_runs_end_to_end(stack) -> None:  # type: ignore[no-untyped-def]
    srv, stub = stack
    scope = pb.GlobalScope(sample_users=4, recommendations=2)
    job = stub.SubmitExplanation(pb.SubmitExplanationRequest(global_scope=scope, top_k=3)).job_id
    events = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=120))
    assert events[-1].kind == "done"
    assert sum(e.kind == "progress" for e in events) >= 3  # streamed progress
    summary = events[-1].result.global_summary
    assert summary.users == 4
    assert summary.pairs == 8
    assert 1 <= len(summary.genres) <= 3
    assert summary.movies[0].movie_id
    assert summary.co_rater_groups  # which taste groups of co-raters carry them
    assert all(g.name.endswith(" fans") or g.name == "no marked taste" for g in summary.co_rater_groups)
    cli = [sys.executable, "-m", "reelgraph", "explain", "--global-sample", "3", "--recommendations", "2"]
    proc = subprocess.run([*cli, "--server", srv.target], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Across 6 recommendations to 3 users" in proc.stdout
    assert "genres of those rated movies" in proc.stdout
    for bad in (
        pb.GlobalScope(sample_users=5000),
        pb.GlobalScope(sample_users=2, genre="Nope"),
        pb.GlobalScope(user_ids=[999_999]),
    ):
        with pytest.raises(grpc.RpcError) as exc:
            stub.SubmitExplanation(pb.SubmitExplanationRequest(global_scope=bad))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]


def test_a_rating_prediction_is_explained_for_a_stored_user_and_a_history(  # type: ignore[no-untyped-def]
    stack, tmp_path: Path
) -> None:
    srv, stub = stack
    rating = pb.SubmitExplanationRequest(user_id=5, movie_id=22, top_k=3, kind=2)  # SCORE_KIND_RATING
    job = stub.SubmitExplanation(rating).job_id
    done = list(stub.WatchExplanation(pb.WatchExplanationRequest(job_id=job), timeout=120))[-1]
    assert done.kind == "done"
    r = done.result
    assert r.kind == 2
    assert r.HasField("rating")
    assert 0.5 <= r.rating.stars <= 5
    assert r.sentence.startswith(f"Predicted {r.rating.stars:.1f}★")
    assert 1 <= len(r.because_you_rated) <= 3
    assert r.rating.fidelity.k == len(r.because_you_rated)
    with Client(srv.target) as client:
        scores = client.score_pairs([5], [22], kinds=["rating"])
        assert abs(float(scores.rating[0]) - r.rating.stars) < 1e-3  # the served stars are explained
        ids = np.array([m.movie_id for m in r.because_you_rated], np.int64)
        given = client.submit_explanation(0, 22, kind=2, history=(ids, np.full(ids.size, 4.5, np.float32)))
        events = list(client.watch_explanation(given.job_id))
    assert events[-1].kind == "done"
    assert {m.movie_id for m in events[-1].result.because_you_rated} <= set(ids.tolist())
    csv = tmp_path / "mine.csv"
    csv.write_text("movie_id,stars\n" + "".join(f"{m},4.5\n" for m in ids))
    for extra in (["--user", "5"], ["--ratings", str(csv)]):
        cli = [sys.executable, "-m", "reelgraph", "explain", "--rating", "--movie", "22", *extra, "--server"]
        cli.append(srv.target)
        proc = subprocess.run(cli, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        assert "Predicted " in proc.stdout
        assert "Is it true? removing the named" in proc.stdout
    for bad in (
        pb.SubmitExplanationRequest(user_id=5, movie_id=22, kind=2, method=pb.EXPLAIN_METHOD_SALIENCY),
        pb.SubmitExplanationRequest(user_id=999, movie_id=22, kind=2),
    ):
        with pytest.raises(grpc.RpcError) as exc:
            stub.SubmitExplanation(bad)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
