"""Converged before judged: the validation score flat over the last 20 % of epochs, on hand-made histories."""
import numpy as np
import pandas as pd
import pytest

from skinseg import convergence
from skinseg.train import patience_count


def _history(scores, monitor="jaccard"):
    return pd.DataFrame({"epoch": range(1, len(scores) + 1), f"val_{monitor}": scores})


@pytest.mark.parametrize("epochs, window", [(1, 1), (5, 1), (6, 2), (10, 2), (12, 3), (24, 5), (40, 8)])
def test_the_window_is_the_last_fifth_of_the_epochs_rounded_up(epochs, window):
    assert convergence.window_epochs(epochs) == window


def test_best_epoch_before_the_window_converged():
    r = convergence.run_convergence(_history([0.5, 0.7, 0.80, 0.79, 0.78]))
    assert r == {"epochs": 5, "best epoch": 3, "window": 1, "gain in window": pytest.approx(-0.02), "converged": True}


def test_a_last_epoch_that_creeps_up_within_the_band_converged_and_one_that_climbs_did_not():
    creeping = convergence.run_convergence(_history([0.5, 0.7, 0.75, 0.80, 0.802, 0.804]))  # window: last 2
    assert creeping["best epoch"] == 6 and creeping["gain in window"] == pytest.approx(0.004)
    assert creeping["converged"]
    climbing = convergence.run_convergence(_history([0.5, 0.7, 0.75, 0.78, 0.80, 0.81]))
    assert climbing["gain in window"] == pytest.approx(0.03) and not climbing["converged"]
    # the band is a parameter: 0.05 lets the climbing run pass
    assert convergence.run_convergence(_history([0.5, 0.7, 0.75, 0.78, 0.80, 0.81]), band=0.05)["converged"]


def test_too_short_or_missing_histories_are_not_converged_and_the_monitor_column_is_read():
    assert not convergence.run_convergence(_history([0.5, 0.9]))["converged"]
    assert not convergence.run_convergence(pd.DataFrame())["converged"]
    dice = convergence.run_convergence(_history([0.5, 0.9, 0.9, 0.9, 0.9], monitor="dice"), monitor="dice")
    assert dice["converged"] and dice["best epoch"] == 2
    assert convergence.converged_cell(2, 3) == "no (2/3 runs)" and convergence.converged_cell(3, 3) == "yes (3/3 runs)"
    assert convergence.converged_cell(0, 0) == ""


def test_the_gpu_probe_of_the_one_protocol_changes_only_device_budget_and_data_location():
    """reproduce/convergence-probe.yaml picks cpu-real's one-protocol budget, so it must train what cpu-real
    trains: any other setting that drifts apart (batch, size, loss, schedule...) fails here."""
    from skinseg.papers import get_paper
    from skinseg.params import run_keys
    from skinseg.profiles import load_profile, resolve

    spec = get_paper("one_protocol")
    probe_all = resolve(spec, load_profile("reproduce/convergence-probe.yaml"))
    cpu_all = resolve(spec, load_profile("cpu-real"))
    probe, cpu = run_keys(probe_all), run_keys(cpu_all)
    differ = {k for k in probe.keys() | cpu.keys() if probe.get(k) != cpu.get(k)}
    assert differ == {"profile", "epochs", "data_root", "original_masks_root"}  # the device is no run setting
    assert probe_all["device"] == "cuda" and cpu_all["device"] == "cpu"


def _stop_epoch(scores, patience, min_delta):
    """The epoch an early stop ends a run scoring ``scores`` (None: it runs them all)."""
    ref, bad = -np.inf, 0
    for epoch, score in enumerate(scores, 1):
        ref, bad = patience_count(score, ref, bad, min_delta)
        if bad >= patience:
            return epoch
    return None


def test_patience_counts_only_gains_above_min_delta_and_keeps_its_reference():
    """By hand: with min_delta 0.005, 0.503 and 0.504 do not beat 0.5 by enough; 0.52 does."""
    steps, ref, bad = [], -np.inf, 0
    for score in [0.5, 0.503, 0.504, 0.52, 0.521]:
        ref, bad = patience_count(score, ref, bad, 0.005)
        steps.append((ref, bad))
    assert steps == [(0.5, 0), (0.5, 1), (0.5, 2), (0.52, 0), (0.52, 1)]
    assert patience_count(0.503, 0.5, 2) == (0.503, 0)  # min_delta 0: any gain


def test_a_stop_with_patience_a_fifth_of_the_cap_and_min_delta_the_band_is_always_converged():
    """LesionSeg's rule (patience 20, min_delta 0.005, cap 100) on random slow climbs: every run it stops
    passes the convergence criterion. Patience 10 with any gain counting (the first rule) stops some
    of the same runs while they still climb by more than the band."""
    rng = np.random.default_rng(0)
    stopped, unconverged_first_rule = 0, 0
    for _ in range(300):
        # a climb that slows down, plus epoch-to-epoch noise about the band's size
        scores = 0.8 - 0.3 * np.exp(-np.arange(100) / rng.uniform(5, 60)) + rng.normal(0, 0.004, 100)
        stop = _stop_epoch(scores, patience=convergence.window_epochs(100), min_delta=convergence.BAND)
        if stop is not None:
            stopped += 1
            assert convergence.run_convergence(_history(scores[:stop]))["converged"], stop
        first = _stop_epoch(scores, patience=10, min_delta=0.0)
        if first is not None and not convergence.run_convergence(_history(scores[:first]))["converged"]:
            unconverged_first_rule += 1
    assert stopped >= 50 and unconverged_first_rule >= 20, (stopped, unconverged_first_rule)
