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

# Linux without an NVIDIA GPU (no /proc/driver/nvidia): torch's CPU build first, from
# PyTorch's CPU index, which pip then keeps (a 1.9 GB .venv instead of 6.3 GB: README,
# "Install size"). TORCH=cuda or TORCH=cpu decides instead; an unreachable index, or a
# torchvision that does not match the torch it found (its operators missing), falls back.
TORCH ?= $(if $(filter Linux,$(shell uname -s)),$(if $(wildcard /proc/driver/nvidia),cuda,cpu),default)
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

$(STAMP): pyproject.toml | $(PY)
	@if [ "$(TORCH)" = cpu ]; then \
		if ! $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=10)" 2>/dev/null; then \
			echo "make: $(TORCH_CPU_INDEX) cannot be reached: installing the default torch"; \
		else \
			echo "No NVIDIA GPU: installing torch's CPU build ($(TORCH_CPU_INDEX); TORCH=cuda for the GPU build)"; \
			$(PY) -m pip install -qq --timeout 30 --retries 2 --index-url $(TORCH_CPU_INDEX) \
				--extra-index-url https://pypi.org/simple torch torchvision \
			|| echo "make: torch's CPU build could not be installed: installing the default torch"; \
			$(PY) -c "import torch, torchvision; torch.ops.torchvision.nms" 2>/dev/null \
			|| { echo "make: no matching CPU pair of torch and torchvision: installing the default pair"; \
				$(PY) -m pip uninstall -qq --yes torch torchvision 2>/dev/null; true; }; \
		fi; \
	fi
	$(PY) -m pip install --quiet -e ".[dev,identity]"
	touch $(STAMP)

# Without a display the app prints how to use `revive restore` instead, and exits 2.
run: $(STAMP)
	@$(VENV)/bin/revive

# The README's pictures of the app (needs xvfb-run, or a display): a large screen and a
# 1366 x 768 laptop, light and dark. WEIGHTS=name picks the weights; without trained
# ones, RANDOM=sparnet_blind128_m installs untrained ones (layout only).
WEIGHTS ?= auto
SHOTS_RUN = $(PY) -m gui.screenshots docs/screenshots --weights $(WEIGHTS) $(if $(RANDOM),--random-weights $(RANDOM))
screenshots: $(STAMP)
	xvfb-run -a -s "-screen 0 1920x1080x24" $(SHOTS_RUN) --size 1920x1080
	REVIVE_COLOR_SCHEME=dark xvfb-run -a -s "-screen 0 1920x1080x24" $(SHOTS_RUN) --size 1920x1080 \
		--prefix dark- --shots main-window,attention-inspector,no-weights
	xvfb-run -a -s "-screen 0 1366x768x24" $(SHOTS_RUN) --size 1366x768 --suffix -1366 \
		--shots main-window,main-window-inspector,no-weights
	REVIVE_COLOR_SCHEME=dark xvfb-run -a -s "-screen 0 1366x768x24" $(SHOTS_RUN) --size 1366x768 \
		--prefix dark- --suffix -1366 --shots main-window

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff format --check .

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The real CLI over 1,100 broken and unusual files (tests/fuzz/campaign.py, ~10 minutes on
# 2 cores, no GPU, no network): totals of tracebacks, inputs modified and stray files.
# Then hostile download servers on 127.0.0.1 and weight sets that lie (tests/fuzz/store.py).
.PHONY: fuzz
fuzz: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m tests.fuzz.campaign $(if $(INPUTS),--inputs $(INPUTS)) $(if $(SEED),--seed $(SEED))
	OMP_NUM_THREADS=1 $(PY) -m tests.fuzz.store $(if $(SEED),--seed $(SEED))

# SIGKILL `revive train` 20 times at random moments (tests/kill_training.py, a tiny net, a
# few minutes): every resume from the last complete checkpoint, bit-equal to an
# uninterrupted run; `revive export` during the run gives whole sets or one line.
.PHONY: kill-test
kill-test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m tests.kill_training --kills 20 $(if $(SEED),--seed $(SEED))

# The packs a GPU lease carries (docs/gpu-training.md): ../shared/data -> packs/ (ignored),
# cached and reproducible; about 10 minutes from scratch on 2 cores. Prints the sizes,
# the part the next lease trains on, and the 60 MiB budget.
.PHONY: gpu-data
gpu-data: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m tools.gpu_lease.data

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
