"""Step 6c: the planned runs as tasks on a Ray cluster (``train_runs.py --executor ray``), on a local
two-CPU cluster: the same files as the serial path, two runs at once, retries that resume from the
checkpoint, and a run that fails every try reported by name while the others land."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT

ray = pytest.importorskip("ray", reason="Ray is not installed (the optional extra: pip install -e '.[cluster]')")

pytestmark = pytest.mark.slow

SMALL = ["--set", "synthetic_n=16", "--set", "epochs=2", "--set", "image_height=32", "--set", "image_width=32",
         "--set", "checkpoint_interval_s=0", "--set", "seeds=0,1", "--variants", "LinkNet-64"]


@pytest.fixture(scope="module")
def local_cluster():
    # a new cluster of its own ("local": never one another xdist worker or `ray start` left running); its
    # workers inherit this environment (one thread each: conftest)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def batch_env():
    """train_runs.main sets the epoch-lines variable in this process: put it back as it was."""
    from skinseg.train import BATCH_ENV

    before = os.environ.get(BATCH_ENV)
    yield
    if before is None:
        os.environ.pop(BATCH_ENV, None)
    else:
        os.environ[BATCH_ENV] = before


def _train_runs():
    spec = importlib.util.spec_from_file_location("train_runs", ROOT / "reproduce" / "train_runs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _runs(results: Path) -> dict:
    """Each finished run folder under ``results``, by its path below it."""
    return {m.parent.relative_to(results).as_posix(): m.parent for m in sorted(results.rglob("metrics.csv"))}


@pytest.fixture
def one_thread():
    """This process trains with one thread, as each task (``--cpus-per-run 1``) does: the numbers of a seed
    are the same bits only for the same thread count."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_ray_runs_give_the_serial_files_two_at_once(tmp_path, local_cluster, one_thread, batch_env, capsys):
    main = _train_runs().main
    common = ["--profile", "smoke", "--notebook", "01", "--yes", *SMALL]
    assert main([*common, "--set", f"results_dir={tmp_path / 'serial'}", "--set",
                 f"checkpoint_dir={tmp_path / 'ck-serial'}"]) == 0
    capsys.readouterr()
    on_ray = [*common, "--executor", "ray", "--set", f"results_dir={tmp_path / 'ray'}", "--set",
              f"checkpoint_dir={tmp_path / 'ck-ray'}"]
    assert main(on_ray) == 0
    out = capsys.readouterr().out
    assert "ray: 2 runs submitted (1 CPU each, 2 at once on this cluster, 2 retries each)" in out
    assert "ray: 2 of 2 runs done; 0 running, 0 waiting" in out
    serial, ray_runs = _runs(tmp_path / "serial"), _runs(tmp_path / "ray")
    assert len(serial) == 2 and serial.keys() == ray_runs.keys()
    for name, folder in serial.items():
        for f in ("metrics.csv", "metrics_per_image.csv", "history.csv"):
            # bit for bit: the same seed on one CPU with one thread, whichever process trains it
            assert (folder / f).read_bytes() == (ray_runs[name] / f).read_bytes(), f"{name}/{f}"
        configs = [json.loads((d / "config.json").read_text()) for d in (folder, ray_runs[name])]
        assert [c.pop("split_file") for c in configs] == [str(tmp_path / d / "smoke/delatorre2018/splits/"
                                                              "isic2018-holdout.csv") for d in ("serial", "ray")]
        assert configs[0] == configs[1]
        # and the same best weights (the files differ: they record where and when they were written)
        best = [torch.load(ck / name / "best.pt", weights_only=False)["model"]
                for ck in (tmp_path / "ck-serial", tmp_path / "ck-ray")]
        assert best[0].keys() == best[1].keys() and all(torch.equal(best[0][k], best[1][k]) for k in best[0])
        assert len((folder / "history.csv").read_text().splitlines()) == 3  # the header and 2 epochs
    # two tasks at once on the two CPUs: each run's folder was made (config.json) before the other's ended
    # (metrics.csv, written last)
    (a, b) = ray_runs.values()
    span = {d: ((d / "config.json").stat().st_mtime_ns, (d / "metrics.csv").stat().st_mtime_ns) for d in (a, b)}
    assert span[a][0] < span[b][1] and span[b][0] < span[a][1], span
    # a second pass skips the finished runs: no task
    assert main(on_ray) == 0
    out = capsys.readouterr().out
    assert out.count("finished already") == 2 and "ray: 0 runs submitted" in out
    # --overwrite trains them again (the driver clears each run once; the tasks themselves never clear)
    assert main([*on_ray, "--overwrite"]) == 0
    assert "ray: 2 runs submitted" in capsys.readouterr().out
    for name, folder in serial.items():
        assert (folder / "metrics.csv").read_bytes() == (ray_runs[name] / "metrics.csv").read_bytes(), name


def _preempted_once(params, paper, key, measure_asm, threads, checkpoints, *after):
    """A task whose worker dies (a node lost) after the first epoch's checkpoint, on its first try only."""
    import skinseg.campaign as C
    import skinseg.experiment as E

    marker = Path(params["results_dir"]).parent / f"tried-{key[2]}"
    if not marker.exists():
        marker.write_text("1")
        real = E.fit

        def die(epoch, step):
            if epoch == 1:  # epoch 1's last.pt is written: the process ends with no clean-up at all
                os._exit(1)

        E.fit = lambda *a, **k: real(*a, **k, on_step=die)
    return C.ray_task(params, paper, key, measure_asm, threads, checkpoints, *after)


