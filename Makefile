# Set-up and the two main jobs. `make demo` and `make test` each install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo_out

.PHONY: install fashion-data demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Re-installs when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[train,litert,dev]"
	touch $@

install: $(VENV)/.installed

# Debian's dataset-fashion-mnist: installed when missing and we are root, else we say what to run.
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion-data:
	@if [ ! -d $(FASHION_DIR) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y dataset-fashion-mnist; \
	  else echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', then make again" >&2; exit 1; fi; \
	fi

demo: install fashion-data
	$(BIN)/python scripts/demo.py --out $(DEMO_DIR)

test: install fashion-data
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
