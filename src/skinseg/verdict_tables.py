"""Each paper's verdicts laid out as the paper's own tables: one table per place the paper prints its
numbers (its "where": "Table 1", "Abstract", ...), its rows the paper's rows (per dataset block, or per
epoch for a per-epoch log), one column per metric, and in each cell "paper / ours" with a verdict
mark (a symbol and a colour: :data:`MARKS`). What does not fit a cell goes into numbered notes under
the table: our interval and runs, whether they converged, and each line's own cause; the paper's
audit finding and the data each block used once per paper. Claims about two rows are listed after
the paper's tables, with their paired interval.

Built from a verdict table (:func:`skinseg.verdicts.verdict_table`, context lines included), so what
the summary and a paper's notebook show is what the verdicts say; rendered as HTML (inline styles:
the committed HTML, JupyterLab and GitHub keep them) or markdown (summary.md).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

from skinseg.report import clauses
from skinseg.verdicts import CONTEXT, COUNT_METRICS, is_claim_line

# verdict (its start) -> symbol, colour, legend; symbol and colour both, so the mark reads in grey print too
MARKS = {
    "reproduced": ("✓", "#1a7f37", "reproduced"),
    "within tolerance": ("≈", "#0969da", "within tolerance"),
    "inconclusive": ("?", "#9a6700", "inconclusive (our runs too spread to tell)"),
    "not shown": ("○", "#9a6700", "claim not shown (paired interval covers 0)"),
    "not reproduced": ("✗", "#cf222e", "not reproduced"),
    "not testable here": ("–", "#6e7781", "not testable here (the note says why)"),
    CONTEXT: ("·", "#6e7781", "context: a competitor's number the paper quotes, not run"),
}
UNCONVERGED_MARK = "†"  # the verdict stands on runs still improving: it speaks about our budget, not the paper
METRIC_NAMES = {"jaccard": "Jaccard", "dice": "Dice", "dice_loss": "Dice loss", "images_per_second": "images/s",
                "parameters": "parameters", "threshold_jaccard": "thresholded Jaccard"}


def mark(verdict: str) -> tuple[str, str, str]:
    """``(symbol, colour, legend)`` of a verdict cell, with :data:`UNCONVERGED_MARK` after the symbol of a
    verdict on runs still improving."""
    key = next((k for k in sorted(MARKS, key=len, reverse=True) if str(verdict).startswith(k)), None)
    if key is None:
        raise ValueError(f"verdict {verdict!r} has no mark; the known ones: {', '.join(MARKS)}")
    symbol, colour, legend = MARKS[key]
    return symbol + (UNCONVERGED_MARK if "unconverged" in str(verdict) else ""), colour, legend


def metric_name(metric: str) -> str:
    """``"Dice gain from epe"`` from ``"dice_gain_from_epe"``; the names of :data:`METRIC_NAMES` as given."""
    if metric in METRIC_NAMES:
        return METRIC_NAMES[metric]
    words = metric.split("_")
    return " ".join(METRIC_NAMES.get(w, w) if i == 0 else w.upper() if w in ("epe", "asc") else w
                    for i, w in enumerate(words))


def block_name(block: str) -> str:
    """``"ISIC 2016"`` from ``"isic2016"``; ``"PH2"`` from ``"ph2"``; anything else as it is."""
    m = re.fullmatch(r"([a-z]+)(\d{4})", str(block))
    return f"{m[1].upper()} {m[2]}" if m else str(block).upper() if str(block).isalnum() else str(block)


def _reported(line) -> str:
    """The paper's value as the cell shows it: a count with thousands separators, a "± sd" where the paper
    prints one, "–" for none."""
    v = pd.to_numeric(pd.Series([line.reported]), errors="coerce").iloc[0]
    if v != v:  # not a number: text (a verdict CSV's own), or none
        text = str(line.reported) if line.reported == line.reported and str(line.reported).strip() else "–"
    else:
        text = f"{v:,.0f}" if line.metric in COUNT_METRICS else f"{v:g}"
    sd = pd.to_numeric(pd.Series([line.get("reported sd")]), errors="coerce").iloc[0]
    return text + (f" ± {sd:g}" if sd == sd else "")


_INTERVAL = re.compile(r"^(?P<name>[a-z-]+ )?(?P<mean>[-+]?[\d,]*\.?\d+)(?P<rest>.*)$")


def ours_value(ours: str) -> str:
    """The cell's "ours": the mean alone (each reduction's where the line gives both); "n/a" for none."""
    parts = clauses(str(ours)) if ours == ours and ours else []  # "; " inside the runs' "(...)" is not a cut
    values = [f"{m['name'] or ''}{m['mean']}" for p in parts if (m := _INTERVAL.match(p))]
    return ", ".join(values) if values else "n/a"


def _split_interval(ours: str) -> tuple[str, str]:
    """``("0.7116 [0.6643, 0.7565]", "1 run; bootstrap over its test images")`` from a line's ``ours``."""
    m = re.match(r"^(.*?\])\s*\((.*)\)$", str(ours))
    return (m[1], m[2]) if m else (str(ours), "")


