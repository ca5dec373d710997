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
# YES=1: train what a real-data profile still needs without asking (the runner otherwise says what and how long, and asks)
YES ?=
# smoke notebooks two at a time (one thread each), in the profile's start_order: about 150 s for the five on a fresh clone (2026-12-05);
# a real-data profile runs one notebook at a time unless JOBS is given
JOBS ?= $(if $(filter smoke,$(PROFILE)),2,)
LAB_ARGS ?=
# pytest workers for `make test` (pytest-xdist, one thread each: tests/conftest.py): one per core, at most 4
# (each imports torch and trains small models; nproc counts the cores this process may use, not
# OMP_NUM_THREADS, which it would otherwise follow). On 2 cores (2026-12-05): 336 s on a fresh clone against 534 s in one process.
# The notebooks (nbval) run one after another: the summary reads what the five paper notebooks wrote.
TEST_WORKERS ?= $(shell n=$$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
KERNEL := $(VENV)/share/jupyter/kernels/skinseg/kernel.json

.PHONY: reproduce test venv cluster lab clean-smoke notebooks

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	# torch==2.13.0 is pinned in the lock: pip takes the local CPU wheel, never the CUDA build.
	# pip byte-compiles one file at a time (53 s of set-up against 24 s without); compileall does it on
	# every core afterwards (18 s on 2). Compiled ahead it must be: where PYTHONDONTWRITEBYTECODE is set,
	# each notebook's kernel would otherwise compile torch anew. -qq: errors only (not the machine's
	# pip-config warnings about absent local indexes, one per package).
	$(PY) -m pip install -qq --no-compile -r requirements.txt
	# (a few files hold newer syntax, e.g. torch's py312 test helpers: pip skips them, and so does this)
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	$(PY) -m pip install -qq --no-deps -e .
	touch $@

venv: $(VENV)/.installed

# The optional Ray extra (reproduce/train_runs.py --executor ray): not part of `make reproduce`'s set-up;
# `make test` installs it so that tests/test_cluster.py runs a local two-CPU cluster (else it skips).
$(VENV)/.cluster: $(VENV)/.installed requirements-cluster.txt
	$(PY) -m pip install -qq --no-compile -r requirements-cluster.txt
	touch $@

cluster: $(VENV)/.cluster

reproduce: $(VENV)/.installed
	$(PY) reproduce/run.py --profile $(PROFILE) $(if $(YES),--yes) $(if $(DATA),--data $(DATA)) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS)) $(if $(OVERWRITE),--overwrite) $(if $(JOBS),--jobs $(JOBS))

test: $(VENV)/.installed $(VENV)/.cluster
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal tests
	$(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks

# The project's kernel (this .venv's python, which has skinseg installed), registered inside the venv.
$(KERNEL): $(VENV)/.installed
	$(PY) -m ipykernel install --sys-prefix --name skinseg --display-name "skinseg (.venv)"

# Interactive only; `make test` never starts it. --allow-root only when run as root (containers).
lab: $(KERNEL)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=skinseg $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean-smoke:
	rm -rf results/smoke checkpoints/smoke

# Re-render the committed notebooks/ in place, each with its own parameters cell (the smoke values), after an
# intended change to what they print: nbval then compares the cells marked NBVAL_CHECK_OUTPUT against these outputs.
# One after another, in order: the summary (06) reads what 01-05 wrote to results/smoke/.
notebooks: $(VENV)/.installed
	for nb in notebooks/0[1-6]_*.ipynb; do \
	  $(PY) -m jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.kernel_name=python3 \
	    --ExecutePreprocessor.timeout=1800 $$nb || exit 1; done
