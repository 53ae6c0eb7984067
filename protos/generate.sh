#!/usr/bin/env bash
# Regenerate the Python of protos/ (python, .pyi stubs, grpc stubs) into the client
# distribution, the one copy every reelgraph package imports:
#   protos/reelgraph/v1/*.proto -> clients/python/src/reelgraph_client/api/v1/
#   protos/inference/*.proto    -> clients/python/src/reelgraph_client/api/inference/ (Open Inference Protocol)
# PROTOC_PY is a python with grpcio-tools 1.72.1 (the Makefile builds .tools/protoc): its
# protoc writes protobuf 6.30.0 gencode, which protobuf 6.30+ and 7 both load, so the client
# installs beside tritonclient (protobuf < 7). A newer grpcio-tools would write gencode that
# protobuf 6 refuses. CI runs this and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_PY="${PROTOC_PY:-.tools/protoc/bin/python}"
dest=clients/python/src/reelgraph_client/api
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PROTOC_PY" -m grpc_tools.protoc -Iprotos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    protos/reelgraph/v1/*.proto protos/inference/*.proto
# <proto directory> <python package directory> <proto package> <python package>
place() {
    mkdir -p "$2"
    rm -f "$2"/*_pb2*.py "$2"/*_pb2*.pyi
    for f in "$out/$1"/*; do
        # protoc writes imports for the proto package path; ours lives under reelgraph_client.api.
        sed -e "s/^from $3 import/from $4 import/" "$f" > "$2/$(basename "$f")"
    done
}
place reelgraph/v1 "$dest/v1" 'reelgraph\.v1' reelgraph_client.api.v1
place inference "$dest/inference" inference reelgraph_client.api.inference
