"""Stubs for another language from ``protos/``: TypeScript via the repository's buf template.

``protos/buf.gen.typescript.yaml`` generates protobuf-es messages and service descriptors
(buf and protoc-gen-es from the npm registry, installed once under ``.tools/ts-client``);
a Node script then calls a real server over gRPC with Connect's Node transport, bearer
token included, and must get what the Python client gets. Skips, saying why, only when
node/npm are missing or the npm packages cannot be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from reelgraph.client import Client
from tests.server.conftest import ServerThread, settings_for

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "ts-client"
PACKAGES = [
    "@bufbuild/buf@1.75.0",
    "@bufbuild/protoc-gen-es@2.17.0",
    "@bufbuild/protobuf@2.17.0",
    "@connectrpc/connect@2.1.1",
    "@connectrpc/connect-node@2.1.1",
]
TOKEN = "ts-s3cret"

DRIVER = r"""
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ScoringService, ScoreKind } from "./reelgraph/v1/scoring_pb.js";
import { DataType } from "./reelgraph/v1/tensor_pb.js";

const [target, token] = process.argv.slice(2);
const client = createClient(ScoringService, createGrpcTransport({ baseUrl: `http://${target}` }));
const headers = { authorization: `Bearer ${token}` };
const column = (ids) => ({
  dtype: DataType.INT64, shape: [BigInt(ids.length)], raw: new Uint8Array(new BigInt64Array(ids.map(BigInt)).buffer),
});
const models = await client.listModels({}, { headers });
const scored = await client.scorePairs(
  { userIds: column([1, 2, 999999]), movieIds: column([10, 13, 16]), kinds: [ScoreKind.LINK_PROBABILITY] },
  { headers },
);
const raw = scored.linkProbability.raw;
const probability = Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4));
const recommended = [];
for await (const r of client.recommend({ userIds: [1n, 2n], k: 3 }, { headers })) {
  recommended.push({ user: Number(r.userId), titles: r.movies.map((m) => m.title) });
}
let refused = "";
try { await client.listModels({}); } catch (e) { refused = e.code; }
console.log(JSON.stringify({
  models: models.models.map((m) => m.ref.name),
  probability: probability.map((p) => (Number.isNaN(p) ? null : p)),
  status: Array.from(scored.status.raw),
  recommended,
  refused,
}));
"""


def _tools() -> Path:
    """The npm packages, installed once; skips without node/npm or the registry."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to generate and run the TypeScript stubs")
    marker = TOOLS / (".complete-" + "-".join(p.replace("/", "_") for p in PACKAGES))
    if not marker.is_file():
        proc = subprocess.run(
            ["npm", "install", "--silent", "--no-save", "--prefix", str(TOOLS), *PACKAGES],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.skip(f"cannot install the npm packages: {proc.stderr[-500:]}")
        marker.touch()
    return TOOLS / "node_modules"


@pytest.fixture
def served(bundles: Path) -> Iterator[str]:
    server = ServerThread(settings_for(bundles, auth_tokens=frozenset({TOKEN})))
    yield server.target
    server.stop()


@pytest.mark.slow
def test_the_buf_template_generates_typescript_stubs_that_call_the_server(served: str, tmp_path: Path) -> None:
    modules = _tools()
    env = {**os.environ, "PATH": f"{modules / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    gen = subprocess.run(
        ["buf", "generate", "--template", "protos/buf.gen.typescript.yaml", "-o", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "inference" / "open_inference_grpc_pb.d.ts").is_file()
    (tmp_path / "node_modules").symlink_to(modules)
    (tmp_path / "driver.mjs").write_text(DRIVER)
    run = subprocess.run(
        ["node", "driver.mjs", served, TOKEN], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    with Client(served, token=TOKEN, retries=0) as client:
        want = client.score_pairs(np.array([1, 2, 999_999]), np.array([10, 13, 16]))
        recs = list(client.recommend([1, 2], k=3))
    assert want.link_probability is not None
    assert got["models"] == ["tiny"]
    assert got["status"] == want.status.tolist() == [0, 0, 1]
    assert got["probability"][:2] == pytest.approx(want.link_probability[:2].tolist(), abs=0)
    assert got["probability"][2] is None  # NaN for the unknown user
    assert got["recommended"] == [{"user": r.user_id, "titles": r.titles} for r in recs]
    assert got["refused"] == 16  # Connect's Code.Unauthenticated