def _fails_for_seed_1(params, paper, key, measure_asm, threads, checkpoints, *after):
    import skinseg.campaign as C

    if key[2] == 1:
        tries = Path(params["results_dir"]).parent / "tries-seed1"
        tries.write_text(str(int(tries.read_text()) + 1 if tries.exists() else 1))
        raise RuntimeError("CUDA error: an illegal memory access was encountered (a test's failing run)\n"
                           "CUDA kernel errors might be asynchronously reported at some other API call\n"
                           "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.")
    return C.ray_task(params, paper, key, measure_asm, threads, checkpoints, *after)


def _fails_for_lesionseg(params, paper, key, measure_asm, threads, checkpoints, *after):
    import skinseg.campaign as C

    if key[0] == "LesionSeg":
        raise MemoryError("a test's failing run")
    return C.ray_task(params, paper, key, measure_asm, threads, checkpoints, *after)


def test_a_preempted_task_resumes_and_a_failing_one_is_named(tmp_path, local_cluster):
    from ray import cloudpickle  # Ray's own copy pickles the tasks

    from skinseg.campaign import run_on_ray
    from skinseg.experiment import Experiment
    from skinseg.papers import get_paper
    from skinseg.profiles import load_profile, parse_sets, resolve

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    sets = parse_sets([s for s in SMALL if "=" in s] + [f"results_dir={tmp_path / 'r'}",
                                                        f"checkpoint_dir={tmp_path / 'ck'}"])
    spec = get_paper("delatorre2018")
    exp = Experiment({**resolve(spec, load_profile("smoke"), None, False, sets), "variants": "LinkNet-64"}, spec)
    plan = exp.plan()
    landed = []
    lines = []
    lost = run_on_ray(exp, plan, landed.append, retries=1, log=lines.append, task=_preempted_once)
    assert lost == [] and len(landed) == 2
    for x in landed:  # each worker died after epoch 1; the retry resumed from that checkpoint
        assert x.outcome.status == "resume" and x.outcome.history.attrs["resumed_after_epochs"] == 1, x
        assert len(x.outcome.history) == 2
    # a run that fails every try: named with its error after 1 + retries tries; the other lands
    exp = Experiment({**exp.params, "run_set": "failing"}, spec)
    landed.clear()
    lost = run_on_ray(exp, exp.plan(), landed.append, retries=2, log=lines.append, task=_fails_for_seed_1)
    assert [x.name for x in lost] == ["LinkNet-64 [holdout, seed 1]"]
    assert lost[0].error == ("RuntimeError: CUDA error: an illegal memory access was encountered (a test's failing "
                             "run)") and lost[0].outcome is None  # the error, not the hints after it
    assert (tmp_path / "tries-seed1").read_text() == "3"
    assert [x.name for x in landed if x.outcome] == ["LinkNet-64 [holdout, seed 0]"]
    assert lines[-1] == "ray: 1 of 2 runs done, 1 failed; 0 running, 0 waiting"
    with pytest.raises(ValueError, match="the Ray cluster has 0 GPUs, and each run asks for 1"):  # never waits
        run_on_ray(exp, exp.plan(), landed.append, gpus=1, log=lines.append)


def test_an_evaluation_only_row_waits_for_its_trained_run(tmp_path, local_cluster, one_thread):
    """LesionSeg's "no post-processing" scores LesionSeg's weights: its task starts once that run has landed,
    and gives the serial path's numbers."""
    from skinseg.campaign import run_on_ray, run_serial
    from skinseg.experiment import Experiment
    from skinseg.papers import get_paper
    from skinseg.profiles import load_profile, parse_sets, resolve

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    spec = get_paper("lesionseg2017")

    def exp(name):
        sets = parse_sets([s for s in SMALL if "=" in s and "seeds" not in s] +
                          [f"results_dir={tmp_path / name}", f"checkpoint_dir={tmp_path / ('ck-' + name)}"])
        p = resolve(spec, load_profile("smoke"), None, False, sets)
        return Experiment({**p, "variants": "LesionSeg,no post-processing"}, spec)

    serial, on_ray = exp("serial"), exp("ray")
    ran, landed = [], []
    run_serial(serial, serial.plan(), ran.append)
    assert run_on_ray(on_ray, on_ray.plan(), landed.append, log=lambda line: None) == []
    assert [x.name for x in landed] == ["LesionSeg [holdout, seed 0]", "no post-processing [holdout, seed 0]"]
    assert [x.outcome.status for x in landed] == ["new", "new"]
    for a, b in zip(ran, landed):
        assert a.outcome.metrics.equals(b.outcome.metrics), a.name
    assert not landed[1].outcome.metrics.equals(landed[0].outcome.metrics)  # another scoring of the same weights
    # where the trained run fails every try, its evaluation-only row says so, by name
    again = exp("failing")
    lost = run_on_ray(again, again.plan(), landed.append, retries=0, log=lambda line: None, task=_fails_for_lesionseg)
    assert [(x.name, x.error) for x in lost] == [
        ("LesionSeg [holdout, seed 0]", "MemoryError: a test's failing run"),
        ("no post-processing [holdout, seed 0]",
         "its trained run LesionSeg [holdout, seed 0] failed (MemoryError: a test's failing run)")]


def test_the_time_left_counts_the_runs_that_run_at_once():
    from skinseg.campaign import eta_line

    # 8 runs on 4 slots, the first landed after 100 s: 7 left, 2 rounds of ~100 s, not 7 x 100 s
    assert eta_line(1, 0, 7, 4, 100.0, [100.0]) == ("ray: 1 of 8 runs done; 4 running, 3 waiting; about 0:03:20 "
                                                   "left (0:01:40 a run so far, 0:01:40 since the start)")
    assert eta_line(0, 1, 3, 4, 5.0, []) == "ray: 0 of 4 runs done, 1 failed; 3 running, 0 waiting"
