"""reproduce/train_runs.py --commit: each finished run lands in its own commit, message from the run;
--status: what is done and what is left."""
import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _repo(tmp_path, gitignore: str):
    """A new git repository ``tmp_path/repo`` with a committer and ``gitignore`` written (not added)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    (repo / ".gitignore").write_text(gitignore)
    return repo


def test_commit_lands_each_finished_run_once(tmp_path):
    # as in this repository: results/ ignored, the committed profile's folder re-included (the check asks
    # about the folder the runs land in, not results_dir itself)
    # (and a negated pattern matching the probe file: `check-ignore -v` prints it, yet git keeps the file)
    repo = _repo(tmp_path, "results/*\n!results/smoke/\n!metrics.csv\n")
    (repo / "staged.txt").write_text("someone else's staged change\n")
    _git(repo, "add", "staged.txt")
    cmd = [sys.executable, str(ROOT / "reproduce" / "train_runs.py"), "--profile", "smoke", "--notebook", "01",
           "--variants", "LinkNet-64", "--commit", "--set", "synthetic_n=16", "--set", "epochs=3",
           "--set", "image_height=32", "--set", "image_width=32", "--set", f"results_dir={repo / 'results'}",
           "--set", f"checkpoint_dir={tmp_path / 'ck'}", "--set", "run_set=t3"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    log = _git(repo, "log", "--format=%s").splitlines()
    assert len(log) == 1
    assert re.fullmatch(r"smoke run \(run_set t3\): LinkNet-64 \[\w+, seed 0\], 3 epochs, (converged|NOT converged) "
                        r"\(best epoch [123], last-20 % gain [+-]\d\.\d{4}\); test Jaccard \d\.\d{3} "
                        r"\((original|training) resolution\); (\d+) s of training", log[0]), log[0]
    run = next((repo / "results").rglob("metrics.csv")).parent
    took = json.loads((run / "provenance.json").read_text())["train_seconds"]
    assert log[0].endswith(f"; {took:.0f} s of training")  # the epochs' time, not the call's
    committed = set(_git(repo, "show", "--name-only", "--format=", "HEAD").split())
    split = [str(f.relative_to(repo)) for f in (repo / "results").rglob("splits/*")]
    assert sorted(Path(f).suffix for f in split) == [".csv", ".json"]  # the split made for this run lands with it,
    # and the record of what made it (without which the next checkout refuses the split)
    assert committed == {str(f.relative_to(repo)) for f in run.iterdir()} | set(split)  # and nothing else
    assert _git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]  # left staged, uncommitted
    assert _git(repo, "status", "--porcelain", "--untracked-files=all").split() == ["A", "staged.txt", "??",
                                                                                  ".gitignore"]
    # a second pass reuses the finished run: nothing new to commit
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.count("reuse") == 1, r.stdout + r.stderr[-2000:]
    assert len(_git(repo, "log", "--format=%s").splitlines()) == 1
    # --status lists it, and a second seed still to train at its measured pace; it trains nothing
    two = [*cmd, "--set", "seeds=0,1"]
    r = subprocess.run([*two, "--status"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    finished, absent = [line.split() for line in r.stdout.splitlines() if line.lstrip().startswith("LinkNet-64")]
    assert finished[2:5] == ["0", "finished", "3"] and finished[6] in ("yes", "NO")
    assert absent[2:6] == ["1", "absent", "0", "3"]
    left = re.search(r"Left: 3 epochs, about 0\.\d h of training \((\d+) s\)", r.stdout)
    assert "1 of 2 runs finished" in r.stdout and left and abs(int(left[1]) - took) <= 1, r.stdout  # seed 0's pace
    assert not (run.parent / "seed1").exists() and len(_git(repo, "log", "--format=%s").splitlines()) == 1
    # --seeds picks among the planned seeds; one the plan lacks is refused, naming each row's seeds
    r = subprocess.run([*two, "--status", "--seeds", "1"], capture_output=True, text=True, timeout=300)
    assert [line.split()[2:4] for line in r.stdout.splitlines() if line.lstrip().startswith("LinkNet-64")] == \
        [["1", "absent"]], r.stdout + r.stderr[-2000:]
    r = subprocess.run([*cmd, "--seeds", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "--seeds 1 selects none of the planned runs (seeds per row: LinkNet-64: 0)" in r.stderr
    assert not (run.parent / "seed1").exists() and len(_git(repo, "log", "--format=%s").splitlines()) == 1


def test_commit_refuses_before_training_where_git_cannot_commit(tmp_path):
    (tmp_path / "plain").mkdir()
    base = [sys.executable, str(ROOT / "reproduce" / "train_runs.py"), "--profile", "smoke", "--notebook", "01",
            "--variants", "LinkNet-64", "--commit", "--set", f"checkpoint_dir={tmp_path / 'ck'}"]
    r = subprocess.run([*base, "--set", f"results_dir={tmp_path / 'plain' / 'results'}"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "is not inside a git work tree" in r.stderr
    assert not (tmp_path / "plain" / "results").exists()  # nothing trained, nothing claimed, no folder made
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("results/\n")
    r = subprocess.run([*base, "--set", f"results_dir={repo / 'results'}"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0 and "git ignores" in r.stderr
    assert not (repo / "results").exists()
    # a rule that ignores only the run_set folder the runs land in, below a tracked profile folder
    (repo / ".gitignore").write_text("results/*\n!results/smoke/\n**/scratch-set/\n")
    r = subprocess.run([*base, "--set", f"results_dir={repo / 'results'}", "--set", "run_set=scratch-set"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "git ignores" in r.stderr and ".gitignore:3:**/scratch-set/" in r.stderr, r.stderr
    assert not (repo / "results").exists()


def test_a_trained_asnet_run_keeps_its_modules_figures_beside_it(tmp_path):
    """The checkpoints are not committed: what the notebook's ASM table needs is measured when the
    run lands, on the checkpoint it was scored with, and committed with the run folder."""
    repo = _repo(tmp_path, "results/*\n!results/smoke/\n")
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "-q", "-m", "ignore")
    cmd = [sys.executable, str(ROOT / "reproduce" / "train_runs.py"), "--profile", "smoke", "--notebook", "05",
           "--variants", "ASNet,Baseline", "--commit", "--set", "max_folds=1", "--set", "synthetic_n=20",
           "--set", "epochs=1", "--set", "image_height=64", "--set", "image_width=64",
           "--set", f"results_dir={repo / 'results'}", "--set", f"checkpoint_dir={tmp_path / 'ck'}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    kept = list((repo / "results").rglob("asm_activity.json"))
    assert [f.parts[-4] for f in kept] == ["asnet"]  # <row>/<fold>/<seed>/: not beside the Baseline (no module)
    run = kept[0].parent
    figures = json.loads(kept[0].read_text())
    assert figures["best_sha256"] == json.loads((run / "weights.json").read_text())["best_sha256"]
    m = figures["by_n_images"]["16"]
    assert m["activity_pct"] >= 0 and f"adaptive scale module: beta {m['beta']:+.4f}, adds" in r.stdout
    # in ASNet's own commit, with its run
    commits = _git(repo, "log", "--format=%H %s").splitlines()
    asnet = next(c.split()[0] for c in commits if ": ASNet [" in c)
    assert str(kept[0].relative_to(repo)) in _git(repo, "show", "--name-only", "--format=", asnet).split()
    # reused: read back, not measured again, and the file is left as it was
    before = kept[0].stat().st_mtime_ns
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "adaptive scale module:" not in r.stdout and kept[0].stat().st_mtime_ns == before
    assert _git(repo, "status", "--porcelain", "--untracked-files=all") == ""  # nothing left uncommitted


def test_commit_message_says_resumed_only_where_epochs_were_carried_over(tmp_path):
    """A folder left unfinished without a checkpoint (a new checkout) trains again from epoch 1: its
    status is "resume", but nothing was resumed, and the message must not say so."""
    import importlib.util
    from types import SimpleNamespace

    import pandas as pd

    from skinseg.papers.spec import PaperSpec, Variant

    spec_ = importlib.util.spec_from_file_location("train_runs", ROOT / "reproduce" / "train_runs.py")
    train_runs = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(train_runs)
    spec = PaperSpec("t", "nb", "", "", {}, {}, variants=(Variant("ASNet", "asnet", main=True),))
    exp = SimpleNamespace(params={"profile": "cpu-real", "run_set": ""}, spec=spec,
                          variant_params=lambda v: {"monitor": "jaccard"})
    (tmp_path / "provenance.json").write_text(json.dumps({"train_seconds": 3632.0}))
    metrics = pd.DataFrame([{"metric": "jaccard", "target": "lesion", "resolution": "original", "reduction": "macro",
                             "value": 0.811}])
    history = pd.DataFrame({"epoch": range(1, 11), "val_jaccard": [0.5 + 0.01 * e for e in range(10)]})
    messages = {}
    for after in (0, 7):
        history.attrs["resumed_after_epochs"] = after
        o = SimpleNamespace(metrics=metrics, variant="ASNet", history=history, run=SimpleNamespace(path=tmp_path),
                            status="resume", partition="fold4", seed=0)
        messages[after] = train_runs.commit_message(exp, o)
    assert messages[0].endswith("; test Jaccard 0.811 (original resolution); 3632 s of training"), messages[0]
    assert messages[7].endswith("; 3632 s of training (resumed after epoch 7)"), messages[7]
