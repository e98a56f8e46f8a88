# Two commands do all set-up on a fresh machine:
#   make run    create .venv if missing, install the plugin with PyQt6, open napari on a demo
#               marking session (ARGS="IMAGES SAVE_DIR" for your own)
#   make test   create .venv if missing, install the test extra (and, as root on Debian, the
#               system packages headless Qt needs), run the whole suite under a virtual X display
# A Python >= 3.12, 3.12 first (the AIDA conformance suite needs it): on PATH, else under
# pyenv), else python3 (the plugin itself needs >= 3.10).
PYTHON ?= $(shell for p in python3.12 python3.13; do \
            $$p -c 'import sys' >/dev/null 2>&1 && { command -v $$p; exit 0; }; done; \
          for p in $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3 \
                   $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3; do \
            [ -x "$$p" ] && { echo "$$p"; exit 0; }; done; echo python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Debian packages a fresh machine lacks for Qt's xcb platform under Xvfb.
QT_DEBS := xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
           libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 \
           libxcb-cursor0 libgl1 libegl1 libfontconfig1 libdbus-1-3

.PHONY: run test lint format bench sysdeps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-qt: pyproject.toml napari.yaml | $(PY)
	@echo "Installing napari-imagemarker with napari and PyQt6 into $(VENV) (first time: about 2 minutes)..."
	$(PY) -m pip install --quiet -e ".[qt]"
	touch $@

$(VENV)/.installed-testing: pyproject.toml napari.yaml | $(PY)
	@echo "Installing napari-imagemarker with its test tools into $(VENV) (first time: about 2 minutes)..."
	$(PY) -m pip install --quiet -e ".[testing]"
	touch $@

# Installs the Debian packages headless Qt needs, only when running as root on Debian and only
# those that are missing; elsewhere it says what is needed and carries on.
sysdeps:
	@missing=""; for p in $(QT_DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages for headless Qt:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	    echo "Note: headless Qt tests need these system packages:$$missing"; \
	fi

# make run                      the demo marking session (images shipped with the package)
# make run ARGS="IMAGES SAVE"   your own images and save folder (imagemarker mark IMAGES SAVE)
run: sysdeps $(VENV)/.installed-qt
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
	    exec $(PY) -m napari_imagemarker._napari.launch $(ARGS); \
	elif command -v xvfb-run >/dev/null; then \
	    echo "No display: napari runs on a virtual screen (xvfb-run), where nothing is seen."; \
	    exec xvfb-run -a -s "-screen 0 1366x768x24" $(PY) -m napari_imagemarker._napari.launch $(ARGS); \
	else \
	    echo "No display, and no xvfb-run to make a virtual one. On Debian/Ubuntu:"; \
	    echo "    sudo apt-get install xvfb && xvfb-run -a make run"; \
	    exit 2; \
	fi

test: sysdeps $(VENV)/.installed-testing
	QT_QPA_PLATFORM=xcb $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-testing
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(VENV)/.installed-testing
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
