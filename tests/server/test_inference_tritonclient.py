"""The stock ``tritonclient[grpc]`` against a real ``reelgraph serve`` (Open Inference Protocol).

tritonclient requires protobuf < 7 and this project uses protobuf 7, so it
cannot be imported here: it lives in its own virtualenv (``tests.venvs``: built
once per machine from pip wheels, about 20 s on a 2-core machine; reused afterwards), and a
driver script (``DRIVER`` below) runs in it as a subprocess against a server
started as its own process on a free port, with a bearer token. The tests
skip, saying why, only when that virtualenv cannot be built (no index reachable).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelgraph.options import ModelKind
from reelgraph.scoring import Scorer
from server.batch import score_batch
from tests.venvs import cached_venv

TRITONCLIENT = "tritonclient[grpc]==2.73.0"
TOKEN = "s3cret"
USERS, MOVIES = [1, 2, 999_999, 3, 4], [10, 13, 16, 888_888, 19]

# Runs in the tritonclient virtualenv: argv target, token; stdin {"users", "movies"}; prints one JSON object.
DRIVER = r"""
import json, queue, sys
import numpy as np
import tritonclient.grpc as tc
from tritonclient.utils import InferenceServerException

target, token = sys.argv[1], sys.argv[2]
ids = json.load(sys.stdin)
headers = {"authorization": f"Bearer {token}"}
client = tc.InferenceServerClient(url=target)


def inputs(dtype, datatype):
    made = []
    for name in ("user_id", "movie_id"):
        values = np.asarray(ids[name.replace("_id", "s")], dtype=dtype)
        tensor = tc.InferInput(name, list(values.shape), datatype)
        tensor.set_data_from_numpy(values)
        made.append(tensor)
    return made


def infer(model, output, dtype=np.int64, datatype="INT64", version=""):
    wanted = [tc.InferRequestedOutput(output), tc.InferRequestedOutput("status")]
    r = client.infer(model, inputs(dtype, datatype), model_version=version, outputs=wanted, headers=headers)
    response = r.get_response()
    return {
        "model": response.model_name,
        "version": response.model_version,
        "scores": r.as_numpy(output).tolist(),
        "status": r.as_numpy("status").tolist(),
    }


def error(call):
    try:
        call()
    except InferenceServerException as exc:
        return [exc.status(), exc.message()]
    return None


def stream():
    answers = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)), headers=headers)
    for model in ("tiny-link", "nope-link", "tiny-link"):
        client.async_stream_infer(model, inputs(np.int64, "INT64"), request_id=model)
    got = [answers.get(timeout=30) for _ in range(3)]
    client.stop_stream()
    return [
        error.message() if error is not None else result.as_numpy("probability").tolist() for result, error in got
    ]


