"""The committed cpu-real runs are what the cpu-real profile asks for: a change to a recipe, a
profile or a model's config that would leave them unreusable (each notebook would then show
"other config" and train nothing) fails here, not in a re-run hours later."""
from __future__ import annotations

import pytest

from conftest import ROOT, needs_shared
from skinseg.experiment import Experiment
from skinseg.papers import get_paper, list_papers
from skinseg.profiles import load_profile, resolve

PAPERS = list_papers()


@needs_shared
@pytest.mark.parametrize("key", PAPERS)
def test_cpu_real_profile_reuses_every_committed_run(key, monkeypatch):
    monkeypatch.chdir(ROOT)  # the profile's data_root and results_dir are relative to the project
    spec = get_paper(key)
    status = Experiment(resolve(spec, load_profile("cpu-real")), spec).completeness()
    committed = status[status.status != "absent"]
    assert len(committed), f"{key}: no committed cpu-real run found under results/cpu-real/"
    stale = committed[committed.status == "other config"]
    assert stale.empty, (f"{key}: committed runs the cpu-real profile no longer reuses (fix the change or set the "
                         f"old value in reproduce/profiles/cpu-real.yaml):\n{stale.to_string(index=False)}")
