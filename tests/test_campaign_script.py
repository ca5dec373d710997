"""reproduce/campaign_6a.sh: ``--status`` asks every step where it stands, trains and commits nothing,
and sums the hours left; any other argument is refused."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "reproduce" / "campaign_6a.sh"

# stands in for the venv's python: records its arguments and answers as train_runs.py --status does
STUB = """#!/usr/bin/env bash
echo "$*" >> "{calls}"
case "$*" in
  *"--notebook 02"*) echo "0 of 12 runs finished; 1 absent. Left: 100 epochs; no pace measured yet for LesionSeg." ;;
  *) echo "0 of 1 runs finished. Left: 48 epochs, about 1.0 h of training (3600 s) on X at each row's pace so far" ;;
esac
"""


def _steps() -> list[str]:
    return [line for line in SCRIPT.read_text().splitlines() if line.startswith("run --")]


def test_status_asks_every_step_and_sums_the_hours_left(tmp_path):
    calls = tmp_path / "calls"
    stub = tmp_path / "python"
    stub.write_text(STUB.format(calls=calls))
    stub.chmod(0o755)
    r = subprocess.run(["bash", str(SCRIPT), "--status"], env={"PY": str(stub), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    asked = calls.read_text().splitlines()
    assert len(asked) == len(_steps()) >= 8  # every step of the campaign, once
    assert all(a.startswith("reproduce/train_runs.py --profile cpu-real --status ") for a in asked)
    assert not any("--commit" in a or "--yes" in a for a in asked)  # nothing trained, nothing committed
    paced = len(asked) - 1  # every step but LesionSeg's answered 3600 s
    assert f"about {paced}.0 h of training left on this CPU ({paced * 3600} s)" in r.stdout
    assert "not in that sum (a row with no pace measured yet): --notebook 02" in r.stdout
    assert "campaign script done" not in r.stdout


def test_an_unknown_argument_is_refused_before_anything_runs(tmp_path):
    stub = tmp_path / "python"
    stub.write_text(STUB.format(calls=tmp_path / "calls"))
    stub.chmod(0o755)
    r = subprocess.run(["bash", str(SCRIPT), "--stauts"], env={"PY": str(stub), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "usage: bash reproduce/campaign_6a.sh [--status]" in r.stderr
    assert not (tmp_path / "calls").exists()