@dataclass
class ShapedTable:
    """One table of a paper, in its shape: ``cells`` (text cells, the mark after "paper / ours"),
    ``colours`` (the mark's colour per cell, "" for none), ``notes`` (numbered under the table; a row's
    label ends in "[n]", its note's number)."""
    paper: str
    where: str
    cells: pd.DataFrame
    colours: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def _own_cause(cause: str, audit: str) -> str:
    """A line's cause without its paper's audit finding (said once per paper)."""
    text = str(cause) if cause == cause else ""
    return "; ".join(c for c in clauses(text) if c not in clauses(audit))


def _epoch(value) -> str:
    """A line's epoch as printed ("" for none: NaN from a CSV, "" from the verdict table)."""
    text = str(value).strip()
    return "" if text in ("", "nan", "None") else f"{int(float(text))}"


def _row_label(line, per_epoch: bool, one_row: bool) -> str:
    epoch = _epoch(line.epoch)
    if not (per_epoch and epoch):
        return str(line.row)
    return f"epoch {epoch}" if one_row else f"{line.row}, epoch {epoch}"


COLUMNS = ("paper", "where", "block", "row", "metric", "epoch", "reported", "reported sd", "ours", "verdict",
           "converged", "cause", "data used")


def _complete(verdicts: pd.DataFrame) -> pd.DataFrame:
    """``verdicts`` with every column these tables read (:data:`COLUMNS`; a missing one empty), so a
    table of fewer columns (a test's, an older CSV's) lays out too."""
    missing = {c: "" for c in COLUMNS if c not in verdicts}
    # the keys lines are grouped by: an empty one (NaN from a CSV) would drop its lines from every table
    keys = {c: verdicts[c].fillna("") for c in ("paper", "where", "block", "row") if c in verdicts}
    return verdicts.assign(**missing, **keys)


def paper_tables(verdicts: pd.DataFrame, audits: dict[str, str] | None = None) -> list[ShapedTable]:
    """The paper-shaped tables of every paper in ``verdicts`` (in its order), one per ``where`` of its
    reported numbers (claims: :func:`claim_lines`). ``audits``: {paper: its audit finding}, taken out of
    every line's cause and given once, as the first note of the paper's first table (default: the
    spec's, where registered)."""
    out, verdicts = [], _complete(verdicts)
    numbers = verdicts[~is_claim_line(verdicts)] if len(verdicts) else verdicts
    for paper, lines in numbers.groupby("paper", sort=False, dropna=False):
        audit = (audits or {}).get(paper, _audit(paper))
        for i, (where, group) in enumerate(lines.groupby("where", sort=False, dropna=False)):
            out.append(_shape(paper, where, group, audit, say_audit=i == 0))
    return out


def _audit(paper: str) -> str:
    from skinseg.papers import get_paper

    try:
        return get_paper(paper).audit_summary
    except KeyError:
        return ""


