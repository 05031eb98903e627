# Two entry points: `make run` (set up, index corpus/, chat) and `make test` (set up, run every test).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WHEELS ?= $(HOME)/.cache/rag-news/wheels
LLAMA_VERSION := 0.3.36
# llama.cpp's AMX kernels segfault on some virtualised Xeons (seen on this project's
# machines), so the local build leaves them out; everything else stays native.
ifeq ($(shell uname -m),x86_64)
LLAMA_FLAGS := -mno-amx-int8 -mno-amx-tile -mno-amx-bf16
endif
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser run index chat test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch lies on disk; a plain `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# llama-cpp-python compiles from source (~6 min on 2 cores), once per machine: the wheel is kept in $(WHEELS).
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CFLAGS="$(LLAMA_FLAGS)" CXXFLAGS="$(LLAMA_FLAGS)" $(BIN)/pip wheel -q --no-cache-dir --no-deps \
		-w $(WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install -q --force-reinstall --no-deps $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# The browser test drives Debian's chromium (Playwright cannot download browsers here).
browser:
	command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -q && apt-get install -y -q chromium) >/dev/null; } || \
		echo "chromium not installed: the browser test will be skipped"

index: setup
	$(BIN)/rag index corpus

# app.py indexes corpus/ itself (incrementally) before serving.
run: setup
	$(BIN)/python app.py

chat: index
	$(BIN)/rag chat

test: setup browser
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check rag tests

clean:
	rm -rf index $(VENV) .pytest_cache
