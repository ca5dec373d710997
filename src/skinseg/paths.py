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
    beside it (``../shared/...``); inside the user's checkpoint cache (:func:`user_checkpoint_root`,
    when that is not a parent of the checkout), ``user-cache:<path in it>``. Symbolic links are not
    followed, so a linked ``../shared`` stays ``../shared``."""
    import os

    p = Path(os.path.abspath(resolve(path)))
    root = Path(os.path.abspath(project_root()))
    cache = user_checkpoint_root()
    if p.is_relative_to(cache) and not root.is_relative_to(cache):  # its name, not the machine's path
        return f"{USER_CACHE}:{p.relative_to(cache)}"
    for base, prefix in ((root, ""), (root.parent, "../")):
        try:
            return prefix + str(p.relative_to(base))
        except ValueError:
            continue
    return str(p)


# the value of ``checkpoint_dir`` that means "the user's cache, outside any checkout"
USER_CACHE = "user-cache"


CHECKPOINTS_ENV = "SKINSEG_CHECKPOINTS"  # where user-cache checkpoints go, when set


def user_checkpoint_root() -> Path:
    """Where long runs keep their checkpoints, outside the checkout, so that a run stopped at a
    wall-clock limit resumes from a fresh clone: ``$SKINSEG_CHECKPOINTS`` when set, else
    ``$XDG_CACHE_HOME/skinseg/checkpoints``, else ``~/.cache/skinseg/checkpoints``."""
    import os

    if os.environ.get(CHECKPOINTS_ENV):
        return Path(os.environ[CHECKPOINTS_ENV]).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return (Path(cache).expanduser() / "skinseg" / "checkpoints").resolve()


def checkpoint_root(checkpoint_dir: str | Path) -> Path:
    """The folder a ``checkpoint_dir`` parameter names: :func:`user_checkpoint_root` for
    :data:`USER_CACHE`, else the path (relative to the project root)."""
    return user_checkpoint_root() if str(checkpoint_dir) == USER_CACHE else resolve(checkpoint_dir)
