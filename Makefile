# Two commands do everything on a fresh machine:
#   make reproduce   # set up .venv, run every paper notebook on the synthetic default (results/smoke/)
#   make test        # set up .venv if missing, run pytest + nbval
# Real data:  make reproduce PROFILE=cpu-real DATA=../shared/data/isic2017-256
# Notebooks:  make lab   # JupyterLab on notebooks/ with the project's kernel; LAB_ARGS="--no-browser --ip=0.0.0.0" passes options

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= smoke
DATA ?=
NOTEBOOKS ?=
OVERWRITE ?=
LAB_ARGS ?=
KERNEL := $(VENV)/share/jupyter/kernels/skinseg/kernel.json

.PHONY: reproduce test venv lab clean-smoke

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in the lock: pip takes the local CPU wheel, never the CUDA build.
	# --no-compile: byte-compiling every installed module took half the set-up (53 s against 24 s
	# without); Python compiles the modules a run imports, once, when it first imports them.
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

reproduce: $(VENV)/.installed
	$(PY) reproduce/run.py --profile $(PROFILE) $(if $(DATA),--data $(DATA)) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS)) $(if $(OVERWRITE),--overwrite) $(if $(JOBS),--jobs $(JOBS))

test: $(VENV)/.installed
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks

# The project's kernel (this .venv's python, which has skinseg installed), registered inside the venv.
$(KERNEL): $(VENV)/.installed
	$(PY) -m ipykernel install --sys-prefix --name skinseg --display-name "skinseg (.venv)"

# Interactive only; `make test` never starts it. --allow-root only when run as root (containers).
lab: $(KERNEL)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=skinseg $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean-smoke:
	rm -rf results/smoke checkpoints/smoke
