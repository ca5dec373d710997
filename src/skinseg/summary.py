"""What the summary notebook (06) computes: the five papers read under one profile, the setup and
cost tables, the hardest images, and ``summary.md`` (the one-protocol tables: :mod:`skinseg.comparison`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skinseg import notebook, tables
from skinseg.convergence import BAND, WINDOW
from skinseg.report import findings
from skinseg.results import write_csv, write_text
from skinseg.training_time import NOT_RECORDED, processor_of
from skinseg.verdict_tables import paper_markdown
from skinseg.verdicts import CONTEXT, UNCONVERGED, UNCONVERGED_ABOVE, is_claim_line

def load_papers(profile: str, keys=None, **overrides) -> dict:
    """{paper key: (Experiment, outcomes of its finished runs)} under ``profile`` (nothing trained). The
    runs' "reusing" lines (one per run, over a hundred) are not printed: the notebook prints the counts."""
    import contextlib
    import io

    from skinseg.papers import PAPERS
    from skinseg.verdicts import load

    with contextlib.redirect_stdout(io.StringIO()):
        return {k: load(k, profile, **overrides) for k in (keys or PAPERS)}


# where the data lies and what runs it: not a setting of the recipe (the data used is its own column)
_NOT_RECIPE = frozenset({"profile", "data_root", "dataset", "original_masks_root", "device", "synthetic_n",
                         "synthetic_size", "channels_last", "optimizer_impl"})


def setup_row(key: str, exp) -> dict:
    """One line of ``summary.md``'s setup table for paper ``key``: finished and planned runs (and how
    many of those are evaluation-only rows, which re-score a trained row's weights), epochs, input
    size and every run setting that differs from the recipe (a paper's: its spec's ``recipe`` over the
    parameter defaults; the one protocol's: its own full budget), as ``name ours (recipe: theirs)``,
    marked where the paper does not state the value (a recipe whose sources are all ours, the one
    protocol's, marks nothing), plus an encoder the paper pre-trains and ours trains from scratch:
    the deviations each verdict stands on. A row's own overrides (a dataset
    block, an ablation's loss) are the paper's design, not deviations, and are left out."""
    from skinseg import params as P

    spec, p = exp.spec, exp.params
    recipe = {**P.defaults(), **spec.recipe}
    if p["precision"] == "auto":  # what the runs fixed when they started (a planned run: what auto means here)
        used = "/".join(sorted({exp.run_params(v, part, s)["precision"] for v, part, s in exp.plan()}))
        p = {**p, "precision": used if used == recipe["precision"] else f"{used} (auto)"}
    ours_throughout = bool(spec.recipe_sources) and all(v.startswith("ours") for v in spec.recipe_sources.values())
    changed = []
    for k, theirs in recipe.items():
        if k in P.NON_RUN or k in _NOT_RECIPE or p[k] == theirs:
            continue
        unstated = not ours_throughout and spec.recipe_sources.get(k, "not stated").startswith("not stated")
        changed.append(f"{k} {_setting(k, p[k])} (recipe: {_setting(k, theirs)}"
                       f"{', not stated in the paper' if unstated else ''})")
    if "encoder_weights" in spec.recipe_sources and "encoder_weights" not in spec.recipe and not p["encoder_weights"]:
        changed.append(f"encoder from scratch (recipe: {spec.recipe_sources['encoder_weights']})")
    status = exp.completeness()
    evaluation_only = status.row.map(lambda r: spec.variant(r).eval_of is not None)
    return {"paper": key, "finished": int((status.status == "finished").sum()), "planned": len(status),
            "evaluation-only": int(evaluation_only.sum()), "epochs": p["epochs"],
            "input": f"{p['image_height']}×{p['image_width']}", "ran on": ran_on(exp, status),
            "differs from the recipe": "; ".join(changed) or "nothing"}


def ran_on(exp, status: pd.DataFrame | None = None) -> str:
    """Where the finished trained runs of ``exp`` ran, from their provenance: ``"AMD EPYC (AVX512-BF16) 8,
    NVIDIA H100 80GB HBM3 3"`` (a run's GPU where it had one, else its CPU; evaluation-only rows train
    nothing and are left out). A run on a GPU counts like one on a CPU where its config is the same:
    ``device`` is not part of a run's identity."""
    from collections import Counter

    from skinseg.results import read_provenance

    status = exp.completeness() if status is None else status
    where = Counter()
    for r in status[status.status == "finished"].itertuples():
        v = exp.spec.variant(r.row)
        if v.eval_of:
            continue
        where[processor_of(read_provenance(exp.run_dir(v, r.partition, r.seed).path))] += 1
    return ", ".join(f"{name} {n}" for name, n in where.most_common()) or "–"


