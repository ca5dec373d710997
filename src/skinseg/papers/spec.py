"""What a paper spec holds: citation, reported numbers as data, recipe, variants.

A *variant* is one row of a paper's table: a label (the paper's row name), a
model with its keyword arguments, and overrides of the flat parameters
(:mod:`skinseg.params`) such as the loss, the target class or the optimiser.
An *evaluation-only* variant (``eval_of``) reuses another variant's trained
weights and changes only how they are scored (threshold, upsampling,
post-processing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from skinseg import params as P

# parameters an evaluation-only variant may change: everything else is the trained model's
EVAL_PARAMETERS = frozenset({"threshold", "upsampling", "postprocess", "opening_element", "opening_radius"})


def slug(label: str) -> str:
    """A folder name for a row label: ``"Baseline_ASM_w/o_SA"`` -> ``"baseline_asm_wo_sa"``."""
    s = label.lower().replace("w/o", "wo").replace("+", "-plus-")
    s = re.sub(r"[^a-z0-9_.-]+", "-", s).strip("-.")
    return re.sub(r"-{2,}", "-", s)


@dataclass(frozen=True)
class Reported:
    """One number as the paper prints it.

    ``value`` and ``sd`` are fractions (a paper's 82.15 % is stored as 0.8215)
    unless ``metric`` is a count or a loss; ``where`` names the table or
    section; ``reduction`` is given only where the paper says (macro/micro).
    ``epoch``: a per-epoch number, compared with our history's ``<split>_loss`` /
    ``<split>_<metric>`` columns, ``split`` saying which images it is on (``train``
    or ``val``); without ``epoch``, a test-set number.
    """

    where: str
    row: str
    metric: str
    value: float
    sd: float | None = None
    dataset: str = ""
    reduction: str | None = None
    epoch: int | None = None
    split: str = "val"
    reported_only: bool = False  # a competitor's row: quoted, never run
    paper_dataset: str | None = None  # which dataset block, where a paper reports on several
    note: str = ""
    runs: int = 1  # how many runs (seeds, folds) the reported value averages: 1 unless the paper says
    # a difference between two rows rather than one row's value: (row, minus row, metric)
    difference_of: tuple[str, str, str] | None = None

    def __post_init__(self):
        if not (isinstance(self.runs, int) and self.runs >= 1):
            raise ValueError(f"Reported {self.where} {self.row} {self.metric}: runs={self.runs!r}; it counts the runs "
                             "the value averages, 1 or more (1 unless the paper says)")


@dataclass(frozen=True)
class Variant:
    label: str
    model: str
    model_kwargs: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    eval_of: str | None = None
    main: bool = False  # the paper's own model
    # which seed list trains this row: "main" (the `seeds` parameter) or "ablation" (`ablation_seeds`);
    # None: "main" for the paper's own model, "ablation" otherwise. Rows compared seed by seed share one.
    seed_group: str | None = None
    # the paper's row this reproduces when it differs from the label (e.g. one per dataset block);
    # "" for rows of ours (audits, corrections) that reproduce none of the paper's rows
    row: str | None = None
    note: str = ""

    @property
    def slug(self) -> str:
        return slug(self.label)

    @property
    def seeds_from(self) -> str:
        return self.seed_group or ("main" if self.main else "ablation")

    @property
    def paper_row(self) -> str:
        return self.label if self.row is None else self.row


@dataclass(frozen=True)
class Claim:
    """A claim about how two rows compare: ``kind`` "greater" (``row`` above ``than`` on ``metric``)
    or "close" (within the summary's tolerance of each other); checked run by run (seeds or folds)."""

    text: str
    row: str
    than: str
    metric: str = "jaccard"
    kind: str = "greater"
    where: str = ""


@dataclass(frozen=True)
class PaperSpec:
    key: str            # results folder name, e.g. "delatorre2018"
    notebook: str       # notebook stem, e.g. "01_linknet64_isic2018"
    citation: str
    claim: str
    recipe: dict        # the paper's settings as parameter values (what the `paper` profile runs)
    recipe_sources: dict  # parameter -> where the paper says it, or "not stated"
    variants: tuple[Variant, ...]
    reported: tuple[Reported, ...] = ()
    claims: tuple[Claim, ...] = ()
    audit_summary: str = ""  # the one-line cause the summary's verdict table gives for this paper

    def __post_init__(self):
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels) or len({slug(x) for x in labels}) != len(labels):
            raise ValueError(f"{self.key}: variant labels (and their folder names) must be unique: {labels}")
        for name, value in self.recipe.items():
            P.check(name, value)
        for v in self.variants:
            for name, value in v.overrides.items():
                P.check(name, value)
            if v.seed_group not in (None, "main", "ablation"):
                raise ValueError(f"{self.key}: {v.label!r}: seed_group must be 'main' or 'ablation'")
            if v.eval_of is not None:
                if v.eval_of not in labels or self.variant(v.eval_of).eval_of is not None:
                    raise ValueError(f"{self.key}: {v.label!r} evaluates {v.eval_of!r}, which is not a trained row")
                if (v.model, v.model_kwargs) != (self.variant(v.eval_of).model, self.variant(v.eval_of).model_kwargs):
                    raise ValueError(f"{self.key}: evaluation-only row {v.label!r} must name its trained row's model")
                bad = set(v.overrides) - EVAL_PARAMETERS
                if bad:
                    raise ValueError(f"{self.key}: evaluation-only row {v.label!r} cannot change {sorted(bad)}; "
                                     f"only {sorted(EVAL_PARAMETERS)}")
        for c in self.claims:
            if c.kind not in ("greater", "close") or not {c.row, c.than} <= set(labels):
                raise ValueError(f"{self.key}: claim {c.text!r} must compare two rows ({labels}) as 'greater' or "
                                 f"'close', got {c.row!r}, {c.than!r}, {c.kind!r}")

    def variant(self, label: "str | Variant") -> Variant:
        """The row with this label (or folder name); a Variant of this paper is returned as is."""
        if isinstance(label, Variant) and label in self.variants:
            return label
        for v in self.variants:
            if v.label == label or v.slug == label:
                return v
        raise KeyError(f"{self.key} has no row {label!r}; rows: {', '.join(v.label for v in self.variants)}")

    def trained(self, label: "str | Variant") -> Variant:
        """The row whose weights this row scores: an evaluation-only row's trained row
        (``eval_of``), any other row itself."""
        v = self.variant(label)
        return self.variant(v.eval_of) if v.eval_of else v

    def select(self, labels: str | list[str] = "") -> list[Variant]:
        """The rows named in ``labels`` (comma-separated or a list; empty: all), with every
        evaluation-only row's trained row added before it."""
        names = P.csv_list(labels) if isinstance(labels, str) else list(labels)
        chosen = [self.variant(n) for n in names] if names else list(self.variants)
        out: list[Variant] = []
        for v in chosen:
            if self.trained(v) not in out:
                out.append(self.trained(v))
            if v not in out:
                out.append(v)
        return out

    def reported_table(self):
        import pandas as pd

        return pd.DataFrame([r.__dict__ for r in self.reported])
