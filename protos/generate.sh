#!/usr/bin/env bash
# Regenerate reelgraph/api/v1 from protos/ (python, .pyi stubs, grpc stubs).
# CI runs this and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PY" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    protos/reelgraph/v1/*.proto
mkdir -p reelgraph/api/v1
rm -f reelgraph/api/v1/*_pb2*.py reelgraph/api/v1/*_pb2*.pyi
for f in "$out"/reelgraph/v1/*; do
    # protoc writes imports for the proto package path; ours lives under reelgraph.api.
    sed -e 's/^from reelgraph\.v1 import/from reelgraph.api.v1 import/' "$f" > "reelgraph/api/v1/$(basename "$f")"
done