def setup_table(loaded: dict) -> pd.DataFrame:
    """:func:`setup_row` for every paper of ``loaded`` ({key: (Experiment, outcomes)})."""
    return pd.DataFrame([setup_row(k, exp) for k, (exp, _) in loaded.items()])


def _setting(name: str, v) -> str:
    if name == "early_stopping_patience" and v == 0:
        return "0 (off)"
    if name == "early_stopping_min_delta" and v == 0:
        return "0 (any gain)"
    return f"{v:g}" if isinstance(v, float) else str(v) if v != "" else "none"


def separation_notes(verdicts: pd.DataFrame, min_rows: int = 3) -> list[str]:
    """For each table whose judged rows report one metric on ``min_rows`` or more rows: the span of
    the reported values against the median width of our intervals. Where our intervals are as wide
    as the whole span, a *reproduced* on each cell cannot tell the table's rows apart; only a claim
    comparing rows run by run can (named where the paper has one on that metric)."""
    if not {"interval low", "interval high", "row", "where", "block", "metric"} <= set(verdicts):
        return []
    verdicts = verdicts.assign(block=verdicts.block.fillna(""))
    is_claim = is_claim_line(verdicts)
    claimed = set(zip(verdicts.paper[is_claim], verdicts.metric[is_claim]))
    judged = verdicts[verdicts["interval low"].notna() & ~is_claim]
    notes = []
    for (paper, where, block, metric), g in judged.groupby(["paper", "where", "block", "metric"], sort=False):
        values = pd.to_numeric(g.reported, errors="coerce").dropna()
        if g.row.nunique() < min_rows or not len(values):
            continue
        span, width = values.max() - values.min(), float((g["interval high"] - g["interval low"]).median())
        if width >= span:
            notes.append(f"{paper}, {where}{f' ({block})' if block else ''}, {metric}: the reported rows span "
                         f"{values.min():.4f}–{values.max():.4f} ({span:.4f}); our intervals are {width:.4f} wide "
                         f"(median of {g.row.nunique()} rows): a verdict on each cell cannot tell these rows apart; "
                         + ("the claims below compare them run by run." if (paper, metric) in claimed else
                            "no claim of the paper on this metric is judged run by run here."))
    return notes


def cost_spread_note(costs: pd.DataFrame) -> str:
    """One sentence on settings benchmarked in more than one file (session): how far their inference
    figures lie apart ("" when no setting repeats). Sessions differ in the machine's load and in the
    benchmark's own settings (rounds, allocator: docs/reference.md, "Models"), so ratios hold
    within a file, not across files. A figure from a CPU that emulates bf16 (``machine`` names a CPU
    without a bf16 tag: :func:`skinseg.cpuinfo.bf16_in_hardware`) is another setting, not a repeat
    of one from a CPU with AMX (bf16 inference 11.6x apart there, training 8.2x)."""
    from skinseg.cpuinfo import bf16_in_hardware

    if "machine" in costs:
        costs = costs.assign(**{"bf16 in hardware": costs["machine"].map(bf16_in_hardware)})
    key = [c for c in ("model", "size", "batch", "device", "precision", "channels_last", "bf16 in hardware")
           if c in costs]
    col = COST_UNITS["inference_img_s"]
    if not key or col not in costs or "file" not in costs:
        return ""
    by_setting = costs.groupby(key)
    g = by_setting[col].agg(["min", "max"]).assign(files=by_setting["file"].nunique())
    g = g[g["files"] > 1]
    if not len(g):
        return ""
    ratio = g["max"] / g["min"]
    worst = ratio.idxmax()
    named = dict(zip(key, worst if isinstance(worst, tuple) else (worst,)))
    hardware = {None: "", True: ", bf16 in hardware", False: ", bf16 emulated"}[named.pop("bf16 in hardware", None)]
    return (f"{tables.counted(len(g), 'setting')} {'was' if len(g) == 1 else 'were'} benchmarked in more than one session "
            f"(file); their inference figures differ by up to {ratio.max():.1f}× "
            f"({', '.join(map(str, named.values()))}{hardware}: {g.loc[worst, 'min']:.2f}–"
            f"{g.loc[worst, 'max']:.2f} images/s): sessions differ in the machine's load and in the benchmark's own "
            "settings (rounds, allocator: docs/reference.md, section \"Models\"). Compare figures within one file"
            + ("; a figure from a CPU without bf16 instructions (*machine* names it without \"(AMX)\") is not "
               "counted as a repeat of one from a CPU with them." if "machine" in costs and
               costs["bf16 in hardware"].nunique() > 1 else "."))


