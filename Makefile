# Set-up and the two main jobs. `make demo` and `make test` each install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo_out

.PHONY: install fashion-data test-packages pi-packages demo test test-pi bench-window lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# Re-installs when pyproject.toml changes. A venv made before tfedge took OpenCV's GUI build holds
# opencv-python-headless: both builds share the cv2 files, so both go and opencv-python comes back.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@if $(BIN)/pip show -q opencv-python-headless 2>/dev/null; then \
	  $(BIN)/pip uninstall -y opencv-python-headless opencv-python; fi
	$(BIN)/pip install -e ".[train,litert,dev]"
	touch $@

install: $(VENV)/.installed

# The Debian packages tests drive for real (these lists only; .ci/run installs through the targets).
# make test: Chromium loads the web view, mosquitto brokers the MQTT tests (openssl makes their TLS
# CA), zstd packs the Pi harness's root archive; xvfb, xdotool, x11-apps (xwd) and imagemagick
# show, drive and photograph the `tfedge run` window, which needs libgl1 (OpenCV's GUI build).
# make test-pi: what builds and runs the emulated Pi.
TEST_PACKAGES := chromium mosquitto openssl zstd xvfb xdotool x11-apps imagemagick libgl1 libusb-1.0-0 openssh-server openssh-client
PI_PACKAGES := qemu-user-static binfmt-support debootstrap zstd

# $(call apt-install,PACKAGES,WHO): apt-get install them when we are root, else one line saying
# what to run, and stop.
apt-install = if [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(1); \
	else echo "$(2) needs Debian packages that are missing: run 'sudo apt-get install$(1)', then make again" >&2; exit 1; fi

# The packages of a list that are neither installed (dpkg) nor found as a command, space-led.
missing = $$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	  || command -v $$p >/dev/null || printf ' %s' $$p; done)

# Debian's dataset-fashion-mnist: installed when missing and we are root, else we say what to run.
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion-data:
	@if [ ! -d $(FASHION_DIR) ]; then $(call apt-install, dataset-fashion-mnist,Fashion-MNIST); fi

test-packages:
	@missing="$(call missing,$(TEST_PACKAGES))"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing,make test); fi

pi-packages:
	@missing="$(call missing,$(PI_PACKAGES))"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing,make test-pi); fi

demo: install fashion-data
	$(BIN)/python scripts/demo.py --out $(DEMO_DIR)

test: install fashion-data test-packages
	$(BIN)/python -m pytest -q

# The device runtime on an emulated Raspberry Pi 4 and 5, on Raspberry Pi OS bookworm and trixie
# (needs root and PI_PACKAGES: `make pi-packages` installs them; README "Tested on the Pi's
# architecture"). The first line refuses early (exit 8) where this machine cannot emulate
# aarch64. PI_MODELS=DIR reuses the models `make test` exported with TFEDGE_EXPORT_TEST_MODELS=DIR;
# PI_OSES=trixie (or bookworm) tests one release; PI_ARGS=--edge-on-every-cpu runs tests/edge on both
# cores, not only the first (slower).
test-pi:
	@$(PYTHON) scripts/pi/harness.py --preflight
	@$(MAKE) --no-print-directory install fashion-data
	$(BIN)/python scripts/pi/harness.py $(if $(PI_MODELS),--models $(PI_MODELS)) $(if $(PI_OSES),--oses $(PI_OSES)) $(PI_ARGS)

# The window benchmark (README "Edge benchmarks") from a fresh clone: the venv, Debian's xvfb, the run.
bench-window: install
	@missing="$(call missing,xvfb)"; \
	if [ -n "$$missing" ]; then $(call apt-install,$$missing,make bench-window); fi
	$(BIN)/python benchmarks/edge_window.py --rounds 5

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
