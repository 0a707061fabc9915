# Two commands do everything on a fresh machine:
#   make run   - create .venv if missing, install Revive, start the app
#   make test  - create .venv if missing, install Revive, run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench package clean screenshots

VERSION  := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' engine/__init__.py)
OS_NAME  := $(shell uname -s | tr A-Z a-z | sed 's/darwin/macos/')
ARCHIVE  := dist/Revive-$(VERSION)-$(OS_NAME)-$(shell uname -m).tar.gz
PACKAGED := $(VENV)/.installed-package

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,identity]"
	touch $(STAMP)

# Without a display the app prints how to use `revive restore` instead, and exits 2.
run: $(STAMP)
	@$(VENV)/bin/revive

# The README's pictures of the app (needs xvfb-run, or a display). WEIGHTS=name picks the
# weights; without trained ones, RANDOM=sparnethd_tiny installs untrained ones (layout only).
WEIGHTS ?= auto
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) -m gui.screenshots docs/screenshots \
		--weights $(WEIGHTS) $(if $(RANDOM),--random-weights $(RANDOM))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(STAMP)
	$(VENV)/bin/ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The real CLI over 1,100 broken and unusual files (tests/fuzz/campaign.py, ~10 minutes on
# 2 cores, no GPU, no network): totals of tracebacks, inputs modified and stray files.
.PHONY: fuzz
fuzz: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m tests.fuzz.campaign $(if $(INPUTS),--inputs $(INPUTS)) $(if $(SEED),--seed $(SEED))

bench: $(STAMP)
	$(PY) bench/bench_models.py
	$(PY) bench/bench_pipeline.py

$(PACKAGED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[package]"
	touch $(PACKAGED)

# dist/Revive/ (one folder: run dist/Revive/Revive) and its archive; see README "Packaging".
# REVIVE_BUNDLE_CUDA=0 make package: a smaller CPU-only bundle.
package: $(PACKAGED)
	rm -rf dist/Revive dist/Revive.app $(ARCHIVE)
	$(PY) -m PyInstaller build.spec --noconfirm
	tar -C dist -czf $(ARCHIVE) Revive
	du -sh dist/Revive $(ARCHIVE)

clean:
	rm -rf build dist .pytest_cache .ruff_cache
