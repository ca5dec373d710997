"""One set of exact pins: pyproject.toml and environment.yml agree with requirements.txt (the lock)."""
import re
import tomllib

import yaml

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines):
    out = {}
    for ln in lines:
        m = PIN.match(ln.strip())
        if m:
            out[_norm(m.group(1))] = m.group(2)
    return out


def test_lock_is_exact():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert all(PIN.match(ln) for ln in lines), [ln for ln in lines if not PIN.match(ln)]
    assert _pins(lines)["torch"] == "2.13.0"
    assert "torchvision" not in _pins(lines)


def test_pyproject_and_environment_agree_with_lock():
    lock = _pins((ROOT / "requirements.txt").read_text().splitlines())
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = proj["dependencies"] + proj["optional-dependencies"]["test"]
    assert all(PIN.match(d) for d in direct), "every direct dependency is pinned exactly"
    pyproject = _pins(direct)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    environment = _pins(p for p in pip_section if not p.startswith("-r"))
    assert pyproject == environment
    assert {k: lock.get(k) for k in pyproject} == pyproject
    assert "-r requirements.txt" in pip_section
    assert "python=3.11" in env["dependencies"]


def _lock_lines():
    return [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def test_lock_sorted_and_complete_for_direct_pins():
    lines = _lock_lines()
    names = [PIN.match(ln).group(1) for ln in lines]
    assert names == sorted(names, key=str.lower), "requirements.txt is sorted case-insensitively"
    lock = _pins(lines)
    assert not [v for v in lock.values() if "+" in v], "no local version labels (torch is pinned as 2.13.0)"
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = _pins(proj["dependencies"])
    assert direct["albumentations"] == "2.0.8" and direct["jupyterlab"] == "4.6.6"
    # albumentations' own runtime dependencies are locked too
    assert {"albucore", "opencv-python-headless", "pydantic"} <= set(lock)


def test_installed_versions_match_lock():
    from importlib.metadata import PackageNotFoundError, version

    wrong = {}
    for name, pinned in _pins(_lock_lines()).items():
        try:
            got = version(name)
        except PackageNotFoundError:
            continue
        if got.split("+")[0] != pinned:
            wrong[name] = (pinned, got)
    assert not wrong, f"installed != requirements.txt: {wrong}"


def test_cluster_extra_is_locked_beside_the_main_lock():
    """The Ray extra pins ray in pyproject and locks what it adds in requirements-cluster.txt, none of which
    the main lock already pins (one version of each package)."""
    lines = [ln for ln in (ROOT / "requirements-cluster.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert all(PIN.match(ln) for ln in lines), lines
    cluster = _pins(lines)
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = _pins(proj["optional-dependencies"]["cluster"])
    assert extra == {"ray": "2.60.0"} and {k: cluster.get(k) for k in extra} == extra
    assert not cluster.keys() & _pins(_lock_lines()).keys()