def _shape(paper: str, where: str, lines: pd.DataFrame, audit: str, say_audit: bool) -> ShapedTable:
    per_epoch = lines.epoch.map(_epoch).ne("").any()
    one_row = lines.row.nunique() == 1
    lines = lines.assign(block=lines.block.fillna("").astype(str),
                         label=[_row_label(r, per_epoch, one_row) for r in lines.itertuples()])
    rows = list(lines.groupby(["block", "label"], sort=False, dropna=False))
    # what every judged row of the table says goes into one note, not into each row's
    said = [_row_clauses(g, audit) for _, g in rows]
    judged = [c for c, (_, g) in zip(said, rows) if (g.verdict != CONTEXT).any()]
    common = [c for c in judged[0] if all(c in other for other in judged[1:])] if len(judged) > 1 else []
    notes = [f"Audit of this paper: {audit}."] if audit and say_audit else []
    if common:
        notes.append("Every judged row: " + "; ".join(common) + ".")
    metrics = list(dict.fromkeys(lines.metric))
    index, cells, colours = [], {}, {}
    for ((block, label), row_lines), own in zip(rows, said):
        note = _row_note(row_lines, [c for c in own if c not in common])
        if note:
            notes.append(note)
        key = (block_name(block) if block else "", label + (f" [{len(notes)}]" if note else ""))
        index.append(key)
        for _, line in row_lines.iterrows():
            if (key, line.metric) in cells:  # two verdicts in one cell: neither may hide the other
                shown = block_name(block) if block else "one block"
                raise ValueError(f"{paper}, {where}: two verdict lines for {label} ({shown}), {line.metric}; a "
                                 "paper-shaped cell holds one")
            symbol, colour, _ = mark(line.verdict)
            cells[(key, line.metric)] = f"{_reported(line)} / {ours_value(line.ours)} {symbol}"
            colours[(key, line.metric)] = colour
    used = lines.get("data used", pd.Series("", index=lines.index)).fillna("").astype(str)
    for block, text in dict.fromkeys(zip(lines.block, used)):
        if text:
            notes.append(f"Data{f' ({block_name(block)})' if block else ''}: {text}.")
    cols = [metric_name(m) for m in metrics]
    frame = pd.DataFrame([[cells.get((k, m), "") for m in metrics] for k in index], columns=cols)
    colour_frame = pd.DataFrame([[colours.get((k, m), "") for m in metrics] for k in index], columns=cols)
    labels = pd.DataFrame(index, columns=["dataset", "epoch" if per_epoch and one_row else "row"])
    if not lines.block.ne("").any():
        labels = labels.drop(columns="dataset")
    return ShapedTable(paper, where, pd.concat([labels, frame], axis=1),
                       pd.concat([labels.map(lambda _: ""), colour_frame], axis=1), notes)


def _row_clauses(lines: pd.DataFrame, audit: str) -> list[str]:
    """The causes of a row's judged lines, without the paper's audit finding, cut into clauses, each once."""
    judged = lines[lines.verdict != CONTEXT]
    text = "; ".join(str(c) for c in judged.cause if c == c and c)
    return [c for c in clauses(text) if c not in clauses(audit)] if text else []


def _row_note(lines: pd.DataFrame, causes: list[str]) -> str:
    """One row's note: our interval per metric (the runs it stands on said once), convergence, and the
    row's own ``causes``; "" for a row of context lines only."""
    judged = lines[lines.verdict != CONTEXT]
    if judged.empty:
        return ""
    intervals, sources = [], []
    for line in judged.itertuples():
        ours = str(line.ours) if line.ours == line.ours else ""
        if not ours:
            continue
        value, source = _split_interval(ours)
        intervals.append(f"{metric_name(line.metric)} {value}")
        sources.append(source)
    parts = []
    if intervals:
        common = sources[0] if len(set(sources)) == 1 and sources[0] else ""
        parts.append("ours: " + "; ".join(intervals if common or not any(sources) else
                                         [f"{i} ({s})" if s else i for i, s in zip(intervals, sources)])
                     + (f" ({common})" if common else ""))
    converged = [c for c in dict.fromkeys(judged.converged.fillna("").astype(str)) if c and c != "n/a"]
    if converged:
        parts.append("converged: " + ", ".join(converged))
    parts += causes
    return "; ".join(parts) + "." if parts else ""


