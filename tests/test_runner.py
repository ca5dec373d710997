"""The batch runner stops on a failing notebook, names it, keeps its executed copy."""
import json
import subprocess
import sys

from conftest import ROOT


def test_runner_names_failed_notebook_and_keeps_traceback(tmp_path):
    profile = tmp_path / "broken.yaml"
    profile.write_text("default:\n  profile: smoke\n  image_height: 65\n"
                       f"  results_dir: {tmp_path / 'results'}\n01_linknet64_isic2018: {{}}\n")
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", str(profile),
                        "--notebooks", "01"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert "FAILED 01_linknet64_isic2018.ipynb" in r.stderr and "image_height=65" in r.stderr
    out = tmp_path / "results" / "smoke" / "notebooks" / "01_linknet64_isic2018.ipynb"
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ValueError"


def test_unknown_profile_lists_known(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", "fastest"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "known profiles: cpu-real, paper, smoke" in r.stderr
