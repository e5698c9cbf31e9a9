# Rongtong 融通 — the commands a new machine needs. Python 3.11+, nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000

# The embedded default: SQLite and Whoosh under instance/, a development secret key.
export RONGTONG_ENV ?= development

.PHONY: run test lint bench loadtest translations venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: setup.py
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

## make run: install, migrate, load demo data when the database is empty, build the search index if missing, serve on :5000
run: venv
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	$(FLASK) index rebuild --if-missing
	$(FLASK) run --host $(HOST) --port $(PORT)

## make test: lint, translation check, the whole suite (PostgreSQL too when TEST_DATABASE_URL is set), on
## PYTEST_WORKERS processes (pytest-xdist; the browser tests all on one of them, one after another)
PYTEST_WORKERS ?= 2
test: venv
	$(BIN)/ruff check marketplace search_index tests bench wsgi.py setup.py
	$(FLASK) translations check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check marketplace search_index tests bench wsgi.py setup.py

## make bench: benchmarks (they print numbers; they are not tests)
bench: venv
	$(BIN)/python -m bench

## make loadtest: gunicorn (4 workers), the index worker, PostgreSQL and Redis on 127.0.0.1 under a locust
## scenario (bench/locustfile.py) on 20,000 products and 2,000 requests for 60 s; prints requests/s, p50/p95/p99
## per page and the errors (exit 1 on any). Needs PostgreSQL (postgres@127.0.0.1, trust) and Redis on this host.
## LOADTEST_ARGS="--users 40 --duration 120 --keep" passes options (python -m bench.loadtest --help)
loadtest: venv
	$(BIN)/python -c "import locust" 2>/dev/null || $(BIN)/pip install --quiet -e ".[dev,load]"
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)

## make translations: extract, merge and compile the zh_CN and en catalogs
translations: venv
	$(FLASK) translations update
	$(FLASK) translations compile

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
