#!/usr/bin/env bash
# Regenerate the Python of protos/ (python, .pyi stubs, grpc stubs):
#   protos/reelgraph/v1/*.proto -> reelgraph/api/v1/
#   protos/inference/*.proto    -> reelgraph/api/inference/ (the Open Inference Protocol)
# CI runs this and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PY" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    protos/reelgraph/v1/*.proto protos/inference/*.proto
# <proto directory> <python package directory> <proto package> <python package>
place() {
    mkdir -p "$2"
    rm -f "$2"/*_pb2*.py "$2"/*_pb2*.pyi
    for f in "$out/$1"/*; do
        # protoc writes imports for the proto package path; ours lives under reelgraph.api.
        sed -e "s/^from $3 import/from $4 import/" "$f" > "$2/$(basename "$f")"
    done
}
place reelgraph/v1 reelgraph/api/v1 'reelgraph\.v1' reelgraph.api.v1
place inference reelgraph/api/inference inference reelgraph.api.inference