out = {
    "live": client.is_server_live(headers=headers),
    "ready": client.is_server_ready(headers=headers),
    "model_ready": {m: client.is_model_ready(m, headers=headers) for m in ("tiny-link", "tiny-rating", "nope-link")},
    "server": client.get_server_metadata(headers=headers, as_json=True),
    "metadata": client.get_model_metadata("tiny-link", headers=headers, as_json=True),
    "index": client.get_model_repository_index(headers=headers, as_json=True),
    "link": infer("tiny-link", "probability"),
    "rating_int32": infer("tiny-rating", "rating", np.int32, "INT32", version="1"),
    "unknown_model": error(lambda: infer("nope-link", "probability")),
    "wrong_datatype": error(lambda: infer("tiny-link", "probability", np.float32, "FP32")),
    "without_token": error(lambda: client.is_server_live()),
    "stream": stream(),
}
print(json.dumps(out))
"""


def tritonclient_python() -> Path:
    """The Python of the cached tritonclient virtualenv, built on first use; skips when it cannot be built."""
    return cached_venv("tritonclient", [TRITONCLIENT, "numpy"], "import tritonclient.grpc")


@pytest.fixture(scope="module")
def served(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``reelgraph serve`` on a free port with a bearer token over a copy of the tiny bundle: (target, bundles)."""
    bundles = tmp_path_factory.mktemp("oip") / "bundles"
    shutil.copytree(tiny_bundle, bundles / "tiny")
    env = {**os.environ, "REELGRAPH_AUTH_TOKENS": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelgraph", "serve", "--bundles", str(bundles), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if m := re.search(r"serving on \S+:(\d+)", line):
                break
        else:
            pytest.fail("reelgraph serve did not start:\n" + "".join(seen))
        drain = threading.Thread(target=proc.stdout.read, daemon=True)  # keep the pipe drained
        drain.start()
        yield f"127.0.0.1:{m.group(1)}", bundles
        proc.terminate()
        drain.join(timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def results(served: tuple[str, Path]) -> dict[str, Any]:
    """What the driver saw, run once for the module's tests."""
    python = tritonclient_python()
    ids = json.dumps({"users": USERS, "movies": MOVIES})
    proc = subprocess.run(
        [str(python), "-c", DRIVER, served[0], TOKEN], input=ids, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, Any] = json.loads(proc.stdout)
    return found


def _expected(bundles: Path, kind: ModelKind) -> tuple[list[float], list[int]]:
    result = score_batch(Scorer.load(bundles / "tiny"), np.array(USERS), np.array(MOVIES), [kind], 10_000)
    scores = result.link_probability if kind is ModelKind.LINK else result.rating
    assert scores is not None
    return scores.tolist(), result.status.tolist()


def _same(got: list[float], want: list[float]) -> bool:
    return all((math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want, strict=True))


def test_live_ready_and_model_ready(results: dict[str, Any]) -> None:
    assert (results["live"], results["ready"]) == (True, True)
    assert results["model_ready"] == {"tiny-link": True, "tiny-rating": True, "nope-link": False}


def test_metadata_and_repository_index(results: dict[str, Any]) -> None:
    assert results["server"]["name"] == "reelgraph"
    meta = results["metadata"]
    assert (meta["name"], meta["versions"], meta["platform"]) == ("tiny-link", ["1"], "reelgraph")
    assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == [
        ("user_id", "INT64", ["-1"]),  # as_json writes int64 as strings (protobuf's JSON mapping)
        ("movie_id", "INT64", ["-1"]),
    ]
    assert [(t["name"], t["datatype"]) for t in meta["outputs"]] == [("probability", "FP32"), ("status", "UINT8")]
    assert [m["name"] for m in results["index"]["models"]] == ["tiny-link", "tiny-rating"]


def test_infer_equals_the_in_process_scorer(results: dict[str, Any], served: tuple[str, Path]) -> None:
    for key, kind in (("link", ModelKind.LINK), ("rating_int32", ModelKind.RATING)):
        scores, status = _expected(served[1], kind)
        got = results[key]
        assert (got["model"], got["version"]) == (f"tiny-{kind.value}", "1")
        assert _same(got["scores"], scores), (got["scores"], scores)
        assert got["status"] == status == [0, 0, 1, 2, 0]


def test_errors_reach_tritonclient_with_their_codes(results: dict[str, Any]) -> None:
    assert results["unknown_model"][0] == "StatusCode.NOT_FOUND"
    assert "nope" in results["unknown_model"][1]
    assert results["wrong_datatype"][0] == "StatusCode.INVALID_ARGUMENT"
    assert "inputs[user_id].datatype" in results["wrong_datatype"][1]
    assert results["without_token"][0] == "StatusCode.UNAUTHENTICATED"


def test_stream_infer_answers_each_request(results: dict[str, Any], served: tuple[str, Path]) -> None:
    first, failed, last = results["stream"]
    scores, _ = _expected(served[1], ModelKind.LINK)
    assert _same(first, scores)
    assert _same(last, scores)
    assert "no model named 'nope'" in failed
