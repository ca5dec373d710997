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
