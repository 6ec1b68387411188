# The two commands of the README: `make demo` and `make test`. Both set everything up on a fresh
# Debian 12 machine (as root or with sudo): a virtual environment with the package, then the local
# TimescaleDB and Mosquitto (`stayactive services up`); the demo then runs the whole system in a
# database schema of its own until Ctrl-C (`stayactive demo --reset` starts it clean).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SA     := $(BIN)/stayactive

.PHONY: demo test setup services lint unit clean

demo: services
	$(SA) demo

# The tests migrate schemas of their own in a database of their own; the demo's is left alone.
test: services lint
	$(BIN)/pytest

setup: $(VENV)/.installed

services: setup
	$(SA) services up

# ruff, the format check, mypy strict, and the import contracts of pyproject.toml.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# Unit tests only: no services needed.
unit: setup
	$(BIN)/pytest -m "not integration"

$(VENV)/.installed: pyproject.toml scripts/bootstrap-python scripts/bootstrap-browser
	scripts/bootstrap-python "$(PYTHON)" "$(VENV)"
	scripts/bootstrap-browser
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,compare,peers]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
