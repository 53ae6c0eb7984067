// Closed-loop gRPC load generator for bench/scoring.py (Node + @grpc/grpc-js).
//
// A load generator in Python (grpc.aio) spends more CPU per call than the server,
// and on a 2-core machine it takes those cycles from the server it measures. This
// one is far cheaper per call, so the figures say more about the server.
//
// Usage: node bench/loadgen.mjs TARGET PROTO_ROOT PAIRS_JSON CLIENTS PER_CLIENT
//   PAIRS_JSON: {"users": [...], "movies": [...]} (MovieLens ids, same length)
// Each client has its own channel (own connection) and sends ScorePairs requests
// back to back; after a warm-up the latencies of PER_CLIENT calls each are kept.
// Prints one JSON line: {"p50_ms", "p99_ms", "rps", "calls"}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

// Installed by `make bench` into .tools/loadgen (npm registry), like buf for `make lint`.
const require = createRequire(path.join(process.cwd(), ".tools", "loadgen", "package.json"));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [target, protoRoot, pairsFile, clientsArg, perClientArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const perClient = Number(perClientArg);
const WARMUP = 50;

const definition = protoLoader.loadSync("reelgraph/v1/scoring.proto", {
  includeDirs: [protoRoot],
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: false,
});
const api = grpc.loadPackageDefinition(definition).reelgraph.v1;

function int64Tensor(values) {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
  return { dtype: 1, shape: [values.length], raw };
}

const pairs = JSON.parse(readFileSync(pairsFile, "utf8"));
const request = { user_ids: int64Tensor(pairs.users), movie_ids: int64Tensor(pairs.movies), kinds: [1] };

function call(stub) {
  return new Promise((resolve, reject) => {
    stub.ScorePairs(request, { deadline: Date.now() + 10_000 }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

async function runClient(stub, n, latencies) {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call(stub);
    if (latencies) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}

const stubs = Array.from(
  { length: clients },
  () => new api.ScoringService(target, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
);
await Promise.all(stubs.map((s) => runClient(s, WARMUP, null)));
const latencies = [];
const start = process.hrtime.bigint();
await Promise.all(stubs.map((s) => runClient(s, perClient, latencies)));
const wallS = Number(process.hrtime.bigint() - start) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor((q / 100) * latencies.length))];
console.log(JSON.stringify({ p50_ms: pct(50), p99_ms: pct(99), rps: latencies.length / wallS, calls: latencies.length }));
stubs.forEach((s) => s.close());
