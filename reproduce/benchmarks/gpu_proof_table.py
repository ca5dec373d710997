"""The table of a `gpu-proof` run (reproduce/gpu_proof.sh): one line per paper notebook the batch runner
executed (its marker: seconds, input size, epochs, images per split, precision) and one per timed ASNet
fold (run_set ``timing``: training seconds, per epoch, batch, last validation Jaccard), the device named.

    python reproduce/benchmarks/gpu_proof_table.py RESULTS_DIR OUT.csv
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from skinseg.papers import get_paper, list_papers
from skinseg.results import write_csv


def device_name() -> str:
    """The GPU this machine trains on, else its CPU (:func:`skinseg.train.processor_name`)."""
    import torch

    from skinseg.train import processor_name

    return processor_name("cuda" if torch.cuda.is_available() else "cpu")


def proof_table(root: Path, device: str) -> pd.DataFrame:
    """``root``: the profile's results folder (``<results_dir>/gpu-proof``)."""
    rows = []
    for key in list_papers():
        nb = get_paper(key).notebook
        if nb[:2] not in ("01", "02", "03", "04", "05"):
            continue
        marker = root / "notebooks" / f"{nb}.run.json"
        m = json.loads(marker.read_text()) if marker.is_file() else {}
        p = m.get("params", {})
        rows.append({"what": f"notebook {nb}", "status": "done" if m else "not done", "seconds": m.get("seconds"),
                     "input": f"{p['image_height']}x{p['image_width']}" if p else "", "epochs": p.get("epochs"),
                     "images per split": p.get("max_images"), "precision": p.get("precision"), "device": device})
    timed = sorted((root / "asnet2020" / "timing").glob("*/*/seed*/provenance.json"))  # run_set/row/fold/seed
    if not timed:  # provenance.json is written as a run ends: a fold that crashed or ran out of time has none
        rows.append({"what": "ASNet fold0, every image", "status": "not done", "device": device})
    for prov in timed:
        run = prov.parent
        cfg, pv = json.loads((run / "config.json").read_text()), json.loads(prov.read_text())
        hist = pd.read_csv(run / "history.csv")
        n = cfg.get("max_images") or 0
        images = f"first {n} images per split" if n else "every image"
        rows.append({"what": f"{cfg['variant']} {cfg['partition']}, {images}", "status": "done",
                     "seconds": pv["train_seconds"], "seconds per epoch": round(pv["train_seconds"] / len(hist), 1),
                     "input": f"{cfg['image_height']}x{cfg['image_width']}", "epochs": len(hist),
                     "batch": cfg["batch_size"], "precision": cfg["precision"],
                     "val jaccard, last epoch": round(float(hist.val_jaccard.iloc[-1]), 4), "device": device})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    root, out = (Path(a) for a in (argv or sys.argv[1:]))
    table = proof_table(root, device_name())
    print(table.to_string(index=False))
    write_csv(out, table)
    return 0 if (table.status == "done").all() else 1


if __name__ == "__main__":
    sys.exit(main())
