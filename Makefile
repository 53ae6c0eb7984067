# reelgraph — one entry point for humans and CI.
PY        ?= python3
VENV      ?= .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
# Real MovieLens copies (never committed: licence). Override on the command line.
REELGRAPH_DATA_DIR ?= $(abspath ../shared/movielens)
BUNDLES   ?= bundles
export REELGRAPH_DATA_DIR

.PHONY: install install-sampling run test lint bench clean

install: $(STAMP)

# torch first, pinned to the local CPU build, so nothing later pulls a CUDA wheel.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Optional: torch-sparse for neighbour-sampled training (compiles ~5 min on 2 cores).
install-sampling: $(STAMP)
	MAX_JOBS=2 $(BIN)/pip install --no-build-isolation 'torch-sparse>=0.6.18'

run: $(STAMP)
	$(BIN)/reelgraph train --data $(REELGRAPH_DATA_DIR)/ml-latest-small --out $(BUNDLES) --model all

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.quality

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
