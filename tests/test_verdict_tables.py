"""Each paper's verdicts in the shape of its own tables: "paper / ours" and a mark per cell, notes under
the table, claims after it (skinseg.verdict_tables), on small hand-made verdict tables."""
import html

import pandas as pd
import pytest

from conftest import ROOT
from skinseg import verdict_tables as V

COLUMNS = list(V.COLUMNS)
AUDIT = "the table compares two reductions (pooled; per-image)"


def _table(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def _two_blocks():
    one = "0.7116 [0.6643, 0.7565] (1 run; bootstrap over its test images)"
    return _table([
        ["p", "Table 1", "isic2016", "A", "jaccard", "", 0.913, float("nan"), one, "inconclusive (unconverged)",
         "no (0/1 runs)", f"{AUDIT}; compared: pooled; gap +0.0194", "stand-in 2016"],
        ["p", "Table 1", "isic2016", "A", "dice", "", 0.955, float("nan"), "0.8315 [0.7983, 0.8614] (1 run; bootstrap "
         "over its test images)", "not reproduced", "yes (1/1 runs)", f"{AUDIT}; compared: pooled", "stand-in 2016"],
        ["p", "Table 1", "isic2016", "Q", "jaccard", "", 0.84, float("nan"), "", V.CONTEXT, "",
         "a competitor's number", ""],
        ["p", "Table 1", "isic2017", "A", "jaccard", "", 0.782, 0.01, "0.7800 [0.7700, 0.7900] (3 runs; where one run "
         "would fall)", "reproduced", "yes (3/3 runs)", f"{AUDIT}; compared: pooled", "ISIC 2017"],
        ["p", "Abstract", "", "A", "images_per_second", "", 100, float("nan"), "", "not testable here", "",
         "a GPU timing", ""],
        ["p", "§3", "", "A vs B", "jaccard", "", "A is above B", float("nan"), "+0.0100 [-0.0100, +0.0300] (3 pairs)",
         "not shown (interval covers 0)", "yes (6/6 runs)", AUDIT, "ISIC 2017"],
    ])


def test_marks_are_a_symbol_and_a_colour_and_unconverged_adds_a_dagger():
    assert V.mark("reproduced")[:2] == ("✓", "#1a7f37")
    assert V.mark("not reproduced")[0] == "✗" and V.mark("not reproduced (unconverged: ours already above)")[0] == "✗†"
    assert V.mark("inconclusive (unconverged)")[0] == "?†"
    assert V.mark("not shown (interval not within ±tolerance)")[0] == "○"
    assert V.mark("within tolerance")[0] == "≈" and V.mark("not testable here")[0] == "–"
    assert V.mark(V.CONTEXT)[0] == "·"
    with pytest.raises(ValueError, match="no mark; the known ones: reproduced"):
        V.mark("maybe")


def test_a_table_in_the_papers_shape_with_notes_under_it():
    shaped = V.paper_tables(_two_blocks(), audits={"p": AUDIT})
    assert [t.where for t in shaped] == ["Table 1", "Abstract"]  # the claim is not a table line
    t = shaped[0]
    assert t.cells.columns.tolist() == ["dataset", "row", "Jaccard", "Dice"]
    cells = t.cells.set_index(["dataset", "row"])
    assert cells.loc[("ISIC 2016", "A [3]"), "Jaccard"] == "0.913 / 0.7116 ?†"
    assert cells.loc[("ISIC 2016", "A [3]"), "Dice"] == "0.955 / 0.8315 ✗"
    assert cells.loc[("ISIC 2016", "Q"), "Jaccard"] == "0.84 / n/a ·"  # context: no note of its own
    assert cells.loc[("ISIC 2016", "Q"), "Dice"] == ""  # the paper prints Q without a Dice
    assert cells.loc[("ISIC 2017", "A [4]"), "Jaccard"] == "0.782 ± 0.01 / 0.7800 ✓"
    assert t.colours.set_index(t.cells.row).loc["A [3]", "Dice"] == "#cf222e"
    # the audit once, then what every judged row says once, then each row's own note, then the data per block
    assert t.notes[0] == f"Audit of this paper: {AUDIT}."
    assert t.notes[1] == "Every judged row: compared: pooled."
    assert t.notes[2] == ("ours: Jaccard 0.7116 [0.6643, 0.7565]; Dice 0.8315 [0.7983, 0.8614] (1 run; bootstrap over "
                          "its test images); converged: no (0/1 runs), yes (1/1 runs); gap +0.0194.")
    assert t.notes[3].startswith("ours: Jaccard 0.7800 [0.7700, 0.7900] (3 runs; where one run would fall)")
    assert t.notes[4:] == ["Data (ISIC 2016): stand-in 2016.", "Data (ISIC 2017): ISIC 2017."]
    abstract = shaped[1]  # a later table of the paper: no audit note again
    assert abstract.cells.values.tolist() == [["A [1]", "100 / n/a –"]] and abstract.notes == ["a GPU timing."]


def test_a_per_epoch_table_has_a_row_per_epoch():
    rows = [["f", "Table 2", "", "FPN", m, e, v, float("nan"), f"{v + 0.1:.4f} [0.1, 0.9] (3 runs)", verdict, "n/a",
             "the training log; truncated", ""]
            for e, (m, v, verdict) in enumerate([("dice_loss", 0.3, "inconclusive"), ("jaccard", 0.5, "reproduced")], 1)
            for _ in [0]]
    rows += [["f", "Table 2", "", "FPN", "jaccard", 1.0, 0.55, float("nan"), "0.6000 [0.1, 0.9] (3 runs)",
              "not reproduced", "n/a", "the training log; truncated; the next epoch's value", ""]]
    t = V.paper_tables(_table(rows), audits={"f": ""})[0]
    assert t.cells.columns.tolist() == ["epoch", "Dice loss", "Jaccard"]
    assert t.cells.epoch.tolist() == ["epoch 1 [2]", "epoch 2 [3]"]
    assert t.cells.iloc[0, 1:].tolist() == ["0.3 / 0.4000 ?", "0.55 / 0.6000 ✗"]
    assert t.notes[0] == "Every judged row: the training log; truncated."
    assert t.notes[1].endswith("; the next epoch's value.") and "converged" not in t.notes[1]  # n/a: not said


def test_claims_and_html_hold_every_line_without_nan():
    table = _two_blocks()
    claims = V.claim_lines(table)
    assert claims[["claim", "ours", "mark"]].values.tolist() == [["A is above B", "+0.0100 [-0.0100, +0.0300] (3 pairs)",
                                                                 "○"]]
    page = V.paper_html(table, paper="p")
    text = html.unescape(page)
    assert "nan" not in text.lower().replace("nanos", "")
    for line in table.itertuples():
        symbol = V.mark(line.verdict)[0]
        assert f"{line.reported}" in text and symbol in text
    assert text.count("<table>") == 2 and "Claims about two rows" in text and "A is above B" in text
    assert 'style="color:#cf222e;font-weight:700">✗</span>' in page  # the colour is on the mark
    md = V.paper_markdown(table)
    assert "| ISIC 2016 | A [2] | 0.913 / 0.7116 ?† | 0.955 / 0.8315 ✗ |" in md and "- ○ A is above B" in md


def test_the_committed_cpu_real_verdicts_fit_a_page():
    """Every committed verdict line is a cell of some table or a claim, and no table is wider than a page:
    at most 7 columns, its widest cells together at most 130 characters (about 1,200 px at the HTML's
    font; the notes carry the rest)."""
    verdicts = pd.read_csv(ROOT / "results" / "cpu-real" / "verdicts.csv")
    shaped = V.paper_tables(verdicts)
    cells = sum(int((t.cells.drop(columns=[c for c in ("dataset", "row", "epoch") if c in t.cells]) != "").sum().sum())
                for t in shaped)
    assert cells + len(V.claim_lines(verdicts)) == len(verdicts)
    for t in shaped:
        assert len(t.cells.columns) <= 7, t.where
        widths = t.cells.map(len).max().tolist() + [len(c) for c in t.cells.columns]
        assert sum(max(w, len(c)) for w, c in zip(t.cells.map(len).max(), t.cells.columns)) <= 130, (t.where, widths)


def test_no_line_is_lost_or_misread():
    # a "; " inside the runs' parentheses is not a second value; NaN is never printed
    assert V.ours_value("0.5000 [0.4000, 0.6000] (1 run; 5 folds)") == "0.5000"
    assert V.ours_value("per-image 0.6509 [0.62, 0.68] (3 runs; x); pooled 0.5906 [0.52, 0.66] (3 runs; x)") == \
        "per-image 0.6509, pooled 0.5906"
    assert V.ours_value(float("nan")) == "n/a"
    table = _two_blocks()
    table.loc[4, "where"] = float("nan")  # a CSV's empty cell: its line still gets a table
    shaped = V.paper_tables(table, audits={"p": AUDIT})
    assert [t.where for t in shaped] == ["Table 1", ""] and "100 / n/a –" in shaped[1].cells.values.ravel()
    assert "nan" not in V.paper_html(table).lower()
    twice = pd.concat([table.iloc[[0]], table.iloc[[0]].assign(verdict="reproduced")])
    with pytest.raises(ValueError, match="two verdict lines for A .ISIC 2016.*jaccard"):
        V.paper_tables(twice)
