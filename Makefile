# Academia Chat: `make run` serves the demo, `make test` runs the whole suite.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Daphne refuses larger WebSocket messages and frames (close 1009) before the
# application sees them: a backstop well above the application's own limit,
# CHAT_WS_MAX_FRAME_BYTES (64 KiB, close 4413).
WS_MAX_MESSAGE_SIZE ?= 1048576
WS_MAX_FRAME_SIZE ?= 1048576

.PHONY: venv run test test-sqlite lint format bench bench-plot bench-history clean

venv: $(STAMP)

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)"
	$(BIN)/python -m academia.serve --bind $(HOST) --port $(PORT) \
		--websocket-max-message-size $(WS_MAX_MESSAGE_SIZE) \
		--websocket-max-frame-size $(WS_MAX_FRAME_SIZE) \
		academia.asgi:application

test: venv
	$(BIN)/pytest

# The database tests once more on SQLite (CI runs `test` on PostgreSQL first).
test-sqlite: venv
	env -u DATABASE_URL CI_SQLITE_PASS=1 $(BIN)/pytest -m "not integration and not e2e"

# ESLint for the page's modules; `npm ci` only when node_modules is missing or the lock changed.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lint: venv $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npx eslint static/chat

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every server side by side (bench/run.py): the JSON lines go to docs/bench.jsonl and
# the picture to docs/bench.png. BENCH_ARGS picks shapes or servers, e.g.
# BENCH_ARGS="--shape fanout-500 --server ours,tutorial". Needs DATABASE_URL and REDIS_URL.
BENCH_STAMP := $(VENV)/.bench-requirements-installed

$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: venv $(BENCH_STAMP)
	$(BIN)/python bench/run.py --out docs/bench.jsonl $(BENCH_ARGS)
	$(BIN)/python bench/plot.py docs/bench.jsonl docs/bench.png

# The picture again from docs/bench.jsonl, without running anything.
bench-plot: $(BENCH_STAMP)
	$(BIN)/python bench/plot.py docs/bench.jsonl docs/bench.png

# Read latencies at 10 k and 2 M stored messages, in a database of its own on
# DATABASE_URL's PostgreSQL server (bench/history.py --help).
bench-history: venv
	$(BIN)/python bench/history.py $(HISTORY_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles artefacts .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
