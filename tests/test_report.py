"""What a reader sees first: the findings written from the verdicts, and the summary's HTML (a title, code
hidden, every verdict line, nothing cut, no NaN)."""
import html

import nbformat
import pandas as pd
import pytest

from conftest import ROOT
from skinseg import report


def _lines(rows):
    return pd.DataFrame(rows, columns=["paper", "row", "metric", "verdict", "converged"])


def test_a_papers_finding_counts_what_holds_what_does_not_and_what_waits_on_convergence():
    v = _lines([["asnet2020", "ASNet", "dice", "reproduced", "yes (5/5 runs)"],
                ["asnet2020", "U-Net", "dice", "not reproduced", "yes (5/5 runs)"],
                ["asnet2020", "U-Net", "jaccard", "inconclusive (unconverged)", "no (4/5 runs)"],
                ["asnet2020", "Baseline", "jaccard", "inconclusive", "yes (5/5 runs)"],
                ["asnet2020", "ASNet", "images", "not testable here", ""],
                ["asnet2020", "Q", "jaccard", "context (reported only)", ""]])
    text = report.paper_finding("asnet2020", v)
    assert text.startswith("**L. Zhu et al. (asnet2020)**: 5 numbers and claims judged.")  # context is not judged
    assert "Holds: 1 (ASNet). Does not hold: 1 (U-Net). Open: 1 " in text
    assert "Waiting on runs still improving: 1. Not testable here: 1." in text
    # the audit's first finding, cut at a ';' outside parentheses (ASNet's has one inside)
    assert text.endswith("are the size of its fold sds (0.32-0.55), per-fold values unpublished.")
    assert report.findings(v).startswith("## Findings\n\n**L. Zhu et al.")


def _check_report(page: str, verdicts: pd.DataFrame):
    assert "<title>skinseg: summary of the reproductions" in page
    assert "rows ×" not in page and ">NaN<" not in page  # no pandas truncation, no NaN cell
    assert "hl-ipython3" not in page  # no code input (its highlighted source) ...
    assert "06_summary.run.json" in page  # ... the parameters one link away
    # every verdict line is in the page: its row and its verdict, in that line's order of cells
    text = html.unescape(page)
    for line in verdicts.itertuples():
        assert str(line.row) in text and str(line.verdict) in text, line
    assert page.count("<tr") >= len(verdicts)


def test_the_committed_cpu_real_summary_html_holds_every_verdict():
    folder = ROOT / "results" / "cpu-real"
    verdicts = pd.read_csv(folder / "verdicts.csv")
    assert len(verdicts) == 82
    _check_report((folder / "summary.html").read_text(), verdicts)
    first = (folder / "summary.html").read_text().partition("Findings")
    assert first[1] and first[0].count("<tr") == 0  # the findings come before any table


def test_the_report_html_hides_code_and_names_its_title(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A summary"),
                                         nbformat.v4.new_code_cell("print('the finding')", metadata={"tags": ["parameters"]})])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="the finding\n")]
    src = tmp_path / "notebooks" / "06_summary.ipynb"
    src.parent.mkdir()
    nbformat.write(nb, src)
    page = report.export_report_html(src, tmp_path / "summary.html", "My title").read_text()
    assert "<title>My title</title>" in page and "the finding" in page and "print(" not in page
    assert 'href="notebooks/06_summary.ipynb"' in page
