"""Project-relative path handling, so notebooks and printed outputs never depend
on where the checkout lives."""
from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The checkout root: the first parent of this file (or cwd) with pyproject.toml."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for p in [start, *start.parents]:
            if (p / "pyproject.toml").is_file() and (p / "src" / "skinseg").is_dir():
                return p
    return Path.cwd().resolve()


def resolve(path: str | Path) -> Path:
    """Absolute path; a relative one is taken relative to the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (project_root() / p)


def display(path: str | Path) -> str:
    """Path for printing and for results: relative to the project root when inside or
    beside it (``../shared/...``). Symbolic links are not followed, so a linked
    ``../shared`` stays ``../shared``."""
    import os

    p = Path(os.path.abspath(resolve(path)))
    root = Path(os.path.abspath(project_root()))
    for base, prefix in ((root, ""), (root.parent, "../")):
        try:
            return prefix + str(p.relative_to(base))
        except ValueError:
            continue
    return str(p)
