# Set-up and the two main jobs. `make demo` and `make test` each install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo_out

.PHONY: install fashion-data demo test test-pi lint clean

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

# The device runtime on an emulated Raspberry Pi 4 and 5 (needs root and Debian's qemu-user-static,
# binfmt-support, debootstrap, zstd; README "Tested on the Pi's architecture"). The first line
# refuses early (exit 8) where this machine cannot emulate aarch64. PI_MODELS=DIR reuses the
# models `make test` exported with TFEDGE_EXPORT_TEST_MODELS=DIR.
test-pi:
	@$(PYTHON) scripts/pi/harness.py --preflight
	@$(MAKE) --no-print-directory install fashion-data
	$(BIN)/python scripts/pi/harness.py $(if $(PI_MODELS),--models $(PI_MODELS))

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
