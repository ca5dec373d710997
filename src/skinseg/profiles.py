"""Profiles: YAML files of parameter overrides in ``reproduce/profiles/``.

A notebook's parameters for a profile resolve as
``schema defaults <- paper recipe <- profile["default"] <- profile[notebook stem]``
(:func:`resolve`). The committed notebooks' parameters cells hold the ``smoke``
resolution, so running a notebook by hand equals ``--profile smoke``.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from skinseg import params as P
from skinseg.papers import PaperSpec
from skinseg.paths import project_root

PROFILES_DIR = Path("reproduce") / "profiles"
# a profile's optional list of notebook stems that a batch starts first, in that order
START_ORDER = "start_order"


def profile_path(name: str) -> Path:
    return Path(name) if name.endswith((".yaml", ".yml")) else project_root() / PROFILES_DIR / f"{name}.yaml"


def load_profile(name: str) -> dict:
    """A profile by name (``reproduce/profiles/<name>.yaml``), by the results folder it writes to
    (its ``profile`` value, e.g. ``paper-gpu`` for ``paper.yaml``) or by path; unknown keys are
    errors."""
    f = profile_path(name)
    if not f.is_file():
        f = _profile_writing_to(name) or f
    if not f.is_file():
        known = ", ".join(sorted(p.stem for p in (project_root() / PROFILES_DIR).glob("*.yaml")))
        raise FileNotFoundError(f"no profile {name!r} ({f} missing); known profiles: {known}")
    prof = yaml.safe_load(f.read_text()) or {}
    for section, values in prof.items():
        if section == START_ORDER:
            continue
        for k in values or {}:
            if k not in P.BY_NAME:
                raise ValueError(f"{f}: [{section}] sets unknown parameter {k!r}; valid: {', '.join(P.NAMES)}")
    order = prof.get(START_ORDER) or []
    notebooks = [s for s in prof if s not in ("default", START_ORDER)]
    if not isinstance(order, list):
        raise ValueError(f"{f}: [{START_ORDER}] must be a list of notebook sections, e.g. [{', '.join(notebooks[:2])}]; "
                         f"got {order!r}")
    stray = [s for s in order if s not in notebooks]
    if stray:
        raise ValueError(f"{f}: [{START_ORDER}] names {', '.join(map(repr, stray))}, not a notebook section of this "
                         f"profile (sections: {', '.join(notebooks)})")
    twice = sorted({s for s in order if order.count(s) > 1})
    if twice:
        raise ValueError(f"{f}: [{START_ORDER}] names {', '.join(map(repr, twice))} more than once")
    return prof


def start_order(profile: dict, stems: list[str]) -> list[str]:
    """``stems`` in the order a batch should start them: the profile's ``start_order`` first (with
    several notebooks at once, starting the long ones early shortens the batch), the rest after, in
    their own order."""
    first = [s for s in dict.fromkeys(profile.get(START_ORDER) or []) if s in stems]
    return first + [s for s in stems if s not in first]


def _profile_writing_to(folder: str) -> Path | None:
    """The profile file whose runs go to ``results/<folder>/`` (its default ``profile`` value)."""
    for f in sorted((project_root() / PROFILES_DIR).glob("*.yaml")):
        if ((yaml.safe_load(f.read_text()) or {}).get("default") or {}).get("profile") == folder:
            return f
    return None


def parse_sets(items: list[str]) -> dict:
    """``["epochs=24", "run_set=e24", "seeds=0"]`` -> ``{"epochs": 24, "run_set": "e24", "seeds": "0"}``:
    each value read as its parameter's schema type (a text parameter keeps the text as given, so
    ``seeds=0`` is ``"0"`` and ``run_set=`` is empty; ``1e-3`` is a float, ``true`` a boolean) and
    checked; a ValueError names the bad item."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected NAME=VALUE")
        if name not in P.BY_NAME:
            P.check(name, value)  # the error lists the valid names
        kind = P.BY_NAME[name].type
        try:
            out[name] = value if kind is str else kind(value) if kind in (int, float) else yaml.safe_load(value)
        except ValueError:
            out[name] = value  # the check below names it and the type it needs
        P.check(name, out[name])
    return out


def resolve(spec: PaperSpec, profile: dict, data: str | None = None, overwrite: bool = False,
            overrides: dict | None = None) -> dict:
    """The full parameter set of ``spec``'s notebook under ``profile`` (validated types); ``overrides``
    (e.g. :func:`parse_sets` of ``--set`` items, checked there) come last and win over everything else."""
    out = {**P.defaults(), **spec.recipe, **(profile.get("default") or {}), **(profile.get(spec.notebook) or {})}
    if data:
        out["data_root"] = data
    if overwrite:
        out["overwrite"] = True
    for k, v in out.items():
        P.check(k, v)
    return {**out, **(overrides or {})}  # parse_sets has checked --set items
