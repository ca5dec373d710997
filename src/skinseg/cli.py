"""Command line: ``python -m skinseg {check,synth,score,models,bench,download,params-cell} ...``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        return h, w
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 128x128, got {text!r}") from None


def cmd_check(a) -> int:
    from skinseg.data import DataError, check_dataset

    try:
        idx = check_dataset(a.root, a.dataset, deep=not a.quick)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"layout: {idx.dataset}{' (masks only)' if idx.masks_only else ''}  ({a.root})")
    for split, samples in idx.splits.items():
        n_img = sum(s.image is not None for s in samples)
        n_mask = sum(s.mask is not None for s in samples)
        print(f"  {split:<6} {n_img:>6} images  {n_mask:>6} masks")
    if idx.problems:
        print(f"{len(idx.problems)} problem(s):")
        for p in idx.problems:
            print(f"  - {p}")
        return 1
    print("no problems found")
    return 0


def cmd_synth(a) -> int:
    from skinseg.synth import write_dataset

    try:
        dest = write_dataset(a.dest, a.n, a.seed, a.size, a.n_val, overwrite=a.overwrite)
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.n} training + {a.n_val if a.n_val is not None else max(1, a.n // 5)} validation pairs "
          f"({a.size[0]}x{a.size[1]}, seed {a.seed}) to {dest} in the ISIC 2018 layout")
    return 0


def cmd_score(a) -> int:
    from skinseg.scoring import ScoreInputError, score_folders

    try:
        per_image, macro = score_folders(a.truth, a.pred)
    except ScoreInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps({"n_images": len(per_image), "macro_average": macro}))
    else:
        print(f"{len(per_image)} images; macro average (mean over images):")
        for k, v in macro.items():
            print(f"  {k:<18} {v:.6f}")
    return 0


def cmd_models(a) -> int:
    from skinseg.models import model_table

    t = model_table()
    w = t.model.str.len().max()
    print(f"{'name':<{w}}  {'parameters':>12}  out  paper")
    for r in t.itertuples(index=False):
        print(f"{r.model:<{w}}  {r.parameters:>12,}  {r[2]:>3}  {r.paper}")
    return 0


def cmd_bench(a) -> int:
    from skinseg.bench import run, speedups
    from skinseg.models import list_models
    from skinseg.paths import display, resolve
    from skinseg.results import write_csv

    precisions = [p.strip() for p in a.precision.split(",") if p.strip()]
    kind = a.device.split(":")[0]
    stem = kind if precisions == ["fp32"] and not a.channels_last else f"{kind}-{'-'.join(precisions)}"
    stem += f"-rounds{a.rounds}" if a.rounds > 1 else ""
    if a.out is None:  # a new file: a default never names a committed result (nor the last run's)
        from skinseg.cpuinfo import cpu_name

        tag = "".join(ch if ch.isalnum() else "-" for ch in cpu_name().lower()).strip("-")
        tag = "-".join(part for part in tag.split("-") if part)[:40]
        stem += f"-{tag}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = resolve(a.out) if a.out else resolve("results/benchmarks") / f"{stem}.csv"
    taken = [f for f in (out, out.with_name(out.stem + "-speedup.csv")) if f.exists()]
    if taken and not a.overwrite:
        print(f"error: {display(taken[0])} exists (a benchmark result is never overwritten); choose another --out, "
              "or pass --overwrite to replace it", file=sys.stderr)
        return 2
    try:
        sizes = {}
        for item in a.sizes or []:
            name, _, hw = item.partition("=")
            sizes[name] = _size(hw)
        df = run(a.models or list_models(), a.size, a.batch, a.device, a.repeats, out, precisions=precisions,
                 channels_last=a.channels_last, sizes=sizes, rounds=a.rounds)
    except (KeyError, ValueError, RuntimeError, argparse.ArgumentTypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {display(out)}")
    if len(precisions) > 1:
        sp = speedups(df)
        print(sp[["model", "size", "reference", "compared", "train_img_s_reference", "train_img_s", "train_speedup",
                  "train_speedup_min", "train_speedup_max", "inference_speedup", "rounds"]].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        sp_out = out.with_name(out.stem + "-speedup.csv")
        write_csv(sp_out, sp)
        print(f"wrote {display(sp_out)}")
    return 0


def cmd_params_cell(a) -> int:
    from skinseg.papers import paper_for_notebook
    from skinseg.params import parameters_cell
    from skinseg.profiles import load_profile, resolve

    stem = Path(a.notebook).stem
    try:
        values = resolve(paper_for_notebook(stem), load_profile("smoke"))
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    print(parameters_cell(values))
    return 0


def cmd_download(a) -> int:
    from skinseg.data import DataError
    from skinseg.data.download import PH2_HELP, DownloadError, download

    if a.dataset == "ph2":
        print(PH2_HELP.format(dest=a.dest / "PH2Dataset"))
        return 0
    try:
        placed, kept = download(a.dataset, a.dest, a.base_url, progress=True)
    except (DownloadError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"unzipped into {a.dest}: {', '.join(p.name for p in placed) or 'nothing new'}")
    if kept:
        print(f"kept as they were (already there; delete one to unzip it again): {', '.join(p.name for p in kept)}")
    a.root, a.quick = a.dest, False
    return cmd_check(a)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m skinseg", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="detect a dataset's layout, count it, list every problem")
    c.add_argument("root", type=Path)
    c.add_argument("--dataset", default=None, help="force a layout: isic2016|isic2017|isic2018|ph2")
    c.add_argument("--quick", action="store_true", help="headers only: skip full decoding and mask values")
    c.set_defaults(fn=cmd_check)
    s = sub.add_parser("synth", help="write a synthetic dermoscopy dataset (ISIC 2018 layout)")
    s.add_argument("dest", type=Path)
    s.add_argument("--n", type=int, default=200, help="training images")
    s.add_argument("--n-val", type=int, default=None, help="validation images (default n/5)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--size", type=_size, default=(128, 128), help="HxW")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(fn=cmd_synth)
    sc = sub.add_parser("score", help="score predicted masks like the official ISIC scorer")
    sc.add_argument("truth", type=Path)
    sc.add_argument("pred", type=Path)
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(fn=cmd_score)
    m = sub.add_parser("models", help="list registered models")
    m.set_defaults(fn=cmd_models)
    b = sub.add_parser("bench", help="parameters, FLOPs, images/s and peak memory per model")
    b.add_argument("--models", nargs="*", help="default: every registered model")
    b.add_argument("--size", type=_size, default=None, help="HxW (default: each paper's input size)")
    b.add_argument("--sizes", nargs="*", metavar="MODEL=HxW", help="per-model sizes, e.g. asnet=96x128")
    b.add_argument("--batch", type=int, default=2)
    b.add_argument("--device", default="cpu", help="cpu | cuda")
    b.add_argument("--repeats", type=int, default=3,
                   help="timed iterations after two untimed warm-up ones, within one process")
    b.add_argument("--rounds", type=int, default=1,
                   help="measure the whole set of precisions N times, each in a fresh process (models x "
                        "precisions x N processes); a speed-up is the median of the per-round ratios, with "
                        "their min and max")
    b.add_argument("--precision", default="fp32",
                   help="comma-separated fp32 | bf16 | fp16 (CUDA); the first is the reference of the ratios")
    b.add_argument("--channels-last", action="store_true",
                   help="channels_last memory format for every precision after the reference")
    b.add_argument("--out", type=Path, default=None,
                   help="default: a new file, results/benchmarks/<device>[-<precisions>][-rounds<N>]-<cpu>-<date-time>.csv "
                        "(+ -speedup.csv); an existing file is refused unless --overwrite")
    b.add_argument("--overwrite", action="store_true", help="replace --out (and its -speedup.csv) if it exists")
    b.set_defaults(fn=cmd_bench)
    d = sub.add_parser("download", help="fetch the official ISIC archives (resumable), unzip, then check")
    d.add_argument("dataset", choices=["isic2016", "isic2017", "isic2018", "ph2"])
    d.add_argument("--dest", type=Path, required=True, help="folder to unzip into (archives go to DEST/downloads)")
    d.add_argument("--base-url", default="https://isic-challenge-data.s3.amazonaws.com",
                   help="where the archives are served (a mirror)")
    d.set_defaults(fn=cmd_download)
    pc = sub.add_parser("params-cell", help="print a paper notebook's parameters cell (the smoke profile's values)")
    pc.add_argument("notebook", help="notebook path or stem, e.g. notebooks/01_linknet64_isic2018.ipynb")
    pc.set_defaults(fn=cmd_params_cell)
    a = ap.parse_args(argv)
    return a.fn(a)
