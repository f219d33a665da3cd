# Two commands from a bare machine with Python 3.11 and make:
#   make run    set up .venv, build, validate and export the KB, print a summary
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AXE := build/npm/node_modules/axe-core/axe.min.js

.PHONY: run test check clean browser screenshots

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Error: $(PYTHON) not found (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/diplokb build

test: $(STAMP) browser $(AXE)
	$(BIN)/python -m pytest -q

# axe-core (MPL-2.0), the accessibility checker the browser tests run in each page: installed
# from the npm registry into build/npm, never fetched by the tests themselves.
$(AXE):
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix build/npm axe-core@4.14.1 >/dev/null; \
	else echo "note: npm not found; the accessibility checks will be skipped (they fail in CI)"; fi

# A PNG of each page kind in build/screenshots/, for reviewers (the browser tests take them).
screenshots: $(STAMP) browser $(AXE)
	DIPLOKB_SCREENSHOTS=build/screenshots $(BIN)/python -m pytest -q tests/test_browser.py
	@ls build/screenshots/*.png

# The browser tests use Debian's Chromium (Playwright's own browser download is not used).
browser:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not found; the browser tests will be skipped (they fail in CI)"; fi; \
	fi

check: $(STAMP)
	$(BIN)/diplokb build --check

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