COST_UNITS = {"inference_img_s": "inference images/s", "train_img_s": "training images/s"}


def cost_table(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """The benchmark figures (:func:`skinseg.notebook.benchmarks`) with their units in the column names."""
    return benchmarks.rename(columns=COST_UNITS)


def hardest_images(outcomes, n: int = 6, fail_below: float = 0.65) -> pd.DataFrame:
    """The ``n`` test images most models get wrong: per image and model, the mean Jaccard over its
    runs (original resolution); an image counts as failed by a model below ``fail_below`` (the
    ISIC 2018 thresholded Jaccard's cut-off). Sorted by the number of models that fail it (most
    first), then by the mean over models; columns: each model, ``all models`` (the mean) and
    ``models failing`` ("k of m")."""
    per = per_image_original(outcomes)
    wide = per.pivot_table(index="image_id", columns="variant", values="jaccard", aggfunc="mean")
    models = list(wide.columns)
    failing, scored = (wide[models] < fail_below).sum(axis=1), wide[models].notna().sum(axis=1)
    wide["all models"] = wide[models].mean(axis=1)
    wide = wide.assign(_failing=failing, _scored=scored).sort_values(["_failing", "all models"],
                                                                     ascending=[False, True]).head(n)
    # "k of m": m counts the models that scored this image (a model may not have run on it)
    wide["models failing"] = [f"{k} of {m}" for k, m in zip(wide.pop("_failing"), wide.pop("_scored"))]
    return wide


def per_image_original(outcomes) -> pd.DataFrame:
    """Every run's per-image table at original resolution (:func:`skinseg.notebook.per_image`)."""
    if not outcomes:
        return pd.DataFrame(columns=["image_id", "variant", "jaccard"])
    per = notebook.per_image(outcomes)
    return per[per.resolution == "original"]


def markdown_table(df: pd.DataFrame, floats: str = "{:.4f}") -> str:
    """A DataFrame as a GitHub markdown table (floats formatted, whole numbers of 1,000 and more as
    counts, NaN empty, pipes escaped)."""
    def cell(x):
        if isinstance(x, float):
            if np.isnan(x):
                return ""
            return f"{x:,.0f}" if abs(x) >= 1000 and x == int(x) else floats.format(x)
        return str(x).replace("|", "\\|").replace("\n", " ")
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def context_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The reported-only numbers (competitors the papers quote) of a verdict table, one line per paper,
    table, dataset block and row, one column per metric: context for the judged rows, not judged."""
    ctx = verdicts[verdicts.verdict == CONTEXT]
    if not len(ctx):
        return pd.DataFrame(columns=["paper", "where", "block", "row"])
    ctx = ctx.assign(block=ctx["block"].fillna("") if "block" in ctx else "")
    wide = ctx.pivot_table(index=["paper", "where", "block", "row"], columns="metric", values="reported",
                           aggfunc="first", sort=False)
    return wide.reset_index().rename_axis(columns=None)


def verdict_counts(verdicts: pd.DataFrame) -> str:
    """The headline tally, with the verdicts on runs still improving apart from the others: those judge
    our budget, not the paper (``converged`` cell "no (...)")."""
    unconverged = verdicts.get("converged", pd.Series("", index=verdicts.index)).astype(str).str.startswith("no")
    parts = []
    for label, lines in (("Verdicts", verdicts[~unconverged]),
                         ("on runs still improving (our budget, not the paper)", verdicts[unconverged])):
        if len(lines) or label == "Verdicts":
            counts = lines.verdict.str.replace(UNCONVERGED_ABOVE, "not reproduced (ours already above)", regex=False) \
                .str.replace(UNCONVERGED, "", regex=False).value_counts()
            parts.append(f"{label}: " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "none"))
    return "; ".join(parts) + "."


def write_summary(path, profile: str, verdicts: pd.DataFrame, one_protocol: pd.DataFrame, costs: pd.DataFrame,
                  tolerance: dict, cross_dataset: pd.DataFrame | str | None = None, runs: pd.DataFrame | None = None,
                  one_protocol_note: str = "", budgets: pd.DataFrame | None = None,
                  spent: pd.DataFrame | None = None) -> None:
    """``summary.md``: the findings, each paper's numbers in its own tables (:mod:`skinseg.verdict_tables`),
    the verdict table, then the one-protocol table (after
    ``one_protocol_note``, see :func:`skinseg.comparison.protocol_note`) and, where its models ran at
    more than one epoch budget, ``budgets`` (:func:`skinseg.comparison.budget_table`), the
    cross-dataset table (a string: why there is none), the cost table and ``spent``
    (:func:`skinseg.training_time.by_processor`: the runs' training time by processor). ``runs``:
    :func:`setup_table` (and the one-protocol line)."""
    context, shaped = context_table(verdicts), verdicts
    verdicts = verdicts[verdicts.verdict != CONTEXT]
    synthetic = verdicts["data used"].astype(str).str.contains("synthetic").any()
    separation, spread = separation_notes(verdicts), cost_spread_note(costs)
    write_csv(Path(path).with_name("verdicts.csv"), verdicts)  # every line, untruncated, written atomically
    parts = [f"# Summary of the reproductions (profile `{profile}`)", "",
             *(["**Synthetic data: these verdicts only show that every step runs; they say nothing about the "
                "papers.**", ""] if synthetic else []),
             findings(verdicts), "",
             "## Each paper's numbers, in the paper's own tables", "", paper_markdown(shaped), "",
             "Every verdict line, untruncated: [`verdicts.csv`](verdicts.csv) (and the table below).", "",
             "## How to read the verdicts", "",
             verdict_counts(verdicts) + " Tolerance: "
             f"±{tolerance['fraction']} absolute for fractions (Jaccard, Dice, accuracy, losses), "
             f"±{tolerance['count (relative)']:.0%} of the reported value for counts (parameters). "
             "*reproduced*: the reported value inside our 95 % prediction interval (where the paper's number, one "
             "run or the mean of its k runs, would fall if its setup were ours: consistent with our runs' spread, "
             "which can be wider than the tolerance) and our mean's own 95 % interval no wider than ± the tolerance; "
             "*inconclusive*: inside, but our mean is less precise; *within tolerance*: outside the prediction "
             "interval, within the tolerance of our mean; "
             "*not reproduced*: outside both. For a claim that one row beats another, *not shown*: the interval of "
             "the paired difference covers 0; for a claim that two rows are close, *reproduced* needs that whole "
             "interval within ± the tolerance, *not reproduced* lies wholly beyond it, *not shown* is neither. "
             "*not testable here*: the cause is given. The cause column otherwise "
             "carries the paper's audit note. *converged*: how many of the runs behind a line converged (validation "
             f"Jaccard flat over the last {WINDOW:.0%} of its epochs: the best value there beats the best before by "
             f"at most {BAND}); where any did not, the verdict carries \"(unconverged)\": it judges a model that "
             "was still improving, so it speaks about the budget, not the paper: a value of ours below the paper's "
             "then reads *inconclusive (unconverged)*, and only one already above it may read *not reproduced "
             "(unconverged: ours already above)*; the headline counts these apart; *n/a*: a parameter count or a "
             "per-epoch number, which does not wait for convergence.", "",
             *(["## Setup behind the verdicts", "",
                "Runs finished and planned under this profile (*evaluation-only*: of those, the rows that re-score "
                "a trained row's weights, e.g. with post-processing), the epochs and input size they trained at, and "
                "every run setting that differs from the recipe: a paper's recipe is the settings the paper states, "
                "completed where it is silent by ours (marked \"not stated in the paper\"; its notebook cites each "
                "and says why this profile changes it); the one protocol's is its own full budget (the `paper` "
                "profile).", "",
                markdown_table(runs), ""] if runs is not None else []),
             "## Verdicts (every reported number entered in the papers' specs, and every claim)", "",
             "*where*: the paper's table or section; *block*: the dataset block of a table reporting several; "
             "*epoch*: the epoch row of a per-epoch table; *reported* and *reported sd*: the paper's number (and its "
             "± where it prints one); *ours*: the mean over our runs, at the data's original resolution, of the "
             "reduction the *reduction* column names: like with like, the one the paper's own Jaccard/Dice pair of "
             "that row shows (*pooled*: DIC = 2·JAC/(1+JAC), as pooled pixels give; *per-image*: DIC below that, as "
             "per-image means give; *both*, each shown, where the pair fits neither or the row prints none: the "
             "verdict is theirs where they agree, else *inconclusive*), [its 95 % prediction interval: where the paper's number, one run or the mean of "
             "its k runs, would fall if its setup were ours; t over seeds, the corrected resampled t over folds; for "
             "one run of ours, a bootstrap over its test images, which covers test-set sampling only] (runs); for a "
             "per-epoch row, our runs' logged value at that epoch on the split and target the paper's log is on; for "
             "a parameter count, the count; for a difference row, the mean paired difference; for a "
             "claim, the mean paired difference [the 95 % confidence interval of that mean], narrower than the "
             "prediction interval a *difference* row prints for the same pair; *difference*: ours − reported (for a "
             "claim: first row − second row, paired run by run); *data used*: the data (named by the source splits "
             "it came from), the images each split used, source and input size; *cause*: the audit's one-line "
             "finding and the number's own note (for a Jaccard or Dice of a table printing both, the reduction its "
             "pair is consistent with: pooled pixels (micro) or per-image mean (macro)). Columns as the papers "
             "abbreviate them: ACC accuracy, DIC Dice, JAC Jaccard, SEN sensitivity, SPE specificity. Rows: "
             "SLSDeep-EPE is SLSDeep without its end-point-error (EPE) loss term, SLSDeep+ASC with skip connections "
             "between all encoder and decoder layers; ASNet's ASM_w/o_DI and ASM_w/o_SA: its adaptive scale module "
             "without dilated convolution, and without the scale-aware (attention) part.", "",
             # the interval is in the "ours" column; its numeric ends are for figures
             markdown_table(verdicts.drop(columns=["interval low", "interval high"], errors="ignore")), "",
             *[f"- {n}" for n in separation], *([""] if separation else []),
             *(["### Reported-only context (other methods the papers quote; never run, not judged)", "",
                markdown_table(context, "{:g}"), ""] if len(context) else []),
             "## One protocol for all models", "",
             *([one_protocol_note, ""] if one_protocol_note else []),
             "*jaccard* and *threshold_jaccard*: per-image means over the test images at original resolution "
             "(thresholded: an image below 0.65 counts 0), mean ± sd over seeds; *GFLOPs*: one forward pass of one "
             "image at the protocol's input size; *training minutes per run*: wall time of the training and "
             "validation epochs, median over the model's runs (a run paused or sharing the cores took longer); "
             "*training CPU-minutes per run*: the CPU time used over those epochs where the run recorded it "
             "(`train_cpu_seconds` in its provenance), else the wall minutes × the threads the run trained with; "
             "median likewise.",
             "",
             *([markdown_table(one_protocol)] if len(one_protocol) and (one_protocol["runs"] > 0).any() else
               ["No finished run under this profile."]), "",
             *(["### The one protocol at each epoch budget", "",
                "Every budget at which a model has finished runs under this profile, each otherwise on the settings "
                "above (a run of other settings is not counted), so the lines of one model differ in the epoch budget "
                "alone (the poly schedule stretches with it): what longer training changes, and whether the table "
                "above compares converged models. *run_set*: the runs' folder under the protocol's results (empty: "
                "its own); a budget other than the one above may hold fewer seeds (a probe); columns as above (the "
                "minutes come from runs on different days, so compare them within one budget).", "",
                markdown_table(budgets), ""] if budgets is not None and budgets["epochs"].nunique() > 1 else []),
             "## Cross-dataset test (trained on ISIC, scored on PH2 at original resolution)", "",
             (cross_dataset if isinstance(cross_dataset, str) else
              markdown_table(cross_dataset) if cross_dataset is not None else "Not run."), "",
             "## Costs (committed benchmarks; every figure with its device)", "",
             *([] if costs.get("device", pd.Series(dtype=str)).astype(str).str.startswith("cuda").any() else
               ["No GPU benchmark is committed: every figure below is from a CPU.", ""]),
             *([spread, ""] if spread else []),
             markdown_table(costs, "{:.2f}"), "",
             *(["### Training time the finished runs spent, by processor", "",
                "From each run's `provenance.json`: *training hours* the wall time of its epochs, *CPU-hours* their "
                "CPU time (runs from before that record: wall time × threads), both summed over resumes; a run "
                "resumed on another processor is split between them by its epochs there (*split by epochs*); "
                "*untimed runs* recorded no training time and count in *runs* and *epochs* only. Runs made before "
                "provenance named the CPU model count as \"" + NOT_RECORDED + "\".", "",
                markdown_table(spent, "{:.2f}"), ""] if spent is not None and len(spent) else [])]
    write_text(path, "\n".join(parts))
