"""reproduce/benchmarks/gpu_proof_table.py: the table of a gpu-proof run (step 6c) reads the runner's markers
and the timed ASNet fold, names the device, and says which notebooks did not finish."""
import importlib.util
import json

import pandas as pd

from conftest import ROOT


def _module():
    spec = importlib.util.spec_from_file_location("gpu_proof_table", ROOT / "reproduce" / "benchmarks" /
                                                  "gpu_proof_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_proof_table_reads_markers_and_the_timed_fold(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "03_slsdeep_isbi.run.json").write_text(json.dumps(
        {"seconds": 41.5, "params": {"image_height": 384, "image_width": 384, "epochs": 1, "max_images": 64,
                                     "precision": "auto"}}))
    run = tmp_path / "asnet2020" / "timing" / "asnet" / "fold0" / "seed0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"variant": "ASNet", "partition": "fold0", "image_height": 192,
                                                 "image_width": 256, "batch_size": 12, "precision": "bf16",
                                                 "max_images": 0}))
    (run / "provenance.json").write_text(json.dumps({"train_seconds": 90.0}))
    pd.DataFrame({"epoch": [1, 2, 3], "val_jaccard": [0.5, 0.6, 0.65]}).to_csv(run / "history.csv", index=False)
    t = _module().proof_table(tmp_path, "NVIDIA H100 80GB HBM3").set_index("what")
    assert len(t) == 6 and (t.device == "NVIDIA H100 80GB HBM3").all()
    assert t.loc["notebook 03_slsdeep_isbi", "status"] == "done" and t.loc["notebook 03_slsdeep_isbi", "input"] == "384x384"
    assert t.loc["notebook 01_linknet64_isic2018", "status"] == "not done"  # no marker: it failed or never ran
    assert _module().proof_table(tmp_path / "nothing", "x").set_index("what").loc["ASNet fold0, every image",
                                                                                  "status"] == "not done"
    fold = t.loc["ASNet fold0, every image"]
    assert (fold["seconds per epoch"], fold["input"], fold["val jaccard, last epoch"]) == (30.0, "192x256", 0.65)
