"""`make lab` (JupyterLab on notebooks/ with the project's kernel) is wired up; no server is started here."""
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _rules():
    """Makefile target -> (prerequisites, recipe lines)."""
    rules, cur = {}, None
    for ln in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"^([^\s#:=][^:=]*):(?!=)\s*(.*)$", ln)
        if m:
            cur = m.group(1).strip()
            rules[cur] = (m.group(2).split(), [])
        elif ln.startswith("\t") and cur is not None:
            rules[cur][1].append(ln.strip())
        elif not ln.strip() or ln.startswith("#"):
            continue
        else:
            cur = None
    return rules


def test_makefile_lab_target():
    rules = _rules()
    phony = rules[".PHONY"][0]
    assert "lab" in phony and "test" in phony
    lab_prereqs, lab_recipe = rules["lab"]
    assert any("jupyter lab" in c and "--notebook-dir=notebooks" in c and "$(LAB_ARGS)" in c for c in lab_recipe)
    # the kernel registration comes first and needs the venv
    assert lab_prereqs == ["$(KERNEL)"]
    assert "KERNEL := $(VENV)/share/jupyter/kernels/skinseg/kernel.json" in (ROOT / "Makefile").read_text()
    kernel_prereqs, kernel_recipe = rules["$(KERNEL)"]
    assert kernel_prereqs == ["$(VENV)/.installed"]
    assert any("ipykernel install --sys-prefix --name skinseg" in c for c in kernel_recipe)
    # `make test` never starts it
    test_prereqs, test_recipe = rules["test"]
    assert "lab" not in test_prereqs and "$(KERNEL)" not in test_prereqs
    assert not any("jupyter" in c for c in test_recipe)


def test_jupyterlab_installed():
    jupyter = Path(sys.executable).parent / "jupyter"
    out = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "4.6.6"


def test_make_test_runs_one_worker_per_core_each_on_one_thread():
    """`make test` spreads the pytest suite over one worker per core (at most 4); each worker, and what
    it starts, runs torch on one thread (tests/conftest.py), so workers never oversubscribe the cores."""
    import os

    import torch

    _, test_recipe = _rules()["test"]
    assert test_recipe[0].endswith("-m pytest -q -n $(TEST_WORKERS) --dist worksteal tests")
    assert "--nbval" in test_recipe[1] and " -n " not in test_recipe[1]  # the notebooks: one after another
    # the default: without what an enclosing `make test TEST_WORKERS=n` passes down
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "TEST_WORKERS")}
    workers = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT),
                              "--eval=print-workers: ; @echo $(TEST_WORKERS)", "print-workers"],
                             capture_output=True, text=True, check=True, env=env).stdout.strip()
    assert workers == str(min(len(os.sched_getaffinity(0)), 4))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