def claim_lines(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The claims of ``verdicts`` (one line each): paper, where, the claim as the paper makes it, ours
    (the paired difference and its interval), the mark and its colour."""
    verdicts = _complete(verdicts)
    claims = verdicts[is_claim_line(verdicts)] if len(verdicts) else verdicts
    rows = []
    for line in claims.itertuples():
        symbol, colour, _ = mark(line.verdict)
        rows.append({"paper": line.paper, "where": line.where, "claim": line.reported,
                     "ours": line.ours if line.ours == line.ours and line.ours else "–",
                     "mark": symbol, "colour": colour, "verdict": line.verdict,
                     "cause": _own_cause(line.cause, _audit(line.paper))})
    return pd.DataFrame(rows, columns=["paper", "where", "claim", "ours", "mark", "colour", "verdict", "cause"])


def legend_html() -> str:
    marks = " &nbsp; ".join(f'<span style="color:{c};font-weight:700">{s}</span> {html.escape(t)}'
                            for s, c, t in MARKS.values())
    return (f'<p style="font-size:90%">Each cell: the paper\'s value / our mean, then its verdict: {marks}; '
            f"<b>{UNCONVERGED_MARK}</b> on runs still improving (the verdict speaks about our budget, not the "
            "paper). [n]: the row's note under the table (our interval and runs, the cause).</p>")


def _cell_html(text: str, colour: str) -> str:
    if not colour:
        return html.escape(text)
    head, _, symbol = text.rpartition(" ")
    cell = f'{html.escape(head)} <span style="color:{colour};font-weight:700">{html.escape(symbol)}</span>'
    # a competitor's number: quoted for context, greyed so the judged rows stand out
    return f'<span style="color:{colour}">{cell}</span>' if symbol == MARKS[CONTEXT][0] else cell


def table_html(t: ShapedTable, heading: str = "h4") -> str:
    """One table, its heading ("where") and its numbered notes, as HTML."""
    head = "".join(f'<th style="text-align:left">{html.escape(c)}</th>' for c in t.cells.columns)
    body = "".join("<tr>" + "".join(f'<td style="text-align:left;white-space:nowrap">{_cell_html(str(v), col)}</td>'
                                    for v, col in zip(row, colours)) + "</tr>"
                   for row, colours in zip(t.cells.itertuples(index=False), t.colours.itertuples(index=False)))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in t.notes)
    return (f"<{heading}>{html.escape(t.where)}</{heading}><table><thead><tr>{head}</tr></thead><tbody>{body}"
            f'</tbody></table><ol style="font-size:90%;max-width:1250px">{notes}</ol>' if notes else
            f"<{heading}>{html.escape(t.where)}</{heading}><table><thead><tr>{head}</tr></thead><tbody>{body}"
            "</tbody></table>")


def claims_html(claims: pd.DataFrame) -> str:
    if claims.empty:
        return ""
    items = "".join(
        f'<li><span style="color:{c.colour};font-weight:700">{html.escape(c.mark)}</span> '
        f"{html.escape(str(c.claim))} <i>({html.escape(str(c.where))})</i>: ours {html.escape(str(c.ours))} — "
        f"{html.escape(str(c.verdict))}{'; ' + html.escape(c.cause) if c.cause else ''}.</li>"
        for c in claims.itertuples())
    return f'<h4>Claims about two rows</h4><ul style="max-width:1250px">{items}</ul>'


def paper_html(verdicts: pd.DataFrame, paper: str | None = None, legend: bool = True, heading: str = "h4") -> str:
    """The tables and claims of ``paper`` (default: every paper in ``verdicts``, each under an ``h3`` with its
    key), with the legend first."""
    verdicts = _complete(verdicts)
    papers = [paper] if paper else list(dict.fromkeys(verdicts.paper))
    parts = [legend_html()] if legend else []
    for key in papers:
        lines = verdicts[verdicts.paper == key]
        if not paper:
            parts.append(f"<h3>{html.escape(_title(key))}</h3>")
        parts += [table_html(t, heading) for t in paper_tables(lines)]
        parts.append(claims_html(claim_lines(lines)))
    return "\n".join(p for p in parts if p)


def _title(key: str) -> str:
    from skinseg.papers import get_paper
    from skinseg.report import _authors

    try:
        spec = get_paper(key)
    except KeyError:
        return key
    return f"{_authors(spec.citation)} ({key})"


def paper_markdown(verdicts: pd.DataFrame) -> str:
    """Every paper's tables, notes and claims as markdown (summary.md): the marks as symbols."""
    from skinseg.summary import markdown_table

    parts = ["Each cell: the paper's value / our mean, then its verdict: " + "; ".join(
        f"{s} {t}" for s, _, t in MARKS.values()) + f"; {UNCONVERGED_MARK} on runs still improving. [n]: the row's "
        "note under the table."]
    verdicts = _complete(verdicts)
    for key in dict.fromkeys(verdicts.paper):
        lines = verdicts[verdicts.paper == key]
        parts.append(f"### {_title(key)}")
        for t in paper_tables(lines):
            parts += [f"#### {t.where}", markdown_table(t.cells)]
            parts += ["\n".join(f"{i}. {n}" for i, n in enumerate(t.notes, 1))] if t.notes else []
        claims = claim_lines(lines)
        if not claims.empty:
            parts.append("#### Claims about two rows\n\n" + "\n".join(
                f"- {c.mark} {c.claim} ({c.where}): ours {c.ours} — {c.verdict}" + (f"; {c.cause}" if c.cause else "")
                for c in claims.itertuples()))
    return "\n\n".join(parts)
