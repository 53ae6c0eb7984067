# reelgraph — one entry point for humans and CI.
PY        ?= python3
VENV      ?= .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
# Real MovieLens copies (never committed: licence). Override on the command line.
REELGRAPH_DATA_DIR ?= $(abspath ../shared/movielens)
BUNDLES   ?= bundles
export REELGRAPH_DATA_DIR

BUF       := .tools/node_modules/.bin/buf
# Where pip gets torch. Empty = pip's configured index (on this machine it serves the CPU
# build). On an ordinary machine PyPI's torch is the CUDA build (gigabytes); for the CPU
# build: make install TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=

.PHONY: install install-sampling run train serve test lint docker-lint proto proto-check bench clean

install: $(STAMP)

# torch first, pinned (from TORCH_INDEX_URL when set), so nothing later pulls another build.
$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/pip install --quiet -e ./clients/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Optional: torch-scatter + torch-sparse for neighbour sampling. Both compile from
# source (10-15 min each on 2 cores); pip's wheel cache makes later installs instant.
install-sampling: $(STAMP)
	$(BIN)/pip install --quiet setuptools wheel
	MAX_JOBS=2 $(BIN)/pip install --quiet --no-build-isolation torch-scatter
	MAX_JOBS=2 $(BIN)/pip install --quiet --no-build-isolation 'torch-sparse>=0.6.18'

# The whole system locally: finds (or downloads) the data, trains a bundle if none exists,
# starts redis-server, the server and a worker; Ctrl-C stops them all.
run: $(STAMP)
	$(BIN)/reelgraph stack --bundles $(BUNDLES)

train: $(STAMP)
	$(BIN)/reelgraph train --data $(REELGRAPH_DATA_DIR)/ml-latest-small --out $(BUNDLES) --model all

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP) $(BUF) proto-check docker-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/check_imports.py
	$(BIN)/python scripts/settings_table.py --check
	$(BUF) lint

# Docker cannot run on CI machines: lint the Dockerfile and validate compose files statically.
docker-lint: $(STAMP)
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker/compose.yaml docker/compose.gpu.yaml

# buf (protobuf linter) comes from the npm registry as @bufbuild/buf.
$(BUF):
	npm install --silent --no-save --prefix .tools @bufbuild/buf@1.75.0

# protoc for the generated code: grpcio-tools 1.72.1 in its own venv, because its gencode
# (protobuf 6.30.0) loads under protobuf 6.30+ and 7 alike (see protos/generate.sh).
PROTOC_VENV := .tools/protoc
$(PROTOC_VENV)/bin/python:
	$(PY) -m venv $(PROTOC_VENV)
	$(PROTOC_VENV)/bin/pip install --quiet grpcio-tools==1.72.1 'protobuf>=6.30,<6.31'

# Regenerate the client distribution's reelgraph_client/api/ from protos/.
GENERATED := clients/python/src/reelgraph_client/api
proto: $(PROTOC_VENV)/bin/python
	PROTOC_PY=$(PROTOC_VENV)/bin/python bash protos/generate.sh

# Fail when the committed generated code is stale.
proto-check: proto
	git diff --exit-code -- $(GENERATED) || (echo "$(GENERATED) is stale: run 'make proto' and commit" && exit 1)
	test -z "$$(git status --porcelain -- $(GENERATED))" || (echo "untracked generated files in $(GENERATED)" && exit 1)

serve: $(STAMP)
	$(BIN)/reelgraph serve --bundles $(BUNDLES)

# Node gRPC load generator (bench/loadgen.mjs) for the latency figures.
LOADGEN := .tools/loadgen/node_modules/@grpc/grpc-js
$(LOADGEN):
	npm install --silent --no-save --prefix .tools/loadgen @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1

bench: $(STAMP) $(LOADGEN)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.ranking
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.scoring
	$(BIN)/python -m bench.explain

clean:
	rm -rf $(VENV) .tools .mypy_cache .pytest_cache .ruff_cache
