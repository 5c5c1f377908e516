# Two commands: `make run` serves the map on http://127.0.0.1:5000/, `make test` runs the suite.
# Both install what is missing first (Debian packages as root, the virtualenv, npm assets).
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test system system-test setup bench clean-data

run: system setup
	$(VENV)/bin/gisdb serve

test: system system-test setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -p no:cacheprovider tests

setup: $(STAMP) $(NODE_STAMP)

system:
	@sh scripts/install_system.sh run

system-test:
	@sh scripts/install_system.sh test

# What the benchmarks in bench/ need besides the test setup (run them by hand, see README).
bench: setup
	@sh scripts/install_system.sh bench

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

$(NODE_STAMP): package.json
	@if [ -f package.json ]; then npm install --no-audit --no-fund --silent && touch $(NODE_STAMP); fi

clean-data:
	-$(VENV)/bin/gisdb db stop
	rm -rf data/pg data/tile-cache
