"""The specs' reported numbers against the papers' own text (../shared/papers): every number a spec
enters as the paper's must be printed there, in the table and row (and dataset block) it names, and
every cell of the tables the specs cite must be entered. Skipped without the texts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from skinseg.papers import get_paper, list_papers
from skinseg.papers import asnet2020, slsdeep2018

PAPERS = Path(__file__).resolve().parents[1].parent / "shared" / "papers"
pytestmark = pytest.mark.skipif(not (PAPERS / "README.md").is_file(),
                                reason=f"the papers' texts are not at {PAPERS} (CI provides ../shared beside the checkout)")

HEADERS = {"acc": "accuracy", "accuracy": "accuracy", "dic": "dice", "dice": "dice", "jac": "jaccard",
           "jaccard": "jaccard", "iou": "jaccard", "sen": "sensitivity", "spe": "specificity", "dl": "dice_loss"}
BLOCKS = {"isbi2016": "isic2016", "isbi2017": "isic2017"}


def paper_text(spec) -> str:
    """The text of ``spec``'s paper: the README's table maps each file to its notebook's number."""
    for line in (PAPERS / "README.md").read_text().splitlines():
        cells = [c.strip(" `") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].endswith(".txt") and spec.notebook.startswith(cells[2]):
            return (PAPERS / cells[0]).read_text()
    raise AssertionError(f"../shared/papers/README.md maps no text to notebook {spec.notebook}")


def label(cell: str) -> str:
    """A row label as a key: markup, reference numbers and punctuation dropped ("U-Net <sup>3</sup>" -> "unet")."""
    cell = re.sub(r"<sup>.*?</sup>|<[^>]+>|\[[\d, ]+\]", "", cell)
    return re.sub(r"[^a-z0-9]", "", cell.lower())


def parse_table(text: str, name: str) -> dict:
    """``{(block, row label, metric): (value, sd)}`` of the tab-separated table captioned ``name``
    ("Table 1"); values in the units printed, divided by 100 where the header says (%)."""
    lines = text.splitlines()
    start = next(i for i, s in enumerate(lines) if re.match(rf"\W*{name}\b", s.strip()))
    rows = [s for s in lines[start + 1:start + 40]]
    first = next(i for i, s in enumerate(rows) if "\t" in s)
    table = []
    for s in rows[first:]:
        if "\t" not in s:
            break
        table.append(s.split("\t"))
    header = [h.strip() for h in table[0]]
    metrics = [HEADERS.get(re.sub(r"\(%\)|\W", "", h.lower())) for h in header]
    n_labels = metrics.index(next(m for m in metrics if m))
    out, block = {}, None
    for cells in table[1:]:
        if n_labels == 2:
            block = BLOCKS.get(label(cells[0]), block) if cells[0].strip() else block
        row = label(cells[n_labels - 1])
        for h, m, cell in zip(header[n_labels:], metrics[n_labels:], cells[n_labels:]):
            found = re.fullmatch(r"\s*([\d.]+)\s*(?:±\s*([\d.]+))?\s*", re.sub(r"<[^>]+>", "", cell))
            if not found:
                continue  # "\" : not in the paper
            scale = 100 if "(%)" in h else 1
            value, sd = (float(x) / scale if x else None for x in found.groups())
            out[(block, row, m)] = (value, sd)
    return out


def table_name(where: str) -> str | None:
    found = re.match(r"(Table \d+)", where)
    return found.group(1) if found else None


SPECS = [get_paper(k) for k in list_papers() if get_paper(k).reported and get_paper(k).key != "one_protocol"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_table_number_a_spec_enters_is_the_papers_and_every_cell_is_entered(spec):
    text = paper_text(spec)
    for name in sorted({table_name(r.where) for r in spec.reported} - {None}):
        printed = parse_table(text, name)
        entered = {}
        for r in spec.reported:
            if table_name(r.where) != name:
                continue
            row = str(r.epoch) if r.epoch is not None else label(r.row)
            key = (r.paper_dataset if any(k[0] for k in printed) else None, row, r.metric)
            assert key in printed, f"{spec.key}: {name} prints no {key} (spec: {r})"
            value, sd = printed[key]
            assert r.value == pytest.approx(value, abs=1e-9), f"{spec.key} {name} {key}: spec {r.value}, paper {value}"
            assert (r.sd is None) == (sd is None) and (sd is None or r.sd == pytest.approx(sd, abs=1e-9)), key
            entered[key] = r
        assert set(printed) == set(entered), f"{spec.key}: {name} cells not entered: {sorted(set(printed) - set(entered))}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_number_a_spec_quotes_from_the_text_is_printed_there(spec):
    text = " ".join(paper_text(spec).split())
    for r in spec.reported:
        if table_name(r.where) or r.difference_of:
            continue
        token = (f"{r.value:,}" if r.metric == "parameters" else f"about {r.value:g} images"
                 if r.metric == "images_per_second" else f"{r.value:g}")
        assert token in text, f"{spec.key}: {r.where} {r.row} {r.metric}: {token!r} is not in the paper's text"


def test_slsdeep_epe_gains_are_the_sentence_on_the_epe_function():
    text = " ".join(paper_text(slsdeep2018.SPEC).split())
    sentence = next(s for s in text.split(". ") if "Using the EPE function" in s)
    gains = {(r.paper_dataset, r.metric): r.value for r in slsdeep2018.SPEC.reported if r.difference_of}
    for block in ("isic2016", "isic2017"):  # printed in that order, each as "DIC% and JAC%"
        pair = f"{gains[block, 'dice_gain_from_epe'] * 100:g}% and {gains[block, 'jaccard_gain_from_epe'] * 100:g}%"
        assert pair in sentence, f"{block}: {pair!r} not in the EPE sentence"
    assert sentence.index("ISBI’2016") < sentence.index("ISBI’2017")


def test_every_stated_difference_of_the_texts_is_printed_there():
    sls = " ".join(paper_text(slsdeep2018.SPEC).split())
    for where, _, _, _, kind, _, stated in slsdeep2018.TEXT_CLAIMS:
        if stated is not None:
            assert f"{stated * 100:g}%" in sls, where
    asnet = " ".join(paper_text(asnet2020.SPEC).split())
    for row, ref, stated in asnet2020.TEXT_CLAIMS:
        assert f"{stated * 100:g}%" in asnet, (row, ref, stated)


def test_the_parser_reads_what_a_table_prints():
    text = "x\nTable 9. Caption\n\nChallenges\tMethods\tJAC\tDIC\nISBI 2016\tA [3]\t0.5\t0.6\n\tB\t0.7\t\\\n\nafter\n"
    assert parse_table(text, "Table 9") == {("isic2016", "a", "jaccard"): (0.5, None),
                                            ("isic2016", "a", "dice"): (0.6, None),
                                            ("isic2016", "b", "jaccard"): (0.7, None)}
    pct = "Table 2\nMethods\tJaccard(%)\n<b>U-Net</b> <sup>3</sup>\t78.70±0.317\n"
    assert parse_table(pct, "Table 2") == {(None, "unet", "jaccard"): (pytest.approx(0.787), pytest.approx(0.00317))}
