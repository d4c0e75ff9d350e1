"""requirements.lock: every requirement pinned exactly, inside the range its requirements file states, and
installed at that version (so the recorded AWS data moto ships is the data these tests were written against)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
REQUIREMENT_FILES = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt", ROOT / "policy" / "requirements.txt"]


def requirements(path: Path) -> list[Requirement]:
    """The requirements a file states itself (its `-r` includes are listed in REQUIREMENT_FILES)."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def lock_pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line)
        assert match, f"requirements.lock: not an exact pin: {line!r}"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def uncovered(files: list[Path], pins: dict[str, str]) -> list[str]:
    problems = []
    for path in files:
        for req in requirements(path):
            pinned = pins.get(canonicalize_name(req.name))
            if pinned is None:
                problems.append(f"{path.name}: {req} is not in requirements.lock")
            elif not req.specifier.contains(pinned, prereleases=True):
                problems.append(f"{path.name}: {req} but requirements.lock pins {pinned}")
    return problems


def test_every_stated_requirement_is_pinned_in_its_range():
    pins = lock_pins(LOCK.read_text())
    assert uncovered(REQUIREMENT_FILES, pins) == []
    assert {"moto", "pulumi", "pulumi-aws", "pulumi-policy", "botocore"} <= set(pins)


def test_the_check_catches_a_missing_or_out_of_range_pin(tmp_path: Path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("moto>=5.1,<6  # recorded data\npulumi>=3.200,<4\n-r other.txt\n")
    assert uncovered([reqs], {"moto": "5.2.5", "pulumi": "3.210.0"}) == []
    assert uncovered([reqs], {"moto": "6.0.0", "pulumi": "3.210.0"}) == [
        "requirements.txt: moto<6,>=5.1 but requirements.lock pins 6.0.0"
    ]
    assert uncovered([reqs], {"moto": "5.2.5"}) == ["requirements.txt: pulumi<4,>=3.200 is not in requirements.lock"]
    with pytest.raises(AssertionError, match="not an exact pin"):
        lock_pins("moto>=5\n")


def test_installed_versions_are_the_locked_ones():
    pins = lock_pins(LOCK.read_text())
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert wrong == {}, "venv differs from requirements.lock (locked, installed); run `make clean test`"
