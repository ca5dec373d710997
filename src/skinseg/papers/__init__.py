"""Registry of paper specs: ``get_paper(key)``, ``list_papers()``, ``paper_for_notebook(stem)``.

One module per paper holds its citation, the numbers it reports (as data), its
recipe and its rows (variants); the paper notebooks and the summary read them
from here.
"""
from __future__ import annotations

from skinseg.papers import asnet2020, delatorre2018, flores_fpn, lesionseg2017, one_protocol, slsdeep2018
from skinseg.papers.spec import EVAL_PARAMETERS, Claim, PaperSpec, Reported, Variant, slug

_REGISTRY: dict[str, PaperSpec] = {m.SPEC.key: m.SPEC for m in
                                   (delatorre2018, lesionseg2017, slsdeep2018, flores_fpn, asnet2020, one_protocol)}
# the five papers (the summary's verdicts); one_protocol is our own comparison, not a paper
PAPERS = tuple(k for k in _REGISTRY if k != "one_protocol")


def list_papers() -> list[str]:
    return list(_REGISTRY)


def get_paper(key: str) -> PaperSpec:
    """The spec registered as ``key``; KeyError lists the valid keys."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown paper {key!r}; valid: {', '.join(_REGISTRY)}") from None


def paper_for_notebook(stem: str) -> PaperSpec:
    """The paper spec of notebook ``stem``, or of the one notebook whose stem starts with it (``01``)."""
    for spec in _REGISTRY.values():
        if spec.notebook == stem:
            return spec
    prefixed = [spec for spec in _REGISTRY.values() if spec.notebook.startswith(stem)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise KeyError(f"no paper spec has notebook {stem!r}; known: {', '.join(s.notebook for s in _REGISTRY.values())}")


__all__ = ["EVAL_PARAMETERS", "PAPERS", "Claim", "PaperSpec", "Reported", "Variant", "get_paper", "list_papers", "paper_for_notebook",
           "slug"]
