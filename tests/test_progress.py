"""skinseg.progress: what a batch of runs has done and how long the rest takes (train_runs.py --status)."""
import math

import pandas as pd
from helpers_experiment import small_params

from skinseg.experiment import Experiment
from skinseg.progress import COLUMNS, epochs_to_run, hours_left, progress_summary, row_pace, run_progress, time_left
from skinseg.results import write_json


def _table(lines):
    return pd.DataFrame(lines, columns=COLUMNS)


NAN = float("nan")
# row A: two finished runs, 400 s over 20 epochs -> 20 s an epoch; one resumes after 4 of 10, one is absent.
# row B: nothing finished (no pace). Row C: 50 s over 10 epochs; its second folder holds another config.
PROGRESS = _table([
    ["A", "f0", 0, "finished", 10, 10, True, 7, 100.0, None],
    ["A", "f1", 0, "finished", 10, 10, False, 10, 300.0, None],
    ["A", "f2", 0, "unfinished", 4, 10, None, NAN, NAN, None],
    ["A", "f3", 0, "absent", 0, 10, None, NAN, NAN, None],
    ["B", "f0", 0, "absent", 0, 5, None, NAN, NAN, None],
    ["C", "f0", 0, "finished", 10, 10, True, 3, 50.0, None],
    ["C", "f1", 0, "other config", 0, 10, None, NAN, NAN, None],
])


def test_time_left_is_each_runs_epochs_to_go_at_its_rows_measured_pace():
    assert epochs_to_run(PROGRESS).tolist() == [6, 10, 5, 10]  # unfinished keeps its 4; other config starts over
    left, unknown = time_left(PROGRESS)
    assert math.isclose(left, 6 * 20 + 10 * 20 + 10 * 5)  # B's 5 epochs have no pace: listed, not guessed
    assert unknown == ["B"]


def test_summary_counts_each_state_and_the_time_left():
    text = progress_summary(PROGRESS)
    assert text.startswith("3 of 7 runs finished (2 of 3 trained ones converged); 1 unfinished")
    assert "; 2 absent; 1 folders held by another config" in text
    assert "Left: 31 epochs, about 0.1 h of training (370 s)" in text and text.endswith("no pace measured yet for B.")
    fresh = progress_summary(PROGRESS[PROGRESS.status == "absent"])  # no row has a pace: no hours guessed
    assert fresh.endswith("2 absent. Left: 15 epochs; no pace measured yet for A, B."), fresh
    done = progress_summary(PROGRESS[PROGRESS.status == "finished"])
    assert done == "3 of 3 runs finished (2 of 3 trained ones converged); 0 unfinished (resume from their " \
                   "last.pt, if any); 0 absent."  # nothing left: no time line


def test_run_progress_reads_finished_unfinished_and_absent_runs_from_their_folders(tmp_path):
    import torch

    p = small_params(tmp_path, variants="LinkNet-64", seeds="0,1,2,3", epochs=3)
    exp = Experiment(p, paper="delatorre2018")
    (v, part, _), *_ = exp.plan()
    done = exp.run(v, part, 0)
    # seed 1 as a session's end leaves it: its config and two epochs of history, no metrics yet
    rd = exp.run_dir(v, part, 1)
    write_json(rd.path / "config.json", exp.run_config(v, part, 1))
    done.history.iloc[:2].to_csv(rd.path / "history.csv", index=False)
    # seed 3's folder holds a run of another learning rate, with history of its own
    other = exp.run_dir(v, part, 3)
    write_json(other.path / "config.json", {**exp.run_config(v, part, 3), "lr": 0.5})
    done.history.to_csv(other.path / "history.csv", index=False)
    progress = run_progress(exp)
    assert progress.status.tolist() == ["finished", "unfinished", "absent", "other config"]
    # no last.pt yet: seed 1 starts over, whatever its history.csv holds; another config's epochs are not ours
    assert progress.epochs.tolist() == [3, 0, 0, 0] and progress["planned epochs"].tolist() == [3, 3, 3, 3]
    first = progress.iloc[0]
    assert first.converged in (True, False) and first["best epoch"] == done.history.val_jaccard.idxmax() + 1
    assert first["training s"] > 0 and progress["training s"].iloc[1:].isna().all()
    assert progress.converged.iloc[1:].isna().all()
    assert not exp.run_dir(v, part, 2).path.exists()  # reading claims no folder
    pace = first["training s"] / 3
    left, unknown = time_left(progress)
    assert unknown == [] and math.isclose(left, (3 + 3 + 3) * pace)
    rd.checkpoint_path.mkdir(parents=True)
    torch.save({"epoch": 0}, rd.checkpoint_path / "last.pt")  # one epoch in its checkpoint: resumes after it
    progress = run_progress(exp)
    assert progress.epochs.tolist() == [3, 1, 0, 0] and math.isclose(time_left(progress)[0], (2 + 3 + 3) * pace)


def test_pace_is_this_cpus_where_measured_else_the_unfinished_runs_else_another_cpus():
    lines = [["A", "f0", 0, "finished", 10, 10, True, 7, 100.0, "fast CPU"],
             ["A", "f1", 0, "finished", 10, 10, True, 7, 300.0, "slow CPU"],
             ["A", "f2", 0, "absent", 0, 10, None, NAN, NAN, None],
             ["B", "f0", 0, "unfinished", 4, 10, None, NAN, 80.0, "slow CPU"],
             ["B", "f1", 0, "absent", 0, 10, None, NAN, NAN, None]]
    progress = pd.DataFrame(lines, columns=COLUMNS)
    slow = row_pace(progress, "slow CPU")
    assert slow.loc["A"].tolist() == [30.0, "this CPU"] and slow.loc["B"].tolist() == [20.0, "this CPU, the unfinished runs so far"]
    fast = row_pace(progress, "fast CPU")
    assert fast.loc["A"].tolist() == [10.0, "this CPU"] and "B" not in fast.index  # B never finished nor ran here
    assert hours_left(progress, "slow CPU").round(4).tolist() == [0, 0, round(10 * 30 / 3600, 4), round(6 * 20 / 3600, 4),
                                                                 round(10 * 20 / 3600, 4)]
    text = progress_summary(progress, "another CPU")
    assert "on another CPU at each row's pace so far" in text and "A: paced on another CPU" in text


def test_a_seed_listed_alone_is_paced_by_its_rows_other_seeds():
    """``--seeds 1 --status`` lists one seed, but seed 0 of the same row, finished, sets its pace: without
    ``paced_by`` the listed lines alone have no pace and the hours left go unsaid."""
    lines = [["A", "f0", 0, "finished", 10, 10, True, 7, 200.0, "CPU"],
             ["A", "f0", 1, "absent", 0, 10, None, NAN, NAN, None],
             ["B", "f0", 1, "absent", 0, 10, None, NAN, NAN, None]]
    everyone = pd.DataFrame(lines, columns=COLUMNS)
    listed = everyone[everyone.seed == 1]
    assert time_left(listed, "CPU") == (0.0, ["A", "B"])
    assert time_left(listed, "CPU", everyone) == (10 * 20.0, ["B"])
    hours = hours_left(listed, "CPU", everyone)
    assert math.isclose(hours.iloc[0], 200 / 3600) and math.isnan(hours.iloc[1])
    text = progress_summary(listed, "CPU", everyone)
    assert "(200 s) on CPU" in text and "no pace measured yet for B." in text
