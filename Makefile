# The two commands of the README. Both work on a fresh machine with Python 3.11 and make.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

$(BIN)/mge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/mge

# The TypeScript compiler for generated TypeScript projects, pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The real tools the tests start, from Debian's packages: chromium (the UI test, through Playwright),
# prometheus and promtool (the alert rules and a live scrape), docker-compose (the compose file's check).
SYSTEM_TOOLS := /usr/bin/chromium /usr/bin/promtool /usr/bin/prometheus /usr/bin/docker-compose
DEBIAN_PACKAGES := chromium prometheus docker-compose
APT := $(if $(filter 0,$(shell id -u)),,sudo) apt-get

$(SYSTEM_TOOLS):
	@command -v apt-get >/dev/null || { echo "install chromium, prometheus and docker-compose with your package manager"; exit 1; }
	$(APT) install -y --no-install-recommends $(DEBIAN_PACKAGES) || { $(APT) update && $(APT) install -y --no-install-recommends $(DEBIAN_PACKAGES); }

setup: $(BIN)/mge node_modules/.package-lock.json | $(SYSTEM_TOOLS)

# Submit the example request and materialize every asset of it on the embedded default.
demo: setup
	$(BIN)/mge run examples/requests/task_api.md

# The whole test suite (the same command CI runs).
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
