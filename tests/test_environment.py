"""environment.yml, the conda alternative to the Makefile's venv, installs what constraints.txt pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# A conda spec ("numpy=2.4.6", "numpy==2.4.6", "pip>=24", "nodejs") or a pip one ("numpy==2.4.6").
SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(==?|>=|<=|>|<|!=|~=)\s*([^\s,;]+))?\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503: numpy, PyYAML/pyyaml, typing_extensions/-


def pins(lines) -> dict[str, str]:
    """{normalised name: version} of the exact pins (``=``/``==``) among requirement or conda spec lines."""
    out = {}
    for line in lines:
        match = SPEC.match(line.split("#", 1)[0])
        if match and match[2] in ("=", "=="):
            out[_norm(match[1])] = match[3]
    return out


def mismatches(env_pins: dict[str, str], constraint_pins: dict[str, str]) -> list[str]:
    """One line for every package both name with different versions."""
    return [f"{name}: environment.yml {env_pins[name]} vs constraints.txt {constraint_pins[name]}"
            for name in sorted(set(env_pins) & set(constraint_pins)) if env_pins[name] != constraint_pins[name]]


def _environment() -> tuple[list[str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "kanmix" and env["channels"], env
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    [pip] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return conda, pip


def test_environment_parses_and_installs_the_pinned_package_with_its_extras():
    conda, pip = _environment()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The Python the venv uses, and one pyproject accepts.
    assert "python=3.11" in conda
    assert project["requires-python"] == ">=3.11"
    assert "pip>=24" in conda and "nodejs" in conda  # npm fetches the datasets and MathJax
    # pip installs kanmix as the Makefile does: constrained by the pins, with the book, dev and cluster extras.
    assert "-c constraints.txt" in pip and (ROOT / "constraints.txt").is_file()
    [editable] = [p for p in pip if p.startswith("-e ")]
    extras = set(re.fullmatch(r"-e \.\[([a-z,]+)\]", editable)[1].split(","))
    makefile = re.search(r'-e "\.\[([a-z,]+)\]"', (ROOT / "Makefile").read_text())[1].split(",")
    assert extras == set(makefile) == {"book", "dev", "cluster"} and extras <= set(project["optional-dependencies"])


def test_environment_names_the_versions_constraints_txt_pins():
    conda, pip = _environment()
    constraint_pins = pins((ROOT / "constraints.txt").read_text().splitlines())
    assert len(constraint_pins) > 100 and constraint_pins["torch"] == "2.13.0"
    assert not mismatches(pins(conda + pip), constraint_pins)


def test_a_pin_that_disagrees_is_reported():
    # The check above compares nothing while environment.yml leaves every pin to constraints.txt;
    # here it meets one that disagrees, and one that agrees under another spelling.
    env = pins(["python=3.11", "numpy=2.0.1", "PyYAML==6.0.3", "pip>=24", "nodejs", "-c constraints.txt"])
    assert env == {"python": "3.11", "numpy": "2.0.1", "pyyaml": "6.0.3"}
    constraint_pins = pins(["numpy==2.4.6", "pyyaml==6.0.3", "torch==2.13.0"])
    assert mismatches(env, constraint_pins) == ["numpy: environment.yml 2.0.1 vs constraints.txt 2.4.6"]
