# Two commands from a bare machine with Python 3.11 and make:
#   make run    set up .venv, build, validate and export the KB, print a summary
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check clean browser

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Error: $(PYTHON) not found (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/diplokb build

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

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
