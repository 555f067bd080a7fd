# Every target bootstraps .venv itself, so a fresh clone needs only `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= synthetic-demo.gpkg

.PHONY: demo test test-postgis bench lint clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Builds the synthetic demo registry, then serves its map at http://127.0.0.1:8000/ until Ctrl-C.
demo: $(VENV)/.installed
	$(BIN)/landrelease demo --db $(DB) --serve

# The suite on the GeoPackage file; and, when LANDRELEASE_TEST_PG names a cluster tests may use
# (a superuser's URL: each test makes and drops databases of its own there), on PostGIS at the
# same time: each pass keeps about one core busy, so the two take the time of the longer one.
# The PostGIS pass's report follows the file's; the target fails if either pass does.
test: $(VENV)/.installed-dev
	@if [ -n "$$LANDRELEASE_TEST_PG" ]; then \
	    log=$$(mktemp); \
	    echo "the suite on the file, and meanwhile on PostGIS (LANDRELEASE_TEST_PG)"; \
	    $(BIN)/python -m pytest -q --backend postgis > "$$log" 2>&1 & pg=$$!; \
	    trap 'kill $$pg 2>/dev/null; rm -f "$$log"' EXIT; \
	    $(BIN)/python -m pytest -q; file=$$?; \
	    wait $$pg; postgis=$$?; \
	    echo "the suite on PostGIS:"; cat "$$log"; \
	    echo "file pass: exit $$file; PostGIS pass: exit $$postgis"; \
	    [ $$file -eq 0 ] && [ $$postgis -eq 0 ]; \
	else \
	    $(BIN)/python -m pytest -q && \
	    echo "PostGIS pass skipped: LANDRELEASE_TEST_PG is not set (make test-postgis makes a cluster)"; \
	fi

# The suite on PostGIS, on a throw-away cluster in a temporary folder (scripts/pg-throwaway:
# Debian's postgresql and postgresql-15-postgis-3), stopped and removed however the run ends.
test-postgis: $(VENV)/.installed-dev
	@dir=$$(mktemp -d); \
	trap 'scripts/pg-throwaway stop "$$dir"' EXIT; trap 'exit 130' INT TERM; \
	url=$$(scripts/pg-throwaway start "$$dir") || exit 1; \
	echo "the suite on PostGIS ($$url)"; \
	LANDRELEASE_TEST_PG=$$url $(BIN)/python -m pytest -q --backend postgis

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/residual.py

# The service against tipg and pygeoapi on a throw-away PostGIS (~10 min; needs Debian's
# postgresql, postgresql-15-postgis-3 and wrk, installed by the script when run as root).
.PHONY: bench-service
bench-service: $(VENV)/.installed-dev
	$(BIN)/python bench/service.py

# Prioritisation at country scale against DuckDB spatial and a geopandas loop (~3 min; the first
# run also builds the benchmark registry in bench/data/, ~1 min). DuckDB and its spatial
# extension are peers only, installed here: pip's extension is built for one duckdb version.
.PHONY: bench-priority
bench-priority: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet duckdb==1.5.5 duckdb-extension-spatial==1.5.5
	$(BIN)/python bench/priority.py

# The same registry on SQLite and on PostGIS: import, bbox queries, the items page under wrk and
# prioritisation (~5-10 min; a throw-away PostGIS cluster as for bench-service, or the server of
# LANDRELEASE_BENCH_PG; `bench/backends.py --quick` is a smoke run of about 2 minutes).
.PHONY: bench-backends
bench-backends: $(VENV)/.installed-dev
	$(BIN)/python bench/backends.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) synthetic-demo.gpkg synthetic-demo.gpkg-wal synthetic-demo.gpkg-shm
