"""What a reader sees first: the findings, written by code from the verdicts, and the summary's HTML
(a real title, code hidden, the parameters kept in view).

The findings are one short paragraph per paper: how many of its numbers and claims were judged, which
rows hold and which do not on converged runs, how many wait on runs still improving, and the one cause
its audit names. They are counted from the verdict table (:func:`skinseg.verdicts.verdict_table`), so
they change when a run lands; nothing in them is typed by hand.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from skinseg.papers import get_paper
from skinseg.verdicts import CONTEXT

def _rows(lines: pd.DataFrame, most: int = 3) -> str:
    """``" (ASNet, Baseline, U-Net and 2 more)"``: the distinct rows of ``lines``, at most ``most`` named
    ("" without a row column)."""
    rows = list(dict.fromkeys(lines["row"].astype(str))) if "row" in lines else []
    named = ", ".join(rows[:most]) + (f" and {len(rows) - most} more" if len(rows) > most else "")
    return f" ({named})" if named else ""


def clauses(text: str) -> list[str]:
    """``text`` cut at each "; " outside parentheses and quotes, each clause once, in order."""
    out, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0 and not quoted:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return list(dict.fromkeys(c.strip() for c in out if c.strip()))


def _cause(audit_summary: str) -> str:
    """The audit's first finding: its text up to the first ';' outside parentheses and quotes (the rest is
    in the verdict table)."""
    found = clauses(audit_summary)
    return found[0] if found else ""


def _authors(citation: str) -> str:
    """``"L. Zhu et al."`` from ``"L. Zhu, S. Feng, W. Zhu, ..."``; a citation's first author list as it is
    otherwise (``"D. Ramachandram and T. DeVries"``)."""
    first, _, rest = citation.partition(",")
    return f"{first} et al." if re.match(r"\s*[A-Z]\.", rest) and "et al" not in first else first


def paper_finding(key: str, lines: pd.DataFrame) -> str:
    """One paragraph (markdown, about three lines) on paper ``key`` from its verdict ``lines`` (context
    lines excluded): judged numbers, what holds and what does not on converged runs, what waits on
    runs still improving, what cannot be tested here, and the audit's cause."""
    try:
        spec = get_paper(key)
        name, cause = _authors(spec.citation), _cause(spec.audit_summary)
    except KeyError:  # a verdict table of papers outside the registry (tests)
        name, cause = key, ""
    lines = lines[lines.verdict != CONTEXT]
    waiting = lines.get("converged", pd.Series("", index=lines.index)).astype(str).str.startswith("no")
    settled = lines[~waiting]
    holds = settled[settled.verdict.str.startswith(("reproduced", "within tolerance"))]
    fails = settled[settled.verdict.str.startswith("not reproduced")]
    open_ = settled[settled.verdict.str.startswith(("inconclusive", "not shown"))]
    untestable = settled[settled.verdict.str.startswith("not testable")]
    parts = [f"**{name} ({key})**: {len(lines)} {'number or claim' if len(lines) == 1 else 'numbers and claims'} judged."]
    if len(holds):
        parts.append(f"Holds: {len(holds)}{_rows(holds)}.")
    if len(fails):
        parts.append(f"Does not hold: {len(fails)}{_rows(fails)}.")
    if len(open_):
        parts.append(f"Open: {len(open_)} (inconclusive or not shown: our runs are too spread to tell).")
    if waiting.any():
        parts.append(f"Waiting on runs still improving: {int(waiting.sum())}.")
    if len(untestable):
        parts.append(f"Not testable here: {len(untestable)}.")
    if cause:
        parts.append(f"Cause: {cause}.")
    return " ".join(parts)


def findings(verdicts: pd.DataFrame) -> str:
    """The summary's opening section (markdown): one :func:`paper_finding` per paper, in table order."""
    if "paper" not in verdicts:
        return "## Findings\n\nNo paper's verdicts."
    paragraphs = [paper_finding(key, lines) for key, lines in verdicts.groupby("paper", sort=False)]
    return "\n\n".join(["## Findings", *paragraphs])


def blanks(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` for display: a missing value (no sd printed, no run yet) shows as an empty cell, not NaN."""
    return table.astype(object).where(table.notna(), "")


def export_report_html(notebook, dest, title: str):
    """The executed summary notebook as HTML at ``dest``: titled ``title``, every code cell's input hidden
    (the parameters' too: 60 lines before any finding), outputs kept, and a line under the notebook's title
    linking the executed notebook and the parameters it ran with (its marker, ``.run.json``); written
    atomically."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    from skinseg.results import write_text

    notebook, dest = Path(notebook), Path(dest)
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.setdefault("tags", []).append("report-hide-input")
    where = Path(os.path.relpath(notebook, dest.parent)).as_posix()
    marker = Path(os.path.relpath(notebook.with_suffix(".run.json"), dest.parent)).as_posix()
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"*This page hides the code. The executed notebook, code and outputs: [{notebook.name}]({where}); the "
        f"parameters it ran with: [{notebook.with_suffix('.run.json').name}]({marker}); every verdict line as CSV: "
        "[verdicts.csv](verdicts.csv).*"))
    exporter = HTMLExporter()
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"report-hide-input"}, enabled=True),
                                   enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return write_text(dest, body)
